// Goal: a full disk or an I/O error rejects the failed batch clearly, loses nothing acknowledged, keeps reads going,
// and writes work again once space returns, without a restart. Method: inject ENOSPC/EIO through FaultyFileSystem.
import { readdirSync } from 'node:fs';
import { commands, isDistkvError } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { DurableStore, Wal } from '../src/index.js';
import { FaultyFileSystem } from '../src/testing/index.js';
import { payloadOf, tempDir } from './helpers.js';

/** A log on a FaultyFileSystem in a fresh directory, holding entry 1 and nothing injected yet. */
async function faultyLogOfOne(): Promise<{ dir: string; fs: FaultyFileSystem; wal: Wal }> {
  const dir = tempDir();
  const fs = new FaultyFileSystem();
  const wal = await Wal.open({ dir, fs });
  await wal.append({ payload: payloadOf(1) });
  return { dir, fs, wal };
}

describe('disk full (ENOSPC) and write errors', () => {
  it('rejects with WAL_DISK_FULL, reads go on, writes resume when space returns, and nothing acknowledged is lost', async () => {
    const dir = tempDir();
    const fs = new FaultyFileSystem();
    const store = await DurableStore.open({ dir, fs, snapshotEveryEntries: 0 });
    for (let i = 0; i < 10; i++) await store.execute(commands.put(`k${i}`, `v${i}`));
    const clear = fs.inject({ op: 'write', code: 'ENOSPC', partialBytes: 7 });
    const failed = await Promise.allSettled([store.execute(commands.put('a', '1')), store.execute(commands.put('b', '2'))]);
    for (const outcome of failed) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(isDistkvError(reason, 'WAL_DISK_FULL')).toBe(true);
      expect(reason.definite).toBe(true);
    }
    expect(store.store.getString('k3')).toBe('v3');
    expect(store.store.has('a')).toBe(false);
    expect(store.lastIndex).toBe(10);
    clear();
    await expect(store.execute(commands.put('c', '3'))).resolves.toMatchObject({ ok: true });
    expect(store.lastIndex).toBe(11);
    await store.close();
    const again = await DurableStore.open({ dir });
    expect(again.lastIndex).toBe(11);
    expect(again.store.getString('c')).toBe('3');
    expect(again.store.has('a')).toBe(false);
    expect(again.store.size).toBe(11);
    await again.close();
  });

  it('an ordinary write error (EIO) is WAL_WRITE_FAILED and the log keeps going', async () => {
    const { fs, wal } = await faultyLogOfOne();
    fs.inject({ op: 'write', code: 'EIO', times: 1 });
    await expect(wal.append({ payload: payloadOf(2) })).rejects.toMatchObject({ code: 'WAL_WRITE_FAILED' });
    expect(wal.lastIndex).toBe(1);
    await expect(wal.append({ payload: payloadOf(2) })).resolves.toEqual({ index: 2, durability: 'fsynced' });
    await wal.close();
  });

  it('a failed fsync is indefinite and stops the log (fsyncgate); reads go on; a reopen recovers', async () => {
    const { dir, fs, wal } = await faultyLogOfOne();
    fs.inject({ op: 'datasync', code: 'EIO' });
    const error = await wal.append({ payload: payloadOf(2) }).catch((err: unknown) => err);
    expect(isDistkvError(error, 'WAL_FSYNC_FAILED')).toBe(true);
    expect((error as { definite: boolean }).definite).toBe(false);
    await expect(wal.append({ payload: payloadOf(3) })).rejects.toMatchObject({ code: 'WAL_FAILED' });
    expect((await wal.entries(1, 1))[0]?.payload.equals(payloadOf(1))).toBe(true);
    fs.clear();
    await wal.close();
    const again = await Wal.open({ dir });
    expect(again.lastIndex).toBeGreaterThanOrEqual(1);
    await again.close();
  });

  it('a full disk while starting a new segment rejects the batch and the log keeps going', async () => {
    const dir = tempDir();
    const fs = new FaultyFileSystem();
    const wal = await Wal.open({ dir, fs, limits: { segmentBytes: 4096 } });
    let index = 0;
    // Bounded: fill the first segment.
    while (wal.lastIndex < 40) await wal.append({ payload: payloadOf(++index) });
    const clear = fs.inject({ op: 'open', code: 'ENOSPC', pathIncludes: '.tmp' });
    let rejected = 0;
    for (let i = 0; i < 80 && rejected === 0; i++) {
      const next = wal.lastIndex + 1;
      await wal.append({ payload: payloadOf(next) }).catch((err: unknown) => {
        expect(isDistkvError(err, 'WAL_DISK_FULL')).toBe(true);
        rejected++;
      });
    }
    expect(rejected).toBe(1);
    clear();
    const before = wal.lastIndex;
    await wal.append({ payload: payloadOf(before + 1) });
    await wal.close();
    const again = await Wal.open({ dir });
    expect(again.lastIndex).toBe(before + 1);
    const entries = await again.entries(1, again.lastIndex);
    entries.forEach((e) => {
      expect(e.payload.equals(payloadOf(e.index))).toBe(true);
    });
    await again.close();
  });
});

describe('disk full while writing a snapshot', () => {
  it('rejects with WAL_DISK_FULL, leaves no temp file, keeps serving, and the next snapshot succeeds', async () => {
    const dir = tempDir();
    const fs = new FaultyFileSystem();
    const store = await DurableStore.open({ dir, fs, snapshotEveryEntries: 0 });
    for (let i = 0; i < 50; i++) await store.execute(commands.put(`k${i}`, 'v'.repeat(100)));
    const clear = fs.inject({ op: 'write', code: 'ENOSPC', pathIncludes: '.snap' });
    await expect(store.snapshot()).rejects.toMatchObject({ code: 'WAL_DISK_FULL' });
    expect(readdirSync(dir).filter((n) => n.includes('.snap'))).toEqual([]);
    await store.execute(commands.put('after', 'yes'));
    clear();
    expect((await store.snapshot()).index).toBe(51);
    await store.close();
    const again = await DurableStore.open({ dir });
    expect(again.store.getString('after')).toBe('yes');
    expect(again.store.size).toBe(51);
    await again.close();
  });
});

describe('limits and closed state', () => {
  it('validates limits and options with WAL_LIMIT_INVALID', async () => {
    const dir = tempDir();
    await expect(Wal.open({ dir, limits: { batchEntriesMax: 0 } })).rejects.toMatchObject({ code: 'WAL_LIMIT_INVALID' });
    await expect(Wal.open({ dir, limits: { segmentBytes: 10 } })).rejects.toMatchObject({ code: 'WAL_LIMIT_INVALID' });
    await expect(Wal.open({ dir, fsyncIntervalMs: 0, fsync: 'interval' })).rejects.toMatchObject({ code: 'WAL_LIMIT_INVALID' });
    await expect(DurableStore.open({ dir, snapshotEveryEntries: -1 })).rejects.toMatchObject({ code: 'WAL_LIMIT_INVALID' });
  });

  it('rejects an entry over entryBytesMax, a full queue, and use after close', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, limits: { entryBytesMax: 100, queueEntriesMax: 4 } });
    await expect(wal.append({ payload: Buffer.alloc(101) })).rejects.toMatchObject({ code: 'WAL_ENTRY_TOO_LARGE' });
    const appends = Array.from({ length: 6 }, () =>
      wal.append({ payload: Buffer.alloc(10) }).then(
        () => 'ok',
        (err: { code: string }) => err.code,
      ),
    );
    const outcomes = await Promise.all(appends);
    expect(outcomes.filter((o) => o === 'WAL_QUEUE_FULL').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(0);
    await wal.close();
    await expect(wal.append({ payload: Buffer.alloc(1) })).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    const store = await DurableStore.open({ dir: tempDir() });
    await store.close();
    await expect(store.execute(commands.put('a', 'b'))).rejects.toMatchObject({ code: 'WAL_CLOSED' });
  });
});
