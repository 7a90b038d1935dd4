import { crc32c } from '@distkv/core';

/**
 * The on-disk format, version 1. A segment file is a sequence of records:
 *
 *   record   length u32 | crc32c u32 | type u8 | body (length bytes)
 *            the checksum covers type and body
 *   type 1   SEGMENT HEADER  magic "DKVWAL\0\0" | version u16 | first index u64
 *   type 2   ENTRY           index u64 | term u64 | payload
 *
 * All integers little-endian. A segment starts with exactly one header and
 * then holds entries with consecutive indexes from its first index on.
 */
// #region record-format
export const RECORD_HEADER_BYTES = 9; // length u32 | crc32c u32 | type u8
export const ENTRY_HEADER_BYTES = 16; // index u64 | term u64
export const RecordType = { segmentHeader: 1, entry: 2 } as const;
export const SEGMENT_MAGIC = Buffer.from('DKVWAL\0\0', 'latin1');
export const WAL_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BODY_BYTES = 18; // magic 8 | version u16 | first index u64
export const SEGMENT_HEADER_BYTES = RECORD_HEADER_BYTES + SEGMENT_HEADER_BODY_BYTES;
// #endregion record-format

/** Bytes an entry record with a payload of `payloadBytes` takes on disk. */
export function entryRecordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES + payloadBytes;
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, at);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x1_0000_0000;
}

// #region encode-entry
/** Writes one entry record into `out` at `at`; returns the offset after it. */
export function encodeEntry(out: Buffer, at: number, index: number, term: number, payload: Uint8Array): number {
  const bodyBytes = ENTRY_HEADER_BYTES + payload.byteLength;
  out.writeUInt32LE(bodyBytes, at);
  out[at + 8] = RecordType.entry;
  writeU64(out, index, at + 9);
  writeU64(out, term, at + 17);
  out.set(payload, at + 25);
  const end = at + RECORD_HEADER_BYTES + bodyBytes;
  // The checksum covers the type byte and the body, which sit side by side.
  out.writeUInt32LE(crc32c(out, 0, at + 8, end), at + 4);
  return end;
}
// #endregion encode-entry

export function encodeSegmentHeader(firstIndex: number): Buffer {
  const out = Buffer.alloc(SEGMENT_HEADER_BYTES);
  out.writeUInt32LE(SEGMENT_HEADER_BODY_BYTES, 0);
  out[8] = RecordType.segmentHeader;
  SEGMENT_MAGIC.copy(out, 9);
  out.writeUInt16LE(WAL_FORMAT_VERSION, 17);
  writeU64(out, firstIndex, 19);
  out.writeUInt32LE(crc32c(out, 0, 8, SEGMENT_HEADER_BYTES), 4);
  return out;
}

export type HeaderCheck = { ok: true; firstIndex: number } | { ok: false; reason: string; version?: number };

export function checkSegmentHeader(buf: Buffer): HeaderCheck {
  if (buf.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'segment header cut short' };
  if (buf.readUInt32LE(0) !== SEGMENT_HEADER_BODY_BYTES || buf[8] !== RecordType.segmentHeader) {
    return { ok: false, reason: 'not a segment header' };
  }
  if (crc32c(buf, 0, 8, SEGMENT_HEADER_BYTES) !== buf.readUInt32LE(4))
    return { ok: false, reason: 'segment header checksum mismatch' };
  if (!buf.subarray(9, 17).equals(SEGMENT_MAGIC)) return { ok: false, reason: 'bad magic' };
  const version = buf.readUInt16LE(17);
  if (version !== WAL_FORMAT_VERSION) return { ok: false, reason: `format version ${version}`, version };
  return { ok: true, firstIndex: readU64(buf, 19) };
}

export interface ParsedEntry {
  index: number;
  term: number;
  /** A view into the read buffer; copy it to keep it. */
  payload: Buffer;
  /** Offset of the record in its segment. */
  offset: number;
}

export type RecordCheck = { ok: true; entry: ParsedEntry; end: number } | { ok: false; reason: string };

// #region check-record
/**
 * Reads the entry record at `at`, trusting nothing: the length must fit the
 * buffer and the limit, the checksum must match, the type must be ENTRY and
 * the index must be the one expected.
 */
export function checkEntryRecord(buf: Buffer, at: number, expectedIndex: number, entryBytesMax: number): RecordCheck {
  if (buf.length - at < RECORD_HEADER_BYTES) return { ok: false, reason: 'record header cut short' };
  const bodyBytes = buf.readUInt32LE(at);
  if (bodyBytes < ENTRY_HEADER_BYTES || bodyBytes > ENTRY_HEADER_BYTES + entryBytesMax) {
    return { ok: false, reason: `record length ${bodyBytes} is impossible` };
  }
  const end = at + RECORD_HEADER_BYTES + bodyBytes;
  if (end > buf.length) return { ok: false, reason: `record of ${bodyBytes} bytes cut short` };
  if (crc32c(buf, 0, at + 8, end) !== buf.readUInt32LE(at + 4)) return { ok: false, reason: 'checksum mismatch' };
  if (buf[at + 8] !== RecordType.entry) return { ok: false, reason: `unknown record type ${buf[at + 8]}` };
  const index = readU64(buf, at + 9);
  if (index !== expectedIndex) return { ok: false, reason: `index ${index} where ${expectedIndex} was expected` };
  const term = readU64(buf, at + 17);
  return { ok: true, entry: { index, term, payload: buf.subarray(at + 25, end), offset: at }, end };
}
// #endregion check-record

/**
 * After a bad record at `from`, is there a valid entry record further on
 * with a later index? If so the damage is not a torn tail (a crash only
 * ever tears the last write) but corruption inside the log.
 */
export function findLaterValidRecord(
  buf: Buffer,
  from: number,
  lastGoodIndex: number,
  entryBytesMax: number,
): number | undefined {
  // Bounded by the bytes after `from`; cheap filters come before the checksum.
  for (let at = from + 1; at + RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES <= buf.length; at++) {
    if (buf[at + 8] !== RecordType.entry) continue;
    const index = readU64(buf, at + 9);
    if (index <= lastGoodIndex || index > lastGoodIndex + (buf.length - from)) continue;
    const check = checkEntryRecord(buf, at, index, entryBytesMax);
    if (check.ok) return at;
  }
  return undefined;
}
