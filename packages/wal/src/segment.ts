/**
 * A segment file of the log: its name (the first index it holds, padded so
 * names sort in index order), what the writer and recovery know about it,
 * and how a new one comes into being atomically. Shared by the writer
 * (wal.ts), recovery (recovery.ts) and repair (repair.ts).
 */
import { join } from 'node:path';
import { type WalFileSystem, writeFully } from './fs.js';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './record.js';

export interface Segment {
  firstIndex: number;
  name: string;
  /** Offset of each entry's record in the file. */
  offsets: number[];
  /** Term of each entry. */
  terms: number[];
  /** Valid bytes in the file; the next record goes here. */
  bytes: number;
}

export const SEGMENT_NAME = /^(\d{20})\.wal$/;

export function segmentName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}.wal`;
}

/** A segment that holds only its header, as the writer tracks it. */
export function emptySegment(firstIndex: number): Segment {
  return { firstIndex, name: segmentName(firstIndex), offsets: [], terms: [], bytes: SEGMENT_HEADER_BYTES };
}

// #region create-segment
/** Creates a segment that holds only its header: temp file, fsync, rename, fsync dir. */
export async function createSegment(fs: WalFileSystem, dir: string, firstIndex: number): Promise<void> {
  const path = join(dir, segmentName(firstIndex));
  const temp = `${path}.tmp`;
  await fs.unlink(temp).catch(() => undefined);
  const file = await fs.open(temp, 'wx');
  try {
    await writeFully(file, encodeSegmentHeader(firstIndex), 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  await fs.rename(temp, path);
  await fs.syncDir(dir);
}
// #endregion create-segment
