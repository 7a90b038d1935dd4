// Goal: recovery cuts a torn, zero-filled or garbage tail of the last segment and refuses corruption anywhere else.
// Method: write a known log, damage copies of its files (every cut offset of the last record, seeded bit flips,
// garbage, zeros), reopen, and check the result is a prefix of what was written or a documented WAL_CORRUPT.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c, isDistkvError } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { repair, Wal } from '../src/index.js';
import { isDocumentedWalError, payloadOf, rng, tempDir } from './helpers.js';

async function writeLog(dir: string, count: number, segmentBytes = 1 << 20): Promise<void> {
  const wal = await Wal.open({ dir, limits: { segmentBytes } });
  await Promise.all(Array.from({ length: count }, (_, i) => wal.append({ payload: payloadOf(i + 1), term: 1 })));
  await wal.close();
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
}

/** A one-segment log of `count` entries, written in a fresh directory: the segment's name and bytes, to damage copies of. */
async function writtenSegment(count: number): Promise<{ name: string; bytes: Buffer }> {
  const source = tempDir();
  await writeLog(source, count);
  const name = segments(source)[0] as string;
  return { name, bytes: readFileSync(join(source, name)) };
}

/** Opens `dir` and checks that what it holds is exactly entries 1..lastIndex as written. */
async function openAndCheck(dir: string, log?: (line: string) => void): Promise<number> {
  const wal = await Wal.open({ dir, ...(log === undefined ? {} : { log }) });
  try {
    const entries = await wal.entries(wal.firstIndex, wal.lastIndex);
    entries.forEach((e, i) => {
      expect(e.index).toBe(wal.firstIndex + i);
      expect(e.payload.equals(payloadOf(e.index))).toBe(true);
    });
    return wal.lastIndex;
  } finally {
    await wal.close();
  }
}

describe('torn tail of the last segment', () => {
  it('cuts the last record at every byte offset back to the previous entry, saying how many bytes were dropped', async () => {
    const { name, bytes } = await writtenSegment(20);
    const lastRecordBytes = 25 + payloadOf(20).length;
    const lastStart = bytes.length - lastRecordBytes;
    for (let cut = lastStart; cut < bytes.length; cut++) {
      const dir = tempDir();
      writeFileSync(join(dir, name), bytes.subarray(0, cut));
      const lines: string[] = [];
      expect(await openAndCheck(dir, (l) => lines.push(l))).toBe(19);
      if (cut === lastStart) expect(lines).toEqual([]);
      else expect(lines.join('\n')).toContain(`dropped ${cut - lastStart} bytes from offset ${lastStart}`);
      // The cut is durable: a second open finds nothing more to drop.
      const again: string[] = [];
      expect(await openAndCheck(dir, (l) => again.push(l))).toBe(19);
      expect(again).toEqual([]);
    }
  });

  it('cuts a zero-filled tail (a file extended but never written)', async () => {
    const dir = tempDir();
    await writeLog(dir, 10);
    const path = join(dir, segments(dir)[0] as string);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(4096)]));
    const lines: string[] = [];
    expect(await openAndCheck(dir, (l) => lines.push(l))).toBe(10);
    expect(lines.join('\n')).toContain('dropped 4096 bytes');
  });

  it('cuts garbage appended after the last record', async () => {
    const random = rng(7);
    for (let round = 0; round < 20; round++) {
      const dir = tempDir();
      await writeLog(dir, 10);
      const path = join(dir, segments(dir)[0] as string);
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
      writeFileSync(path, Buffer.concat([readFileSync(path), garbage]));
      expect(await openAndCheck(dir)).toBe(10);
    }
  });

  it('lets appends continue after a cut tail', async () => {
    const dir = tempDir();
    await writeLog(dir, 5);
    const path = join(dir, segments(dir)[0] as string);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    const wal = await Wal.open({ dir });
    expect(wal.lastIndex).toBe(4);
    await wal.append({ payload: payloadOf(5), term: 1 });
    await wal.close();
    expect(await openAndCheck(dir)).toBe(5);
  });
});

describe('corruption elsewhere', () => {
  it('a flipped bit never yields a wrong entry: a cut last record, or WAL_CORRUPT naming file, offset and index', async () => {
    const { name, bytes } = await writtenSegment(30);
    const random = rng(42);
    let refused = 0;
    let cut = 0;
    for (let round = 0; round < 150; round++) {
      const dir = tempDir();
      const damaged = Buffer.from(bytes);
      const at = 27 + Math.floor(random() * (bytes.length - 27)); // after the segment header
      damaged[at] = (damaged[at] as number) ^ (1 << Math.floor(random() * 8));
      writeFileSync(join(dir, name), damaged);
      try {
        expect(await openAndCheck(dir)).toBe(29); // only damage inside the last record can be cut
        cut++;
      } catch (err) {
        expect(isDocumentedWalError(err), String(err)).toBe(true);
        expect(isDistkvError(err, 'WAL_CORRUPT')).toBe(true);
        expect((err as Error).message).toMatch(new RegExp(`${name} at offset \\d+ \\(entry index \\d+\\)`));
        refused++;
        // repair keeps the valid prefix, and the log opens again.
        const result = await repair(dir);
        expect(result.lastIndex).toBeLessThan(30);
        expect(await openAndCheck(dir)).toBe(result.lastIndex);
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(cut).toBeGreaterThan(0);
  });

  it('refuses damage in an older segment, and repair moves later segments aside', async () => {
    const dir = tempDir();
    await writeLog(dir, 400, 4096);
    const names = segments(dir);
    expect(names.length).toBeGreaterThan(3);
    const victim = join(dir, names[1] as string);
    const bytes = readFileSync(victim);
    bytes[60] = (bytes[60] as number) ^ 0xff;
    writeFileSync(victim, bytes);
    const error = await Wal.open({ dir }).catch((err: unknown) => err);
    expect(isDistkvError(error, 'WAL_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(names[1]);
    const result = await repair(dir);
    expect(result.removed.length).toBe(names.length - 2);
    const lastIndex = await openAndCheck(dir);
    expect(lastIndex).toBe(result.lastIndex);
    expect(readdirSync(dir).filter((n) => n.endsWith('.corrupt')).length).toBe(names.length - 2);
  });

  it('refuses a gap between segments', async () => {
    const dir = tempDir();
    await writeLog(dir, 400, 4096);
    const names = segments(dir);
    rmSync(join(dir, names[2] as string));
    const error = await Wal.open({ dir }).catch((err: unknown) => err);
    expect(isDistkvError(error, 'WAL_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain('gap');
  });

  it('refuses a segment of an unknown format version with WAL_VERSION', async () => {
    const dir = tempDir();
    await writeLog(dir, 3);
    const path = join(dir, segments(dir)[0] as string);
    const bytes = readFileSync(path);
    bytes.writeUInt16LE(9, 17);
    bytes.writeUInt32LE(crc32c(bytes, 0, 8, 27), 4);
    writeFileSync(path, bytes);
    const error = await Wal.open({ dir }).catch((err: unknown) => err);
    expect(isDistkvError(error, 'WAL_VERSION')).toBe(true);
  });
});
