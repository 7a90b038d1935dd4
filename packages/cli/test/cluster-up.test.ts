// Goal: `distkv cluster up` starts a working 3-node cluster, `distkv status` describes it (and reports a dead endpoint as unreachable), SIGTERM stops every node, and a second `cluster up` on the same data dir has the data. Method: real processes on free ports found at test time, temp dirs, bounded polls; only our own pids are signalled.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@distkv/net';
import { afterAll, describe, expect, it } from 'vitest';
import { exitOf, packageDir, run } from './helpers.js';

const binPath = join(packageDir, 'bin', 'distkv.mjs');
const root = mkdtempSync(join(tmpdir(), 'distkv-cluster-up-'));
const pids = new Set<number>();
afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port whose 3 client, peer and HTTP ports (the `cluster up` rule) are all free now. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * 20_000); // below Linux's ephemeral range (32768+)
    const ports = [0, 1, 2].flatMap((i) => [base + i, base + 100 + i, base + 200 + i]);
    let ok = true;
    for (const p of ports) if (!(await portFree(p))) ok = false;
    if (ok) return base;
  }
  throw new Error('no free base port');
}

async function until(what: string, cond: () => Promise<boolean>, pollsMax = 400): Promise<void> {
  for (let i = 0; i < pollsMax; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Up {
  child: ChildProcess;
  nodePids: number[];
  output: () => string;
}

/** Starts `cluster up` and resolves once it printed its summary (every node listening). */
function clusterUp(base: number, dataDir: string): Promise<Up> {
  const child = spawn(
    process.execPath,
    [binPath, 'cluster', 'up', '--nodes', '3', '--base-port', String(base), '--data-dir', dataDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid !== undefined) pids.add(child.pid);
  let out = '';
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no summary within 60 s: ${out}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ctrl-C stops every node')) {
        clearTimeout(timer);
        const nodePids = [...out.matchAll(/^ {2}n\d {2}pid (\d+)/gm)].map((m) => Number(m[1]));
        for (const pid of nodePids) pids.add(pid);
        resolve({ child, nodePids, output: () => out });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster up exited (${code}): ${out}`));
    });
  });
}

interface StatusJson {
  nodes: Array<{ id: string; role: string; leader: string | null; healthy: boolean; client_addr: string }>;
}

async function status(endpoints: string[]): Promise<StatusJson> {
  const r = await run(process.execPath, [binPath, 'status', '--endpoints', endpoints.join(','), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

/** One command on one node; null when the node answers with an error (no leader yet, say) or not at all. */
async function tryCall(port: number, ...args: string[]): Promise<unknown> {
  const c = new Client({ port, reconnect: { attemptsMax: 1 }, timeoutMs: 5000 });
  try {
    const reply = await c.call(...args);
    return Buffer.isBuffer(reply) ? reply.toString() : reply;
  } catch {
    return null;
  } finally {
    await c.close();
  }
}

async function stop(up: Up): Promise<void> {
  const exited = exitOf(up.child);
  process.kill(up.child.pid as number, 'SIGTERM');
  const { code, signal } = await exited;
  expect({ code, signal }, up.output()).toEqual({ code: 0, signal: null });
  for (const pid of up.nodePids) expect(alive(pid), `node pid ${pid}`).toBe(false);
}

describe('distkv cluster up and status', () => {
  it('starts 3 nodes with one leader, replicates, stops cleanly on SIGTERM, and comes back with its data', async () => {
    const base = await freeBasePort();
    const dataDir = join(root, 'data');
    const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`);

    const up = await clusterUp(base, dataDir);
    expect(up.nodePids).toHaveLength(3);
    // Bounded: until every node names the same leader (an election may need more than one round).
    let view: StatusJson = { nodes: [] };
    await until(
      'one leader known to all 3 nodes',
      async () => {
        view = await status(endpoints);
        const leaders = view.nodes.filter((n) => n.role === 'leader');
        return leaders.length === 1 && view.nodes.every((n) => n.healthy && n.leader === leaders[0]?.id);
      },
      60,
    );
    expect(view.nodes).toHaveLength(3);
    expect(view.nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
    expect(view.nodes.map((n) => n.client_addr)).toEqual(endpoints);

    await until('SET through n1', async () => (await tryCall(base, 'SET', 'tour', 'hello')) === 'OK');
    await until('GET on n3', async () => (await tryCall(base + 2, 'GET', 'tour')) === 'hello');
    await stop(up);

    const again = await clusterUp(base, dataDir);
    await until('GET after restart', async () => (await tryCall(base + 2, 'GET', 'tour')) === 'hello');
    await stop(again);
  });

  it('reports an endpoint that does not answer as unreachable', async () => {
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const address = s.address();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if (address === null || typeof address === 'string') throw new Error('no port');
    const view = await status([`127.0.0.1:${address.port}`]);
    expect(view.nodes).toEqual([
      {
        id: `127.0.0.1:${address.port}`,
        role: 'unreachable',
        term: null,
        leader: null,
        commit_index: null,
        applied_index: null,
        lag: null,
        healthy: false,
        client_addr: `127.0.0.1:${address.port}`,
        http_addr: null,
      },
    ]);
  });
});
