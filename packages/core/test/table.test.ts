// Goal: the arena hash table keeps every entry intact through growth,
// tombstones, in-place overwrites, relocation and chunk compaction, also
// while a snapshot streams. Method: long seeded random workloads, large
// enough to fill and compact several 4 MiB chunks, checked against a Map.
import { Store } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { ArenaTable } from '../src/table.js';

function value(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

describe('ArenaTable', () => {
  it('matches a Map through 300,000 random puts and deletes that compact many chunks', () => {
    // A tiny seeded LCG: the workload is the same on every run.
    let state = 12345;
    const next = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const table = new ArenaTable();
    const model = new Map<string, Buffer>();
    let bytesWritten = 0;
    for (let op = 0; op < 300_000; op++) {
      const key = Buffer.from(`k${next(20_000)}`);
      const slot = table.find(key);
      if (slot >= 0 !== model.has(key.toString('latin1'))) expect.fail(`op ${op}: find disagrees with the model`);
      if (next(10) < 7) {
        const v = value(op, next(300));
        table.set(slot, key, v);
        model.set(key.toString('latin1'), v);
        bytesWritten += v.length;
      } else if (slot >= 0) {
        table.delete(slot);
        model.delete(key.toString('latin1'));
      }
    }
    expect(bytesWritten).toBeGreaterThan(25 * 1024 * 1024); // several chunks were filled and compacted
    expect(table.size).toBe(model.size);
    for (const [k, v] of model) {
      const slot = table.findString(k);
      expect(slot).toBeGreaterThanOrEqual(0);
      expect(table.value(slot).equals(v)).toBe(true);
    }
    // Dead space was reclaimed: the arena holds at most ~4x the live bytes plus two chunks.
    const live = [...model].reduce((n, [k, v]) => n + k.length + v.length + 16, 0);
    expect(table.arenaBytes).toBeLessThanOrEqual(4 * live + 2 * 4 * 1024 * 1024);
  });

  it('keeps big values (over 1 MiB) out of the arena and frees them on delete and overwrite', () => {
    const table = new ArenaTable();
    const big = value(1, 3 * 1024 * 1024);
    table.set(-1, Buffer.from('big'), big);
    expect(table.value(table.find(Buffer.from('big'))).equals(big)).toBe(true);
    const withBig = table.arenaBytes;
    table.set(table.find(Buffer.from('big')), Buffer.from('big'), Buffer.from('small'));
    expect(table.arenaBytes).toBeLessThan(withBig - big.length + 1);
    expect(table.value(table.find(Buffer.from('big'))).toString()).toBe('small');
    table.set(table.find(Buffer.from('big')), Buffer.from('big'), big);
    table.delete(table.find(Buffer.from('big')));
    expect(table.find(Buffer.from('big'))).toBe(-1);
  });

  it('finds keys by bytes and by one-byte string alike, including 0x00 and 0xff', () => {
    const table = new ArenaTable();
    const key = Buffer.from([0x00, 0xff, 0x80]);
    table.set(-1, key, Buffer.from('v'));
    expect(table.findString(key.toString('latin1'))).toBe(table.find(key));
    expect(table.find(Buffer.from([0x00, 0xff]))).toBe(-1);
  });
});

describe('snapshot while the arena compacts', () => {
  it('restores the state of the moment the snapshot began, though every record moved', async () => {
    const store = new Store();
    for (let i = 0; i < 60_000; i++) store.put(`key:${i}`, value(i, 100));
    const expected = store.digest();
    const chunks: Buffer[] = [];
    let round = 0;
    for (const chunk of store.snapshot({ blockBytes: 64 * 1024 })) {
      chunks.push(chunk);
      // Between chunks, rewrite 2,000 keys with a different size (forces
      // relocation and compaction) and delete a few.
      for (let i = 0; i < 2_000; i++) {
        const k = (round * 2_000 + i) % 60_000;
        if (i % 50 === 0) store.del(`key:${k}`);
        else store.put(`key:${k}`, value(k + round, 90 + (i % 20)));
      }
      round++;
    }
    expect(round).toBeGreaterThan(50);
    const restored = new Store();
    await restored.restore(chunks);
    expect(restored.digest()).toBe(expected);
  });
});
