/**
 * A real distkv cluster for the chaos harness: one `node bin/distkv.mjs
 * server` process per node, and every peer link through a FaultProxy, so
 * node A's `--peers` names, for each B, a proxy that forwards to B's peer
 * port. The harness can then kill, pause, restart, partition and fill the
 * disk of any node, and ask each one who it thinks leads.
 *
 * Ports: RESP and peer ports are fixed per node for the whole run (a
 * restarted node comes back on the same ones) and taken below Linux's
 * ephemeral range, so an outgoing reconnect can never steal them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, parseInfo } from '@distkv/net';
import { FaultProxy } from './proxy.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The servers run from this checkout, or from DISTKV_CHAOS_ROOT (another
 * checkout with its own node_modules, e.g. a `git archive` of a commit): a
 * long run then tests one fixed version while the working tree moves on.
 */
export const serverRoot = process.env.DISTKV_CHAOS_ROOT ?? repoRoot;
const binPath = join(serverRoot, 'packages', 'cli', 'bin', 'distkv.mjs');

export interface ClusterOptions {
  nodes: number;
  election: 'raft' | 'bully';
  replication: 'sync' | 'async';
  readMode: 'read-index' | 'lease' | 'stale';
  /** Put each data dir on its own small tmpfs, so the disk nemesis can fill it (needs root). */
  smallDisks: boolean;
  writeTimeoutMs: number;
  snapshotEvery: number;
  /** Extra server flags. */
  extra?: string[];
}

let nextPort = 20_000 + Math.floor(Math.random() * 10_000);

/** A free port below the ephemeral range (32768+), probed by binding it. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
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
  throw new Error('no free port in 200 tries');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface NodeState {
  id: string;
  port: number;
  peerPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  paused: boolean;
  /** Set when the disk nemesis filled this node's tmpfs. */
  filler: string | undefined;
  starts: number;
  exits: Array<{ code: number | null; signal: string | null; expected: boolean }>;
  logTail: string;
}

export class ChaosCluster {
  readonly root: string;
  readonly ids: string[];
  readonly nodes = new Map<string, NodeState>();
  /** proxies.get(a).get(b): the link a uses to reach b. */
  readonly proxies = new Map<string, Map<string, FaultProxy>>();
  /** proxyPorts.get(a).get(b): the port of that proxy. */
  readonly proxyPorts = new Map<string, Map<string, number>>();
  readonly options: ClusterOptions;
  /** Whether the data dirs really are small tmpfs mounts (smallDisks asked, and mount worked). */
  disksMounted = false;
  diskSkipReason = '';
  #stopping = false;

  private constructor(options: ClusterOptions) {
    this.options = options;
    this.root = mkdtempSync(join(tmpdir(), 'distkv-chaos-'));
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  }

  static async create(options: ClusterOptions): Promise<ChaosCluster> {
    const c = new ChaosCluster(options);
    for (const id of c.ids) {
      const dataDir = join(c.root, id);
      mkdirSync(dataDir, { recursive: true });
      c.nodes.set(id, {
        id,
        port: await freePort(),
        peerPort: await freePort(),
        dataDir,
        child: undefined,
        paused: false,
        filler: undefined,
        starts: 0,
        exits: [],
        logTail: '',
      });
    }
    if (options.smallDisks) c.#mountDisks();
    for (const a of c.ids) {
      const row = new Map<string, FaultProxy>();
      const ports = new Map<string, number>();
      for (const b of c.ids) {
        if (a === b) continue;
        const proxy = new FaultProxy({ port: c.node(b).peerPort });
        ports.set(b, await proxy.listen());
        row.set(b, proxy);
      }
      c.proxies.set(a, row);
      c.proxyPorts.set(a, ports);
    }
    return c;
  }

  #mountDisks(): void {
    if (process.getuid?.() !== 0) {
      this.diskSkipReason = 'not root: cannot mount a small tmpfs per node';
      return;
    }
    for (const n of this.nodes.values()) {
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', n.dataDir]);
      if (r.status !== 0) {
        this.diskSkipReason = `mount -t tmpfs failed: ${String(r.stderr).trim()}`;
        for (const m of this.nodes.values()) spawnSync('umount', [m.dataDir]);
        return;
      }
    }
    this.disksMounted = true;
  }

  node(id: string): NodeState {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  isUp(id: string): boolean {
    const c = this.node(id).child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Starts a node (again) and resolves once it listens; rejects if it exits first. */
  async start(id: string): Promise<void> {
    const n = this.node(id);
    if (this.isUp(id)) return;
    const peers = this.ids
      .filter((p) => p !== id)
      .map((p) => `${p}=127.0.0.1:${this.proxyPorts.get(id)?.get(p)}`)
      .join(',');
    const o = this.options;
    // biome-ignore format: one flag per pair reads better
    const args = [binPath, 'server', '--id', id, '--port', String(n.port), '--peer-port', String(n.peerPort),
      '--peers', peers, '--data-dir', n.dataDir, '--election', o.election, '--replication', o.replication,
      '--read-mode', o.readMode, '--write-timeout-ms', String(o.writeTimeoutMs),
      '--snapshot-every', String(o.snapshotEvery), '--quiet', ...(o.extra ?? [])];
    // The harness's own ts-node settings must not leak into the server (its launcher sets its own), nor
    // DISTKV_* variables: the server reads those as settings (and refuses the ones it does not know).
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('TS_NODE_') && !k.startsWith('DISTKV_')),
    );
    const child = spawn(process.execPath, args, { cwd: this.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    n.child = child;
    n.paused = false;
    n.starts++;
    const append = (d: Buffer) => {
      n.logTail = (n.logTail + d.toString()).slice(-4000);
    };
    child.stderr?.on('data', append);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${id}: no listening line within 90 s: ${n.logTail}`)), 90_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        append(d);
        if (/listening on/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // Expected: our SIGKILL, our shutdown, or a fail-stop while the disk nemesis holds its disk full.
        n.exits.push({ code, signal, expected: this.#stopping || signal === 'SIGKILL' || n.filler !== undefined });
        reject(new Error(`${id} exited with ${code ?? signal}: ${n.logTail}`));
      });
    }).catch((err: Error) => {
      if (this.isUp(id)) child.kill('SIGKILL');
      throw err;
    });
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.start(id)));
  }

  async kill(id: string): Promise<void> {
    const n = this.node(id);
    const child = n.child;
    if (child === undefined || !this.isUp(id)) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    if (n.paused) child.kill('SIGCONT');
    n.paused = false;
    await exited;
  }

  pause(id: string): void {
    const n = this.node(id);
    if (!this.isUp(id) || n.paused) return;
    n.child?.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: string): void {
    const n = this.node(id);
    if (!n.paused) return;
    if (this.isUp(id)) n.child?.kill('SIGCONT');
    n.paused = false;
  }

  // #region partition
  /** Cuts every link between the two sides (both directions). `mode` picks how (see FaultProxy). */
  cut(a: string, b: string, mode: 'stall' | 'reset'): void {
    this.proxies.get(a)?.get(b)?.set({ kind: mode });
    this.proxies.get(b)?.get(a)?.set({ kind: mode });
  }

  /** Partitions into groups: links inside a group work, links across are cut. */
  partition(groups: string[][], mode: 'stall' | 'reset' = 'reset'): void {
    this.healNetwork();
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const id of g) groupOf.set(id, i);
    });
    for (const a of this.ids) for (const b of this.ids) if (a < b && groupOf.get(a) !== groupOf.get(b)) this.cut(a, b, mode);
  }
  // #endregion partition

  /** A bridge: `bridge` talks to both halves, which do not talk to each other. */
  bridge(left: string[], bridge: string, right: string[], mode: 'stall' | 'reset' = 'reset'): void {
    this.healNetwork();
    for (const a of left) for (const b of right) this.cut(a, b, mode);
    void bridge;
  }

  healNetwork(): void {
    for (const row of this.proxies.values()) for (const p of row.values()) p.heal();
  }

  /** Fills the node's tmpfs until ENOSPC (bounded by the mount's size). */
  fillDisk(id: string): boolean {
    const n = this.node(id);
    if (!this.disksMounted || n.filler !== undefined) return false;
    const path = join(n.dataDir, 'chaos-filler');
    const fd = openSync(path, 'w');
    const chunk = Buffer.alloc(1 << 20);
    try {
      // 48 MiB mount: at most 64 chunks of 1 MiB, then single pages for the rest.
      for (let i = 0; i < 64; i++) writeSync(fd, chunk);
    } catch {
      try {
        for (let i = 0; i < 1024; i++) writeSync(fd, chunk, 0, 4096);
      } catch {
        // full
      }
    } finally {
      closeSync(fd);
    }
    n.filler = path;
    return true;
  }

  freeDisk(id: string): void {
    const n = this.node(id);
    if (n.filler === undefined) return;
    try {
      unlinkSync(n.filler);
    } catch {
      // already gone
    }
    n.filler = undefined;
  }

  /** A one-shot RESP client to a node (no reconnect). */
  async connect(id: string, timeoutMs = 2_000): Promise<Client> {
    return Client.connect({ port: this.node(id).port, reconnect: { attemptsMax: 1 }, timeoutMs });
  }

  async info(id: string, timeoutMs = 1_000): Promise<Map<string, string>> {
    const c = await this.connect(id, timeoutMs);
    try {
      return parseInfo(String(await c.call('INFO', 'replication')));
    } finally {
      await c.close().catch(() => undefined);
    }
  }

  /** The node that says it is the leader, if exactly one reachable running node does (highest term wins). */
  async findLeader(): Promise<string | undefined> {
    let best: { id: string; term: number } | undefined;
    await Promise.all(
      this.ids.map(async (id) => {
        if (!this.isUp(id) || this.node(id).paused) return;
        try {
          const info = await this.info(id, 700);
          if (info.get('role') !== 'leader') return;
          const t = Number(info.get('term') ?? info.get('current_term') ?? 0);
          if (best === undefined || t > best.term) best = { id, term: t };
        } catch {
          // down or slow
        }
      }),
    );
    return (best as { id: string } | undefined)?.id;
  }

  /** Every node up, one leader that all agree on, and every node applied its commit index. */
  async converged(): Promise<boolean> {
    const infos = new Map<string, Map<string, string>>();
    for (const id of this.ids) {
      if (!this.isUp(id)) return false;
      infos.set(id, await this.info(id));
    }
    const leaders = new Set([...infos.values()].map((i) => i.get('leader_id') ?? ''));
    if (leaders.size !== 1) return false;
    const [leader] = leaders;
    const li = infos.get(leader ?? '');
    if (li === undefined || li.get('role') !== 'leader') return false;
    const commit = li.get('commit_index');
    if (commit !== li.get('last_index')) return false;
    for (const i of infos.values()) if (i.get('applied_index') !== commit) return false;
    return true;
  }

  /** Heals everything: network, disks, paused nodes; restarts nodes that are down. */
  async healAll(): Promise<void> {
    this.healNetwork();
    for (const id of this.ids) {
      this.freeDisk(id);
      this.resume(id);
    }
    for (const id of this.ids) {
      if (this.isUp(id)) continue;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.start(id);
          break;
        } catch (err) {
          if (attempt >= 2) throw err;
          await sleep(500);
        }
      }
    }
  }

  /** Exits we did not cause (not a SIGKILL of ours, not at shutdown): crashes. */
  crashes(): Array<{ id: string; code: number | null; signal: string | null; log: string }> {
    const out: Array<{ id: string; code: number | null; signal: string | null; log: string }> = [];
    for (const n of this.nodes.values())
      for (const e of n.exits) if (!e.expected) out.push({ id: n.id, code: e.code, signal: e.signal, log: n.logTail });
    return out;
  }

  async destroy(keepData = false): Promise<void> {
    this.#stopping = true;
    for (const id of this.ids) {
      this.resume(id);
      await this.kill(id);
    }
    for (const row of this.proxies.values()) for (const p of row.values()) await p.close();
    if (this.disksMounted) for (const n of this.nodes.values()) spawnSync('umount', ['-l', n.dataDir]);
    if (!keepData) rmSync(this.root, { recursive: true, force: true });
  }
}
