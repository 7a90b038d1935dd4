// Goal: acknowledged writes survive SIGKILL with real fsyncs, and a killed follower catches up by snapshot.
// Method: three replication nodes as child processes on loopback (IPC to drive them); bounded polls, never sleeps that decide.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '@distkv/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'replica-process.ts');
const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

interface Status {
  applied: number;
  commit: number;
  lastIndex: number;
  firstIndex: number;
  term: number;
  digest: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function request<T>(child: ChildProcess, msg: object, op: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { op: string }): void => {
      if (m.op !== op) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`child exited (${code}) during ${op}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (Object.keys(msg).length > 0) child.send(msg);
  });
}

/** Every 20 ms, at most 1,500 times (a bound, not a pass criterion). */
const until = (what: string, cond: () => Promise<boolean>): Promise<void> => waitUntil(what, cond, 1500, 20);

describe('real processes: SIGKILL a follower (sync mode)', () => {
  it('loses nothing acknowledged, and the follower catches up by snapshot with an identical store', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const ports = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await freePort()] as const)));
    const dataDirs: Record<string, string> = {};
    for (const id of ids) {
      const d = await mkdtemp(join(tmpdir(), `distkv-proc-${id}-`));
      dirs.push(d);
      dataDirs[id] = d;
    }
    const start = async (id: string): Promise<ChildProcess> => {
      const config = {
        id,
        leader: 'n1',
        peers: Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, ports[p]])),
        port: ports[id],
        dataDir: dataDirs[id],
        mode: 'sync',
        compactEveryEntries: 2000,
        // No catch-up tail: what n3 lacks is only in the snapshot, so it must install one.
        limits: { snapshotCatchUpEntries: 0 },
      };
      const child = fork(fixture, [JSON.stringify(config)], {
        execArgv: ['--loader', 'ts-node/esm', '--no-warnings'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.add(child);
      await request(child, {}, 'ready');
      return child;
    };
    const status = (c: ChildProcess) => request<Status>(c, { op: 'status' }, 'status');
    const nodes = new Map<string, ChildProcess>();
    for (const id of ids) nodes.set(id, await start(id));
    const n1 = nodes.get('n1') as ChildProcess;

    await request(n1, { op: 'put', from: 0, count: 3000 }, 'put');
    const before = await status(n1);
    await until(
      'n3 applied the first 3000 writes',
      async () => (await status(nodes.get('n3') as ChildProcess)).applied === before.lastIndex,
    );

    // Kill n3 in the middle of the next 3000 writes: it may die between a write and its fsync.
    const n3 = nodes.get('n3') as ChildProcess;
    const writes = request(n1, { op: 'put', from: 3000, count: 3000 }, 'put');
    await until('n3 is busy with the second batch', async () => (await status(n3)).applied > before.lastIndex + 200);
    n3.kill('SIGKILL');
    children.delete(n3);
    await new Promise((r) => n3.once('exit', r));
    await writes; // every one acknowledged (by n1 and n2 at least)
    const leader = await status(n1);
    expect(leader.firstIndex).toBeGreaterThan(before.lastIndex + 1); // the leader compacted past what n3 has

    const again = await start('n3');
    nodes.set('n3', again);
    await until('n3 caught up', async () => (await status(again)).applied === leader.lastIndex);
    const all = await Promise.all([...nodes.values()].map(status));
    expect(new Set(all.map((s) => s.digest)).size).toBe(1);
    expect(all[0]?.digest).toMatch(/^6000:/); // every acknowledged write, on every node
    expect(all[2]?.firstIndex).toBeGreaterThan(before.lastIndex + 1); // n3's log starts after the snapshot it installed
  }, 120_000);
});
