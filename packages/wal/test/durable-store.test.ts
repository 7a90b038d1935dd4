// Goal: DurableStore logs before it applies, answers in order, snapshots atomically while writes flow, and recovers.
// Method: drive real stores in temp directories, count fsyncs through FaultyFileSystem, restart, compare digests.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commands, isDistkvError } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { DurableStore, Wal } from '../src/index.js';
import { FaultyFileSystem } from '../src/testing/index.js';
import { payloadOf, tempDir } from './helpers.js';

describe('DurableStore', () => {
  it('resolves in submission order with exactly what Store.apply returns, and applies only once durable', async () => {
    const dir = tempDir();
    const store = await DurableStore.open({ dir });
    const pending = [
      store.execute(commands.put('n', '1')),
      store.execute(commands.incrBy('n', 41)),
      store.execute(commands.put('n', 'x', { when: 'ifAbsent', returnPrevious: true })),
      store.execute(commands.incrBy('text', 1)),
      store.execute(commands.put('text', 'not a number')),
      store.execute(commands.incrBy('text', 1)),
      store.execute(commands.del('n', 'missing')),
    ];
    // Nothing is applied before its entry is durable.
    expect(store.store.size).toBe(0);
    const order: number[] = [];
    pending.forEach((p, i) => {
      void p.then(() => order.push(i));
    });
    const results = await Promise.all(pending);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results[1]).toEqual({ ok: true, op: 'incrBy', value: 42n });
    expect(results[2]).toMatchObject({ ok: true, op: 'put', written: false });
    expect(results[5]).toMatchObject({ ok: false, code: 'NOT_INTEGER' });
    expect(results[6]).toEqual({ ok: true, op: 'del', deleted: 1 });
    const digest = store.store.digest();
    await store.close();
    const again = await DurableStore.open({ dir });
    expect(again.store.digest()).toBe(digest);
    expect(again.lastIndex).toBe(7);
    await again.close();
  });

  it('group commit: many concurrent writes share few fsyncs, one in flight at a time', async () => {
    const fs = new FaultyFileSystem();
    const store = await DurableStore.open({ dir: tempDir(), fs });
    const before = fs.calls.get('datasync') ?? 0;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.execute(commands.put(`k${i}`, 'v'))));
    const syncs = (fs.calls.get('datasync') ?? 0) - before;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(1000);
    await store.close();
  });

  it('policies: always acks fsynced; interval and none ack written; flush makes them durable', async () => {
    for (const fsync of ['always', 'interval', 'none'] as const) {
      const wal = await Wal.open({ dir: tempDir(), fsync, fsyncIntervalMs: 3_600_000 });
      const ack = await wal.append({ payload: payloadOf(1) });
      expect(ack.durability).toBe(fsync === 'always' ? 'fsynced' : 'written');
      expect(wal.durableIndex).toBe(fsync === 'always' ? 1 : 0);
      await wal.flush();
      expect(wal.durableIndex).toBe(1);
      await wal.close();
    }
  });

  it('snapshots while writes keep flowing, deletes covered segments, and restarts from snapshot plus tail', async () => {
    const dir = tempDir();
    const store = await DurableStore.open({ dir, segmentBytes: 4096, snapshotEveryEntries: 0 });
    for (let i = 0; i < 300; i++) await store.execute(commands.put(`k${i}`, `value with spaces ${i}`));
    const snapshot = store.snapshot();
    // These land while the snapshot streams out; they must not leak into it, nor be lost.
    const during = Array.from({ length: 100 }, (_, i) => store.execute(commands.put(`k${i}`, `changed ${i}`)));
    const { index } = await snapshot;
    await Promise.all(during);
    expect(index).toBeGreaterThanOrEqual(300);
    expect(index).toBeLessThanOrEqual(400);
    const names = readdirSync(dir);
    expect(names.filter((n) => n.endsWith('.snap'))).toHaveLength(1);
    expect(store.wal.firstIndex).toBeGreaterThan(1);
    const digest = store.store.digest();
    await store.close();
    const lines: string[] = [];
    const again = await DurableStore.open({ dir, log: (l) => lines.push(l) });
    expect(again.store.digest()).toBe(digest);
    expect(again.store.getString('k5')).toBe('changed 5');
    expect(again.store.getString('k299')).toBe('value with spaces 299');
    expect(lines.join('\n')).toMatch(/snapshot at index \d+, replayed \d+ entries/);
    await again.close();
  });

  it('takes automatic snapshots every N entries', async () => {
    const dir = tempDir();
    const store = await DurableStore.open({ dir, snapshotEveryEntries: 50 });
    for (let i = 0; i < 120; i++) await store.execute(commands.put(`k${i}`, 'v'));
    await store.close();
    expect(store.snapshotIndex).toBeGreaterThanOrEqual(100);
  });

  it('ignores an unfinished snapshot temp file and falls back past a damaged snapshot while the log covers it', async () => {
    const dir = tempDir();
    const store = await DurableStore.open({ dir, snapshotEveryEntries: 0 });
    for (let i = 0; i < 20; i++) await store.execute(commands.put(`k${i}`, 'v'));
    const digest = store.store.digest();
    await store.close();
    writeFileSync(join(dir, `snapshot-${'5'.padStart(20, '0')}.snap.tmp`), 'half written');
    writeFileSync(join(dir, `snapshot-${'20'.padStart(20, '0')}.snap`), 'damaged');
    const lines: string[] = [];
    const again = await DurableStore.open({ dir, log: (l) => lines.push(l) });
    expect(again.store.digest()).toBe(digest);
    expect(lines.join('\n')).toContain('removed unfinished snapshot');
    expect(lines.join('\n')).toContain('is not usable');
    await again.close();
  });

  it('refuses to start with WAL_SNAPSHOT_MISSING when compacted entries have no snapshot', async () => {
    const dir = tempDir();
    const store = await DurableStore.open({ dir, segmentBytes: 4096, snapshotEveryEntries: 0 });
    for (let i = 0; i < 300; i++) await store.execute(commands.put(`k${i}`, 'v'.repeat(20)));
    await store.snapshot();
    await store.close();
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.snap'))) writeFileSync(join(dir, name), 'gone');
    const error = await DurableStore.open({ dir }).catch((err: unknown) => err);
    expect(isDistkvError(error, 'WAL_SNAPSHOT_MISSING')).toBe(true);
  });
});

describe('Wal', () => {
  it('truncateAfter is durable and later appends continue from the cut; terms are stored', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, limits: { segmentBytes: 4096 } });
    for (let i = 1; i <= 200; i++) await wal.append({ payload: payloadOf(i), term: i <= 100 ? 1 : 2 });
    await wal.truncateAfter(50);
    expect(wal.lastIndex).toBe(50);
    expect(wal.lastTerm).toBe(1);
    await wal.append({ payload: Buffer.from('new 51'), term: 3 });
    expect(wal.term(51)).toBe(3);
    await wal.close();
    const again = await Wal.open({ dir });
    expect(again.lastIndex).toBe(51);
    expect(again.term(50)).toBe(1);
    expect(again.term(51)).toBe(3);
    expect((await again.entries(51, 51))[0]?.payload.toString()).toBe('new 51');
    await expect(again.entries(0, 3)).rejects.toMatchObject({ code: 'WAL_RANGE' });
    await expect(again.truncateAfter(99)).rejects.toMatchObject({ code: 'WAL_RANGE' });
    await again.truncateAfter(0);
    expect(again.lastIndex).toBe(0);
    await again.close();
    const empty = await Wal.open({ dir });
    expect(empty.lastIndex).toBe(0);
    await empty.close();
  });

  it('entries() stops at bytesMax after at least one entry, and reads entries still queued', async () => {
    const wal = await Wal.open({ dir: tempDir() });
    const acks = Array.from({ length: 10 }, (_, i) => wal.append({ payload: payloadOf(i + 1) }));
    const read = await wal.entries(1, 10, 30);
    expect(read.length).toBeGreaterThanOrEqual(1);
    expect(read.length).toBeLessThan(10);
    await Promise.all(acks);
    await wal.close();
  });

  it('saves term and vote atomically and reads them back; a damaged state file is WAL_STATE_CORRUPT', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir });
    expect(await wal.loadState()).toEqual({ term: 0, vote: null });
    await Promise.all([wal.saveState({ term: 3, vote: 'node-a' }), wal.saveState({ term: 4, vote: null })]);
    expect(await wal.loadState()).toEqual({ term: 4, vote: null });
    await wal.saveState({ term: 2 ** 40, vote: 'nœud-b' });
    await wal.close();
    const again = await Wal.open({ dir });
    expect(await again.loadState()).toEqual({ term: 2 ** 40, vote: 'nœud-b' });
    expect(readdirSync(dir)).not.toContain('state.tmp');
    writeFileSync(join(dir, 'state'), 'DKVSTATE garbage garbage garbage');
    await expect(again.loadState()).rejects.toMatchObject({ code: 'WAL_STATE_CORRUPT' });
    await again.close();
  });
});

describe('interval policy under sustained load', () => {
  it('still fsyncs while the queue never empties', async () => {
    const wal = await Wal.open({ dir: tempDir(), fsync: 'interval', fsyncIntervalMs: 1 });
    let inFlight: Promise<unknown>[] = [];
    // Bounded: at most 200,000 appends, stopping as soon as an fsync happened under load.
    for (let i = 0; i < 200_000 && wal.durableIndex === 0; i++) {
      inFlight.push(wal.append({ payload: payloadOf(i + 1) }));
      if (inFlight.length >= 64) {
        await inFlight.shift();
      }
    }
    expect(wal.durableIndex).toBeGreaterThan(0);
    await Promise.all(inFlight);
    inFlight = [];
    await wal.close();
  });
});
