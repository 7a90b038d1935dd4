// Goal: `distkv server` without --leader elects, fails over and never loses an acknowledged write: SIGKILL and SIGSTOP of a leader under load, 5 nodes losing two and then three.
// Method: real `node bin/distkv.mjs server` processes on 127.0.0.1 (free ports, temp dirs); a client-side ledger of every acknowledged SET checked on every node at the end; signals only to our own children; every wait is a bounded poll, never a sleep that decides.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@distkv/net';
import { afterEach, describe, expect, it } from 'vitest';
import { errorKind, type ProcessCluster, processCluster, waitLeader } from './process-cluster.js';

// Each test's cluster is destroyed after it (SIGCONT, then SIGKILL of our own children; temp dir removed).
const clusters: ProcessCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.destroy();
});

async function createCluster(size: number, extra: string[] = []): Promise<ProcessCluster> {
  const cluster = await processCluster(size, extra);
  clusters.push(cluster);
  return cluster;
}

/** Writers, one per node, each SETting fresh keys in a loop; a key is in `acked` only after its OK. */
class Load {
  readonly acked = new Set<string>();
  readonly ackedVia = new Map<string, number>();
  readonly errors = new Map<string, number>();
  #running = true;
  readonly #loops: Array<Promise<void>> = [];
  #seq = 0;

  constructor(
    readonly cluster: ProcessCluster,
    ids: readonly string[],
  ) {
    for (const id of ids) this.#loops.push(this.#loop(id));
  }

  async #loop(id: string): Promise<void> {
    let client: Client | undefined;
    while (this.#running) {
      try {
        client ??= await this.cluster.client(id, 3_000);
        const key = `${id}:${this.#seq++}`;
        const reply = await client.call('SET', key, key);
        if (reply === 'OK') {
          this.acked.add(key);
          this.ackedVia.set(id, (this.ackedVia.get(id) ?? 0) + 1);
        }
      } catch (err) {
        const kind = errorKind(err);
        this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
        if (kind === 'CONN') {
          await client?.close().catch(() => undefined);
          client = undefined;
        }
        await sleep(20);
      }
    }
    await client?.close().catch(() => undefined);
  }

  count(id: string): number {
    return this.ackedVia.get(id) ?? 0;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** Every acknowledged key is on every running node (read through each node's linearizable read path). */
async function expectAllPresent(cluster: ProcessCluster, keys: Set<string>): Promise<void> {
  const all = [...keys];
  for (const id of cluster.running()) {
    const c = await cluster.client(id);
    try {
      for (let i = 0; i < all.length; i += 500) {
        const batch = all.slice(i, i + 500);
        const values = (await c.call('MGET', ...batch)) as Array<unknown>;
        const missing = batch.filter((k, j) => String(values[j]) !== k);
        expect(missing, `acknowledged keys missing on ${id}`).toEqual([]);
      }
    } finally {
      await c.close();
    }
  }
}

describe('failover of real processes (Raft elections)', () => {
  it('3 nodes: SIGKILL the leader under load; a new leader, writes resume through every survivor, no acked write lost, the old leader rejoins', async () => {
    const cluster = await createCluster(3);
    await cluster.startAll();
    const first = await waitLeader(cluster);
    const load = new Load(cluster, cluster.ids);
    await expect.poll(() => cluster.ids.every((id) => load.count(id) >= 50), { message: 'writes through every node' }).toBe(true);

    await cluster.kill(first);
    const survivors = cluster.ids.filter((id) => id !== first);
    const second = await waitLeader(cluster, survivors);
    expect(second).not.toBe(first);
    const before = new Map(survivors.map((id) => [id, load.count(id)]));
    await expect
      .poll(() => survivors.every((id) => load.count(id) >= (before.get(id) ?? 0) + 50), {
        message: 'writes resume through every survivor',
      })
      .toBe(true);

    await cluster.start(first);
    await expect
      .poll(
        async () => {
          const info = await cluster.info(first);
          return info.get('role') === 'follower' && info.get('leader_id') !== '';
        },
        { message: 'the old leader follows the new one' },
      )
      .toBe(true);
    await load.stop();
    await waitLeader(cluster);
    await expect.poll(() => cluster.converged(), { message: 'every node applied the whole log' }).toBe(true);
    expect(load.acked.size).toBeGreaterThanOrEqual(250); // 3 × 50 before the kill, 2 × 50 after
    // No definite error for an outcome that was unknown: only these kinds may appear.
    for (const kind of load.errors.keys()) expect(['TRYAGAIN', 'TIMEOUT', 'CONN']).toContain(kind);
    await expectAllPresent(cluster, load.acked);
  });

  it.each(['read-index', 'lease'])(
    '3 nodes, --read-mode %s: SIGSTOP the leader, the others elect; after SIGCONT it serves no stale read and commits nothing alone',
    async (mode) => {
      const cluster = await createCluster(3, ['--read-mode', mode]);
      await cluster.startAll();
      const old = await waitLeader(cluster);
      // Connect to the old leader before it stops: the requests below reach it the moment it resumes.
      const oldClient = await cluster.client(old, 10_000);
      await expect
        .poll(async () => (await cluster.call(old, 'SET', 'x', 'before')) === 'OK', { message: 'x is written' })
        .toBe(true);

      cluster.pause(old);
      const others = cluster.ids.filter((id) => id !== old);
      const fresh = await waitLeader(cluster, others);
      await expect
        .poll(async () => (await cluster.call(fresh, 'SET', 'x', 'after')) === 'OK', { message: 'x is rewritten' })
        .toBe(true);

      const read = oldClient.call('GET', 'x').then(
        (v) => ({ ok: true, value: String(v) }),
        (e: unknown) => ({ ok: false, value: errorKind(e) }),
      );
      const write = oldClient.call('SET', 'y', 'from-old').then(
        (v) => ({ ok: true, value: String(v) }),
        (e: unknown) => ({ ok: false, value: errorKind(e) }),
      );
      cluster.resume(old);
      const r = await read;
      const w = await write;
      await oldClient.close();
      // A read either sees the new leader's write or fails retryably; never the old value.
      if (r.ok) expect(r.value).toBe('after');
      else expect(['TRYAGAIN', 'TIMEOUT']).toContain(r.value);
      await expect
        .poll(async () => (await cluster.info(old)).get('role') === 'follower', { message: 'the old leader follows' })
        .toBe(true);
      const leader = await waitLeader(cluster);
      await expect.poll(() => cluster.converged(), { message: 'every node applied the whole log' }).toBe(true);
      // A write it acknowledged must be committed cluster-wide; one it failed was never claimed.
      if (w.ok) expect(String(await cluster.call(leader, 'GET', 'y'))).toBe('from-old');
      else expect(['TRYAGAIN', 'TIMEOUT']).toContain(w.value);
      await expect
        .poll(async () => String(await cluster.call(old, 'GET', 'x')) === 'after', {
          message: 'the old leader reads the new value',
        })
        .toBe(true);
    },
  );

  it('5 nodes: two down, still available; three down, a clear retryable error; restarted, it recovers with every acked write', async () => {
    const cluster = await createCluster(5);
    await cluster.startAll();
    const first = await waitLeader(cluster);
    const acked = new Set<string>();
    // Retried until OK (the same value each time, so a retry after -TIMEOUT is harmless).
    const write = async (via: string, key: string): Promise<void> => {
      await expect.poll(async () => (await cluster.call(via, 'SET', key, key)) === 'OK', { message: `SET ${key}` }).toBe(true);
      acked.add(key);
    };
    for (let i = 0; i < 20; i++) await write(cluster.ids[i % 5] as string, `a${i}`);

    const down = [first, ...cluster.ids.filter((id) => id !== first).slice(0, 1)];
    for (const id of down) await cluster.kill(id);
    const up = cluster.ids.filter((id) => !down.includes(id));
    const second = await waitLeader(cluster, up);
    expect(down).not.toContain(second);
    for (let i = 0; i < 20; i++) await write(up[i % up.length] as string, `b${i}`);

    await cluster.kill(second);
    down.push(second);
    const alive = up.filter((id) => !down.includes(id));
    expect(alive.length).toBe(2);
    for (const id of alive) {
      const failure = await cluster.call(id, 'SET', 'lost', 'maybe').then(
        () => 'OK',
        (e: unknown) => errorKind(e),
      );
      expect(['TRYAGAIN', 'TIMEOUT']).toContain(failure);
      const readFailure = await cluster.call(id, 'GET', 'a0').then(
        () => 'OK',
        (e: unknown) => errorKind(e),
      );
      expect(['TRYAGAIN', 'TIMEOUT']).toContain(readFailure);
    }

    for (const id of down) await cluster.start(id);
    const leader = await waitLeader(cluster);
    await expect
      .poll(async () => (await cluster.call(leader, 'SET', 'c', 'c')) === 'OK', { message: 'a write succeeds again' })
      .toBe(true);
    acked.add('c');
    await expect.poll(() => cluster.converged(), { message: 'every node applied the whole log' }).toBe(true);
    await expectAllPresent(cluster, acked);
  });
});
