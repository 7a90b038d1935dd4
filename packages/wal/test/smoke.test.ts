// Goal: a quick end-to-end smoke check of Wal and DurableStore. Method: write, reopen, compare.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from '@distkv/core';
import { expect, it } from 'vitest';
import { DurableStore, Wal } from '../src/index.js';

it('persists across reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wal-smoke-'));
  try {
    const wal = await Wal.open({ dir, limits: { segmentBytes: 4096 } });
    const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => wal.append({ payload: Buffer.from(`e${i + 1}`) })));
    expect(acks[499]).toEqual({ index: 500, durability: 'fsynced' });
    await wal.truncateAfter(300);
    await wal.append({ payload: Buffer.from('x301') });
    await wal.close();
    const again = await Wal.open({ dir });
    expect(again.lastIndex).toBe(301);
    const es = await again.entries(1, 301);
    expect(es.map((e) => e.payload.toString())).toEqual([...Array.from({ length: 300 }, (_, i) => `e${i + 1}`), 'x301']);
    await again.close();
    const ds = await DurableStore.open({ dir: join(dir, 'ds'), snapshotEveryEntries: 100, segmentBytes: 4096 });
    for (let i = 0; i < 1000; i++) await ds.execute(commands.put(`k${i}`, `v ${i}`));
    await ds.snapshot();
    await ds.close();
    const ds2 = await DurableStore.open({ dir: join(dir, 'ds'), log: console.log });
    expect(ds2.store.size).toBe(1000);
    expect(ds2.store.getString('k999')).toBe('v 999');
    await ds2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
