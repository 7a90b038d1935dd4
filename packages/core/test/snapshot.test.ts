// Goal: snapshots are consistent, streaming, checksummed and versioned.
// Method: round trips through random chunkings; writes interleaved with a
// streaming snapshot; every truncation and bit flip of a real snapshot.
import { type Command, commands, DistkvError, SNAPSHOT_VERSION, SnapshotDecoder, Store } from '@distkv/core';
import { splitAt } from '@distkv/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const bytes = fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a));
const entries = fc.array(
  fc.tuple(
    bytes,
    fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
  ),
  { maxLength: 60 },
);
const write: fc.Arbitrary<Command> = fc.oneof(
  fc.tuple(bytes, bytes).map(([k, v]) => commands.put(k, v)),
  bytes.map((k) => commands.del(k)),
  fc.constant(commands.clear()),
);

function storeOf(pairs: Array<[Buffer, Buffer]>): Store {
  const s = new Store();
  for (const [k, v] of pairs) s.put(k, v);
  return s;
}

function encode(store: Store, meta?: Buffer): Buffer {
  return Buffer.concat([...store.snapshot(meta === undefined ? { blockBytes: 64 } : { blockBytes: 64, meta })]);
}

async function restoreCode(target: Store, chunks: Iterable<Uint8Array>): Promise<string | 'ok'> {
  try {
    await target.restore(chunks);
    return 'ok';
  } catch (err) {
    if (err instanceof DistkvError) return err.code;
    throw err;
  }
}

describe('snapshot and restore', () => {
  it('round-trips any contents through any chunking, with meta', async () => {
    await fc.assert(
      fc.asyncProperty(entries, fc.array(fc.nat(), { maxLength: 8 }), bytes, async (pairs, cuts, meta) => {
        const source = storeOf(pairs);
        const target = new Store();
        target.put('stale', 'gone after restore');
        const result = await target.restore(splitAt(encode(source, meta), cuts));
        expect(result).toEqual({ entries: source.size, meta });
        expect(target.digest()).toBe(source.digest());
        expect(target.dataBytes).toBe(source.dataBytes);
      }),
      { numRuns: 300 },
    );
  });

  it('captures the state at the moment it was taken while writes go on', async () => {
    await fc.assert(
      fc.asyncProperty(entries, fc.array(write, { maxLength: 40 }), async (pairs, writes) => {
        const live = storeOf(pairs);
        const expected = live.digest();
        const chunks: Buffer[] = [];
        const snap = live.snapshot({ blockBytes: 64 });
        let i = 0;
        for (const chunk of snap) {
          chunks.push(chunk);
          // Interleave a write between every chunk the snapshot yields.
          const c = writes[i++];
          if (c !== undefined) live.apply(c);
        }
        for (; i < writes.length; i++) live.apply(writes[i] as Command);
        const restored = new Store();
        await restored.restore(chunks);
        expect(restored.digest()).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('streams in bounded blocks: no chunk is much larger than blockBytes', () => {
    const store = new Store();
    for (let i = 0; i < 20_000; i++) store.put(`key:${i}`, `value:${i}`);
    let largest = 0;
    let count = 0;
    for (const chunk of store.snapshot({ blockBytes: 4096 })) {
      largest = Math.max(largest, chunk.length);
      count++;
    }
    expect(largest).toBeLessThanOrEqual(4096);
    expect(count).toBeGreaterThan(100);
  });

  it('leaves the target untouched when the snapshot is corrupt', async () => {
    const bytesOk = encode(storeOf([[Buffer.from('a'), Buffer.from('1')]]));
    const target = storeOf([[Buffer.from('keep'), Buffer.from('me')]]);
    const before = target.digest();
    expect(await restoreCode(target, [bytesOk.subarray(0, bytesOk.length - 1)])).toBe('SNAPSHOT_CORRUPT');
    expect(target.digest()).toBe(before);
  });

  it('rejects every truncation and every single-bit flip of a real snapshot', async () => {
    const source = storeOf([
      [Buffer.from('alpha'), Buffer.from('1')],
      [Buffer.from('beta'), Buffer.from('two')],
      [Buffer.from('gamma'), Buffer.alloc(100, 7)],
    ]);
    const encoded = encode(source, Buffer.from('meta'));
    for (let cut = 0; cut < encoded.length; cut++) {
      expect(await restoreCode(new Store(), [encoded.subarray(0, cut)])).toBe('SNAPSHOT_CORRUPT');
    }
    for (let bit = 0; bit < encoded.length * 8; bit++) {
      const flipped = Buffer.from(encoded);
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      const code = await restoreCode(new Store(), [flipped]);
      // A flip in the version field is reported as a version problem; everything else as corruption.
      expect(['SNAPSHOT_CORRUPT', 'SNAPSHOT_VERSION']).toContain(code);
    }
    expect(await restoreCode(new Store(), [encoded, Buffer.from([0])])).toBe('SNAPSHOT_CORRUPT');
  });

  it('names an unknown format version', async () => {
    const encoded = encode(new Store());
    encoded.writeUInt16LE(SNAPSHOT_VERSION + 1, 8);
    // fix the header checksum so that only the version is wrong
    const { crc32c } = await import('@distkv/core');
    encoded.writeUInt32LE(crc32c(encoded, 0, 0, 12), 12);
    expect(await restoreCode(new Store(), [encoded])).toBe('SNAPSHOT_VERSION');
  });

  it('refuses a block whose declared length exceeds the limits before buffering it', () => {
    const decoder = new SnapshotDecoder(new Store().limits, () => {});
    const header = encode(new Store()).subarray(0, 16);
    decoder.push(header);
    const block = Buffer.alloc(9);
    block[0] = 2;
    block.writeUInt32LE(0xffffffff, 1);
    expect(() => decoder.push(block)).toThrow(/SNAPSHOT_CORRUPT/);
  });

  it('enforces keysMax while restoring', async () => {
    const encoded = encode(storeOf([0, 1, 2].map((i) => [Buffer.from(`k${i}`), Buffer.from('v')])));
    expect(await restoreCode(new Store({ limits: { keysMax: 2 } }), [encoded])).toBe('STORE_FULL');
  });

  it('limits open snapshots and frees a slot on close', () => {
    const store = new Store({ limits: { snapshotsOpenMax: 2 } });
    const a = store.snapshot();
    store.snapshot();
    expect(() => store.snapshot()).toThrow(/SNAPSHOTS_BUSY/);
    a.close();
    expect(() => store.snapshot().close()).not.toThrow();
  });

  it('keeps old values for a snapshot taken before clear() and keeps no shadow after close', async () => {
    const store = storeOf([[Buffer.from('a'), Buffer.from('1')]]);
    const snap = store.snapshot();
    store.clear();
    store.put('b', '2');
    const restored = new Store();
    await restored.restore(snap);
    expect(restored.scan().map(([k, v]) => `${k}=${v}`)).toEqual(['a=1']);
  });
});

describe('snapshot edge cases found by the property tests', () => {
  it('restores an empty META block that arrives after all other bytes were consumed', async () => {
    const source = storeOf([[Buffer.from([0]), Buffer.from([0, 0, 0])]]);
    const encoded = encode(source, Buffer.alloc(0));
    // Split right after the META block header, so its empty body is read from an empty queue.
    const target = new Store();
    expect(await target.restore([encoded.subarray(0, 25), encoded.subarray(25)])).toEqual({ entries: 1, meta: Buffer.alloc(0) });
  });
});
