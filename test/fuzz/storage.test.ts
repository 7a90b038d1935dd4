// Goal: what distkv reads back from disk survives corruption: WAL records
// and snapshot files (through DurableStore.open, which reads both, and
// Wal.open alone), snapshot streams (Store.restore) and encoded commands
// (decodeCommand, which every WAL and Raft entry goes through). A corrupt
// byte anywhere either recovers (a torn tail is cut) or fails with a coded
// error of @distkv/wal or @distkv/core — never a TypeError/RangeError.
// Method: fast-check mutations of real files written by the real code,
// each run in a fresh temp directory; plus pure garbage.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands, coreErrorCodes, decodeCommand, encodeCommand, Store } from '@distkv/core';
import { DurableStore, Wal, walErrorCodes } from '@distkv/wal';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunked, expectCoded, garbageOr, mutated, numRuns, params } from './fuzz.js';

const codes = [...Object.keys(walErrorCodes), ...Object.keys(coreErrorCodes)];
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'distkv-fuzz-'));
  roots.push(d);
  return d;
};
// File-system runs are slower: a quarter of the runs, at least 20.
const fsParams = () => ({ ...params(), numRuns: Math.max(20, Math.floor(numRuns / 4)) });

/**
 * Writes `files` into a fresh directory and opens it with `open`, which
 * must succeed or fail with a coded error; the directory goes either way.
 */
async function opensOrFailsCoded(files: Map<string, Buffer>, open: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  writeTree(dir, files);
  try {
    await open(dir);
  } catch (err) {
    expectCoded(err, codes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A data dir written by the real DurableStore: commands, a snapshot, more commands. */
let base: { files: Map<string, Buffer>; keys: number } = { files: new Map(), keys: 0 };

function readTree(dir: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) for (const [k, v] of readTree(dir, rel)) out.set(k, v);
    else out.set(rel, readFileSync(join(dir, rel)));
  }
  return out;
}

function writeTree(dir: string, files: Map<string, Buffer>): void {
  for (const [rel, bytes] of files) {
    const path = join(dir, rel);
    rmSync(path, { force: true });
    mkdirpFor(path);
    writeFileSync(path, bytes);
  }
}

function mkdirpFor(path: string): void {
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
}

beforeAll(async () => {
  const dir = tempDir();
  const store = await DurableStore.open({ dir, segmentBytes: 4096 });
  for (let i = 0; i < 40; i++) await store.execute(commands.put(`key-${i % 13}`, `value-${i}-${'x'.repeat(i)}`));
  await store.snapshot();
  for (let i = 0; i < 30; i++) await store.execute(commands.put(`after-${i % 7}`, `v${i}`));
  await store.execute(commands.del('key-1'));
  await store.close();
  base = { files: readTree(dir), keys: 13 + 7 - 1 };
});

describe('fuzz storage decoders', () => {
  it('the base data dir reopens with every key (the fuzzing starts from real files)', async () => {
    const dir = tempDir();
    writeTree(dir, base.files);
    const store = await DurableStore.open({ dir });
    expect(store.store.size).toBe(base.keys);
    await store.close();
    expect([...base.files.keys()].some((f) => f.endsWith('.snap'))).toBe(true);
    expect([...base.files.keys()].some((f) => f.endsWith('.wal'))).toBe(true);
  });

  it('DurableStore.open: one corrupted WAL segment or snapshot file recovers or fails with a coded error', async () => {
    const names = [...base.files.keys()].filter((f) => f.endsWith('.wal') || f.endsWith('.snap'));
    const corrupted = fc
      .constantFrom(...names)
      .chain((name) => mutated(fc.constant(base.files.get(name) as Buffer)).map((bytes) => [name, bytes] as const));
    await fc.assert(
      fc.asyncProperty(corrupted, async ([name, bytes]) => {
        await opensOrFailsCoded(new Map([...base.files, [name, bytes]]), async (dir) => {
          const store = await DurableStore.open({ dir });
          // Whatever was recovered is a working store.
          expect(store.store.size).toBeLessThanOrEqual(base.keys + 1);
          await store.close();
        });
      }),
      fsParams(),
    );
  });

  it('Wal.open: a segment of garbage or mutated records recovers or fails with a coded error', async () => {
    const segments = [...base.files].filter(([f]) => f.endsWith('.wal'));
    const segment = fc.constantFrom(...segments.map(([, b]) => b));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...segments.map(([f]) => f)), garbageOr(segment), async (name, bytes) => {
        await opensOrFailsCoded(new Map([[name, bytes]]), async (dir) => {
          const wal = await Wal.open({ dir: join(dir, name.slice(0, name.lastIndexOf('/'))) });
          if (wal.lastIndex >= wal.firstIndex) {
            const entries = await wal.entries(wal.firstIndex, wal.lastIndex);
            expect(entries.length).toBe(wal.lastIndex - wal.firstIndex + 1);
          }
          await wal.close();
        });
      }),
      fsParams(),
    );
  });

  it('Store.restore: a mutated snapshot stream restores or fails SNAPSHOT_CORRUPT, in any chunking', async () => {
    const source = new Store();
    for (let i = 0; i < 30; i++) source.apply(commands.put(`k${i}`, `v${i}`.repeat(i + 1)));
    const valid = Buffer.concat([...source.snapshot({ blockBytes: 64 })]);
    await fc.assert(
      fc.asyncProperty(garbageOr(fc.constant(valid)), fc.array(fc.nat(), { maxLength: 6 }), async (bytes, cuts) => {
        const target = new Store();
        try {
          const r = await target.restore(chunked(bytes, cuts));
          expect(r.entries).toBe(target.size);
        } catch (err) {
          expectCoded(err, codes);
        }
      }),
      params(),
    );
  });

  it('decodeCommand: mutated commands decode to a command or fail COMMAND_CORRUPT / COMMAND_VERSION', () => {
    const command = fc.oneof(
      fc.tuple(fc.string(), fc.string()).map(([k, v]) => commands.put(k, v)),
      fc.string().map((k) => commands.del(k)),
      fc.tuple(fc.string(), fc.option(fc.string()), fc.option(fc.string())).map(([k, e, v]) => commands.cas(k, e, v)),
    );
    fc.assert(
      fc.property(garbageOr(command.map((c) => Buffer.from(encodeCommand(c)))), (bytes) => {
        try {
          const c = decodeCommand(bytes);
          expect(typeof c.op).toBe('string');
        } catch (err) {
          expectCoded(err, ['COMMAND_CORRUPT', 'COMMAND_VERSION']);
        }
      }),
      params(),
    );
  });
});
