// A cluster of real `distkv server` processes for the phase 5 tests (bully, lease, admin-process, sessions):
// free ports below the ephemeral range, a temp data dir per cluster, signals only to our own children,
// and bounded polls; optional HTTP ports and per-test flags. failover.test.ts uses it too.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDistkvError } from '@distkv/core';
import { Client, parseInfo, ServerError } from '@distkv/net';
import { kill, packageDir, type RunningServer, startServer } from './helpers.js';

const binPath = join(packageDir, 'bin', 'distkv.mjs');

let nextPort = 20_000 + Math.floor(Math.random() * 10_000);

/** A free port below Linux's ephemeral range (32768+), so a restarted node finds its port still free. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = nextPort;
    nextPort = nextPort >= 32_000 ? 20_000 : nextPort + 1;
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      await new Promise<void>((resolve) => s.close(() => resolve()));
      return port;
    }
  }
  throw new Error('no free port in 100 tries');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms, at most `pollsMax` times (a bound, never a pass criterion); a throw counts as "not yet". */
export async function until(what: string, cond: () => Promise<boolean> | boolean, pollsMax = 1200): Promise<void> {
  for (let i = 0; i < pollsMax; i++) {
    try {
      if (await cond()) return;
    } catch {
      // a node that is down or electing: poll again
    }
    await sleep(50);
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/** The first word of a server error: TRYAGAIN (definite), TIMEOUT (indefinite), ERR, or CONN for a lost connection. */
export function errorKind(err: unknown): string {
  if (err instanceof ServerError) return serverKinds.has(err.replyCode) ? err.replyCode : 'ERR';
  // The client's own timeout leaves the outcome unknown, as the server's -TIMEOUT does.
  if (isDistkvError(err, 'NET_TIMEOUT')) return 'TIMEOUT';
  return 'CONN';
}

const serverKinds: ReadonlySet<string> = new Set([
  'TRYAGAIN',
  'TIMEOUT',
  'NOT_LEADER',
  'FORWARDS_FULL',
  'SESSION_EXPIRED',
  'SESSION_SEQ_TOO_OLD',
]);

export class ProcessCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'distkv-phase5-'));
  readonly nodes = new Map<string, RunningServer>();
  readonly children = new Set<ChildProcess>();

  private constructor(
    readonly ids: string[],
    readonly peerPorts: Map<string, number>,
    readonly httpPorts: Map<string, number> | undefined,
    readonly extra: string[],
  ) {}

  static async create(size: number, extra: string[] = [], options: { http?: boolean } = {}): Promise<ProcessCluster> {
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const peers = new Map<string, number>();
    for (const id of ids) peers.set(id, await freePort());
    let http: Map<string, number> | undefined;
    if (options.http === true) {
      http = new Map();
      for (const id of ids) http.set(id, await freePort());
    }
    return new ProcessCluster(ids, peers, http, extra);
  }

  async start(id: string): Promise<RunningServer> {
    const peers = this.ids
      .filter((p) => p !== id)
      .map((p) => `${p}=127.0.0.1:${this.peerPorts.get(p)}`)
      .join(',');
    // biome-ignore format: one flag per pair reads better
    const args = ['--id', id, '--peer-port', String(this.peerPorts.get(id)), '--peers', peers,
      '--data-dir', join(this.root, id), '--write-timeout-ms', '1500',
      ...(this.httpPorts === undefined ? [] : ['--http-port', String(this.httpPorts.get(id))]), ...this.extra];
    const running = await startServer(binPath, args, this.root, (child) => this.children.add(child));
    this.nodes.set(id, running);
    return running;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.start(id)));
  }

  /** SIGKILL. */
  async stop(id: string): Promise<void> {
    const n = this.nodes.get(id);
    if (n !== undefined) await kill(n.child, 'SIGKILL');
    this.nodes.delete(id);
  }

  signal(id: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.nodes.get(id)?.child.kill(signal);
  }

  /** A running node's process has not exited (a crash would show here). */
  running(id: string): boolean {
    const child = this.nodes.get(id)?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async client(id: string, timeoutMs = 5_000, extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Promise<Client> {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`${id} is not running`);
    return Client.connect({ port: n.port, reconnect: { attemptsMax: 1 }, timeoutMs, ...extra });
  }

  async call(id: string, ...args: string[]): Promise<unknown> {
    const c = await this.client(id);
    try {
      return await c.call(...args);
    } finally {
      await c.close();
    }
  }

  async info(id: string): Promise<Map<string, string>> {
    return parseInfo(String(await this.call(id, 'INFO', 'replication')));
  }

  /** The leader that every node in `among` follows, once they agree; else undefined. */
  async agreedLeader(among: string[] = [...this.nodes.keys()]): Promise<string | undefined> {
    const leaders = new Set<string>();
    for (const id of among) {
      const info = await this.info(id);
      leaders.add(info.get('leader_id') ?? '');
      if (info.get('leader_addr') === '') return undefined;
    }
    const [leader] = leaders;
    if (leaders.size !== 1 || leader === undefined || leader === '' || !among.includes(leader)) return undefined;
    return (await this.info(leader)).get('role') === 'leader' ? leader : undefined;
  }

  async waitLeader(among: string[] = [...this.nodes.keys()]): Promise<string> {
    let leader: string | undefined;
    await until(`a leader among ${among.join(',')}`, async () => {
      leader = await this.agreedLeader(among);
      return leader !== undefined;
    });
    return leader as string;
  }

  /** Every running node applied the leader's committed log. */
  async converged(leader: string): Promise<boolean> {
    const info = await this.info(leader);
    const commit = Number(info.get('commit_index'));
    if (commit !== Number(info.get('last_index'))) return false;
    for (const id of this.nodes.keys()) if (Number((await this.info(id)).get('applied_index')) !== commit) return false;
    return true;
  }

  /** SETs `key` through `via` until it is acknowledged (the same value each time, so a retry is harmless). */
  async write(via: string, key: string, value = key): Promise<void> {
    await until(`SET ${key} via ${via}`, async () => (await this.call(via, 'SET', key, value)) === 'OK');
  }

  async destroy(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGCONT');
      await kill(c, 'SIGKILL');
    }
    this.children.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}
