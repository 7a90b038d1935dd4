// Goal: observeWal reports every fdatasync and every written batch of the Wals under a directory, and nothing of others.
// Method: two real Wals in temp directories, concurrent appends; compare what the observer saw with what was appended.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { observeWal, Wal } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('observeWal', () => {
  it('sees the batches and fsyncs of a Wal under its directory, not those of another one', async () => {
    const root = tempDir();
    const other = tempDir();
    const batches: number[] = [];
    const batchBytes: number[] = [];
    const fsyncs: Array<{ seconds: number; ok: boolean }> = [];
    const stop = observeWal(root, {
      onBatch: ({ entries, bytes }) => {
        batches.push(entries);
        batchBytes.push(bytes);
      },
      onFsync: ({ seconds, ok }) => fsyncs.push({ seconds, ok }),
    });
    const watched = await Wal.open({ dir: join(root, 'log') });
    const unwatched = await Wal.open({ dir: join(other, 'log') });
    try {
      const payload = Buffer.from('0123456789');
      await Promise.all(Array.from({ length: 20 }, () => watched.append({ payload })));
      await Promise.all(Array.from({ length: 7 }, () => unwatched.append({ payload })));
      // Every entry appended under `root` was in exactly one reported batch; none of the other log's.
      expect(batches.reduce((a, b) => a + b, 0)).toBe(20);
      expect(batchBytes.every((b) => b > payload.length)).toBe(true);
      // fsync 'always': one fdatasync per batch, each with a duration.
      expect(fsyncs.length).toBe(batches.length);
      expect(fsyncs.every((f) => f.ok && f.seconds >= 0)).toBe(true);
      stop();
      await watched.append({ payload });
      expect(batches.reduce((a, b) => a + b, 0)).toBe(20);
    } finally {
      stop();
      await watched.close();
      await unwatched.close();
    }
  });

  it('an observer that throws does not fail the write', async () => {
    const dir = tempDir();
    const stop = observeWal(dir, {
      onBatch: () => {
        throw new Error('broken observer');
      },
    });
    const wal = await Wal.open({ dir });
    try {
      expect((await wal.append({ payload: Buffer.from('x') })).durability).toBe('fsynced');
    } finally {
      stop();
      await wal.close();
    }
  });
});
