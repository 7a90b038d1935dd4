import { assert } from './assert.js';
import { crc32c } from './crc32c.js';
import { coreError } from './errors.js';
import type { StoreLimits } from './limits.js';
import { SessionTable } from './session.js';
import type { ArenaTable } from './table.js';

/**
 * The snapshot format, version 2. A stream of checksummed blocks, so that
 * a snapshot of millions of keys is written and read piece by piece and
 * never held as one buffer:
 *
 *   header  "DKVSNAP\0" | version u16 | flags u16 | crc32c(first 12 bytes) u32
 *   block   type u8 | body length u32 | crc32c(type, body) u32 | body
 *           type 1 META     opaque bytes for the layer above (at most one, first)
 *           type 2 ENTRIES  (key length u32 | key | value length u32 | value)*
 *           type 3 END      entry count u64; nothing may follow
 *           type 4 SESSION_CLOCK  u64: session commands applied (at most one, after the entries)
 *           type 5 SESSION  one client session (see session.ts), after the clock, in order of use
 *
 * Version 1 (phase 1) had no session blocks; it still restores, with no sessions.
 * All integers little-endian. Keys appear in strictly ascending byte order,
 * which the reader checks: a snapshot has exactly one encoding.
 */
// #region snapshot-format
export const SNAPSHOT_MAGIC = Buffer.from('DKVSNAP\0', 'latin1');
export const SNAPSHOT_VERSION = 2;
/** Versions this build restores: 1 (before client sessions) and 2. */
export const SNAPSHOT_VERSIONS_READ: readonly number[] = [1, 2];
export const SNAPSHOT_HEADER_BYTES = 16;
export const BLOCK_HEADER_BYTES = 9;
export const BlockType = { meta: 1, entries: 2, end: 3, sessionClock: 4, session: 5 } as const;
// #endregion snapshot-format

/** Bytes of entries gathered before a block is emitted. */
const BLOCK_BYTES_DEFAULT = 64 * 1024;
/** Most bytes of META a snapshot may carry. */
export const SNAPSHOT_META_BYTES_MAX = 1024 * 1024;

/** The store's state frozen at one moment, as the snapshot stream reads it. */
export interface SnapshotView {
  /** The live table: read through `shadow` for keys changed since. */
  table: ArenaTable;
  /** An O(1) copy-on-write clone of the sorted keys at the moment of the snapshot. */
  keys: { keys(): IterableIterator<string> };
  size: number;
  /** Old values of keys changed since the snapshot began (null: was absent). */
  shadow: Map<string, Buffer | null>;
  closed: boolean;
  /** The session table, encoded when the snapshot was taken; undefined when no session was ever opened. */
  sessions: { clock: Buffer; sessions: Buffer[] } | undefined;
}

export interface SnapshotOptions {
  /** Opaque bytes stored with the snapshot (later phases keep the log index here). */
  meta?: Uint8Array;
  /** Target size of an entries block. */
  blockBytes?: number;
}

export interface RestoreResult {
  entries: number;
  meta: Buffer | null;
}

function block(type: number, body: Uint8Array): Buffer[] {
  const header = Buffer.allocUnsafe(BLOCK_HEADER_BYTES);
  header[0] = type;
  header.writeUInt32LE(body.length, 1);
  header.writeUInt32LE(crc32c(body, crc32c(header, 0, 0, 1)), 5);
  return [header, Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/**
 * Where the snapshot's value of `key` is now: saved in the shadow (changed
 * since the snapshot began), or still in a table slot. Valid until the next
 * write to the store, so read and copy it without yielding in between.
 */
function readFrozen(view: SnapshotView, key: string): { saved: Buffer | undefined; slot: number; length: number } {
  const saved = view.shadow.get(key);
  assert(saved !== null, 'a key of the frozen tree existed when the snapshot began');
  if (saved !== undefined) return { saved, slot: -1, length: saved.length };
  const slot = view.table.findString(key);
  assert(slot >= 0, 'an unchanged key is still in the table');
  return { saved: undefined, slot, length: view.table.valueLength(slot) };
}

/**
 * An encoded snapshot, produced lazily as it is iterated. Iterate it once
 * (for example `for (const chunk of snap) await file.write(chunk)`); the
 * store keeps serving writes meanwhile. Close it if you stop early.
 */
export class SnapshotStream implements Iterable<Buffer> {
  /** Number of entries the snapshot holds. */
  readonly entries: number;
  #view: SnapshotView;
  #meta: Uint8Array | undefined;
  #blockBytes: number;
  #onClose: () => void;
  #started = false;

  constructor(view: SnapshotView, options: SnapshotOptions, onClose: () => void) {
    this.#view = view;
    this.#meta = options.meta;
    this.#blockBytes = options.blockBytes ?? BLOCK_BYTES_DEFAULT;
    this.#onClose = onClose;
    this.entries = view.size;
    assert(Number.isSafeInteger(this.#blockBytes) && this.#blockBytes >= 64, 'blockBytes is an integer >= 64');
    if (this.#meta !== undefined && this.#meta.byteLength > SNAPSHOT_META_BYTES_MAX) {
      this.close();
      throw coreError('SNAPSHOT_CORRUPT', `meta of ${this.#meta.byteLength} bytes exceeds ${SNAPSHOT_META_BYTES_MAX}`);
    }
  }

  /** Releases the copy-on-write state. Safe to call more than once. */
  close(): void {
    if (this.#view.closed) return;
    this.#view.closed = true;
    this.#view.shadow.clear();
    this.#onClose();
  }

  *[Symbol.iterator](): Iterator<Buffer> {
    assert(!this.#started, 'a SnapshotStream is iterated once');
    assert(!this.#view.closed, 'the snapshot was closed before it was read');
    this.#started = true;
    try {
      yield* this.#encode();
    } finally {
      this.close();
    }
  }

  // #region snapshot-encode
  *#encode(): Generator<Buffer> {
    const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
    SNAPSHOT_MAGIC.copy(header, 0);
    header.writeUInt16LE(SNAPSHOT_VERSION, 8);
    header.writeUInt16LE(0, 10);
    header.writeUInt32LE(crc32c(header, 0, 0, 12), 12);
    yield header;
    if (this.#meta !== undefined) yield* block(BlockType.meta, this.#meta);

    const view = this.#view;
    let body = Buffer.allocUnsafe(this.#blockBytes);
    let used = 0;
    let count = 0;
    for (const key of view.keys.keys()) {
      let value = readFrozen(view, key);
      const entryBytes = 8 + key.length + value.length;
      if (used + entryBytes > body.length) {
        if (used > 0) {
          yield* block(BlockType.entries, body.subarray(0, used));
          body = Buffer.allocUnsafe(this.#blockBytes);
          used = 0;
          // Writes ran while we were suspended: the value's bytes may have
          // moved (never changed: the shadow keeps them), so look again.
          value = readFrozen(view, key);
        }
        if (entryBytes > body.length) body = Buffer.allocUnsafe(entryBytes);
      }
      body.writeUInt32LE(key.length, used);
      used += 4;
      used += body.write(key, used, 'latin1');
      body.writeUInt32LE(value.length, used);
      used += 4;
      used += value.saved === undefined ? view.table.copyValue(value.slot, body, used) : value.saved.copy(body, used);
      count++;
      if (entryBytes > this.#blockBytes) {
        yield* block(BlockType.entries, body.subarray(0, used));
        body = Buffer.allocUnsafe(this.#blockBytes);
        used = 0;
      }
    }
    if (used > 0) yield* block(BlockType.entries, body.subarray(0, used));
    assert(count === this.entries, 'a snapshot emits exactly the entries it was taken with');
    if (view.sessions !== undefined) {
      yield* block(BlockType.sessionClock, view.sessions.clock);
      for (const session of view.sessions.sessions) yield* block(BlockType.session, session);
    }
    const end = Buffer.alloc(8);
    end.writeBigUInt64LE(BigInt(count));
    yield* block(BlockType.end, end);
  }
  // #endregion snapshot-encode
}

/** Accumulates chunks and hands out exact byte counts, copying only across chunk seams. */
class ByteQueue {
  #chunks: Buffer[] = [];
  #head = 0;
  available = 0;

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.available += chunk.byteLength;
  }

  read(n: number): Buffer {
    assert(n <= this.available, 'read only what is available');
    if (n === 0) return Buffer.alloc(0);
    this.available -= n;
    const first = this.#chunks[0] as Buffer;
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0] as Buffer;
      const take = Math.min(n - filled, chunk.length - this.#head);
      chunk.copy(out, filled, this.#head, this.#head + take);
      filled += take;
      this.#head += take;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    return out;
  }
}

/**
 * Receives each decoded entry: the key as a one-byte string and as bytes,
 * and the value. The byte views point into the decoder's buffers and are
 * valid only during the call: copy what you keep.
 */
export type EntrySink = (binaryKey: string, key: Buffer, value: Buffer) => void;

/**
 * Decodes a snapshot fed in chunks of any size. Memory stays bounded: a
 * block's declared length is checked against the limits before its bytes
 * are awaited.
 */
export class SnapshotDecoder {
  #queue = new ByteQueue();
  #state: 'header' | 'block' | 'done' = 'header';
  #blockHeader: Buffer | undefined;
  #lastKey: string | undefined;
  #count = 0;
  #sawEntries = false;
  #version = SNAPSHOT_VERSION;
  /** Session blocks seen: 0 none, 1 the clock, 2 a session (entries and META may no longer follow). */
  #sessionStage = 0;
  #limits: Readonly<StoreLimits>;
  #onEntry: EntrySink;
  meta: Buffer | null = null;
  /** The client sessions the snapshot holds (empty for a version 1 snapshot). */
  readonly sessions: SessionTable;

  constructor(limits: Readonly<StoreLimits>, onEntry: EntrySink, sessions: SessionTable = new SessionTable(limits)) {
    this.#limits = limits;
    this.#onEntry = onEntry;
    this.sessions = sessions;
  }

  get entries(): number {
    return this.#count;
  }

  push(chunk: Uint8Array): void {
    if (this.#state === 'done') {
      if (chunk.byteLength > 0) throw coreError('SNAPSHOT_CORRUPT', 'bytes after the END block');
      return;
    }
    this.#queue.push(chunk);
    this.#drain();
  }

  /** Call after the last chunk; throws unless the snapshot was complete. */
  finish(): RestoreResult {
    if (this.#state !== 'done') throw coreError('SNAPSHOT_CORRUPT', 'the snapshot ends before its END block (truncated)');
    return { entries: this.#count, meta: this.meta };
  }

  #drain(): void {
    for (;;) {
      if (this.#state === 'header') {
        if (this.#queue.available < SNAPSHOT_HEADER_BYTES) return;
        this.#readHeader(this.#queue.read(SNAPSHOT_HEADER_BYTES));
        this.#state = 'block';
      } else if (this.#state === 'block') {
        if (this.#blockHeader === undefined) {
          if (this.#queue.available < BLOCK_HEADER_BYTES) return;
          this.#blockHeader = Buffer.from(this.#queue.read(BLOCK_HEADER_BYTES));
          const length = this.#blockHeader.readUInt32LE(1);
          const max = this.#blockLengthMax(this.#blockHeader[0] as number);
          if (length > max) throw coreError('SNAPSHOT_CORRUPT', `block of ${length} bytes exceeds ${max}`);
        }
        const header = this.#blockHeader;
        const length = header.readUInt32LE(1);
        if (this.#queue.available < length) return;
        const body = this.#queue.read(length);
        this.#blockHeader = undefined;
        if (crc32c(body, crc32c(header, 0, 0, 1)) !== header.readUInt32LE(5)) {
          throw coreError('SNAPSHOT_CORRUPT', `block checksum mismatch after entry ${this.#count}`);
        }
        if (this.#readBlock(header[0] as number, body) === 'end') {
          this.#state = 'done';
          if (this.#queue.available > 0) throw coreError('SNAPSHOT_CORRUPT', 'bytes after the END block');
          return;
        }
      } else {
        return;
      }
    }
  }

  #readHeader(header: Buffer): void {
    if (!header.subarray(0, 8).equals(SNAPSHOT_MAGIC)) throw coreError('SNAPSHOT_CORRUPT', 'not a distkv snapshot (bad magic)');
    if (crc32c(header, 0, 0, 12) !== header.readUInt32LE(12)) throw coreError('SNAPSHOT_CORRUPT', 'header checksum mismatch');
    const version = header.readUInt16LE(8);
    if (!SNAPSHOT_VERSIONS_READ.includes(version)) {
      throw coreError(
        'SNAPSHOT_VERSION',
        `snapshot format version ${version}; this build reads versions ${SNAPSHOT_VERSIONS_READ.join(' and ')}`,
      );
    }
    this.#version = version;
  }

  #blockLengthMax(type: number): number {
    switch (type) {
      case BlockType.meta:
        return SNAPSHOT_META_BYTES_MAX;
      case BlockType.entries:
        // One entry may be as large as the limits allow; many small ones share a block.
        return Math.max(BLOCK_BYTES_DEFAULT * 16, 8 + this.#limits.keyBytesMax + this.#limits.valueBytesMax);
      case BlockType.end:
      case BlockType.sessionClock:
        return 8;
      case BlockType.session:
        return SessionTable.sessionBytesMax(this.#limits);
      default:
        throw coreError('SNAPSHOT_CORRUPT', `unknown block type ${type}`);
    }
  }

  #readBlock(type: number, body: Buffer): 'end' | 'more' {
    if (type === BlockType.sessionClock || type === BlockType.session) {
      if (this.#version < 2) throw coreError('SNAPSHOT_CORRUPT', `a version ${this.#version} snapshot has no session blocks`);
      if (type === BlockType.sessionClock) {
        if (this.#sessionStage !== 0) throw coreError('SNAPSHOT_CORRUPT', 'SESSION_CLOCK block out of place');
        this.sessions.setClock(body);
        this.#sessionStage = 1;
      } else {
        if (this.#sessionStage === 0) throw coreError('SNAPSHOT_CORRUPT', 'SESSION block before the SESSION_CLOCK block');
        this.sessions.addEncoded(body);
        this.#sessionStage = 2;
      }
      return 'more';
    }
    if (type === BlockType.meta) {
      if (this.#sawEntries || this.meta !== null || this.#sessionStage !== 0)
        throw coreError('SNAPSHOT_CORRUPT', 'META block out of place');
      this.meta = Buffer.from(body);
      return 'more';
    }
    if (type === BlockType.end) {
      if (body.length !== 8) throw coreError('SNAPSHOT_CORRUPT', 'END block has the wrong size');
      const declared = body.readBigUInt64LE(0);
      if (declared !== BigInt(this.#count)) {
        throw coreError('SNAPSHOT_CORRUPT', `END declares ${declared} entries but ${this.#count} were read`);
      }
      return 'end';
    }
    if (this.#sessionStage !== 0) throw coreError('SNAPSHOT_CORRUPT', 'ENTRIES block after the session blocks');
    this.#sawEntries = true;
    this.#readEntries(body);
    return 'more';
  }

  // #region snapshot-decode
  #readEntries(body: Buffer): void {
    let at = 0;
    while (at < body.length) {
      if (body.length - at < 4) throw coreError('SNAPSHOT_CORRUPT', 'entry header cut short');
      const keyLength = body.readUInt32LE(at);
      at += 4;
      if (keyLength > this.#limits.keyBytesMax || keyLength > body.length - at - 4) {
        throw coreError('SNAPSHOT_CORRUPT', `key length ${keyLength} does not fit`);
      }
      const keyBytes = body.subarray(at, at + keyLength);
      const key = body.toString('latin1', at, at + keyLength);
      at += keyLength;
      const valueLength = body.readUInt32LE(at);
      at += 4;
      if (valueLength > this.#limits.valueBytesMax || valueLength > body.length - at) {
        throw coreError('SNAPSHOT_CORRUPT', `value length ${valueLength} does not fit`);
      }
      const value = body.subarray(at, at + valueLength);
      at += valueLength;
      if (this.#lastKey !== undefined && !(key > this.#lastKey)) {
        throw coreError('SNAPSHOT_CORRUPT', 'keys are not in strictly ascending order');
      }
      this.#lastKey = key;
      this.#count++;
      this.#onEntry(key, keyBytes, value);
    }
  }
  // #endregion snapshot-decode
}

/** Feeds `source` through a decoder; see `Store.restore`. */
export async function restoreInto(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  limits: Readonly<StoreLimits>,
  sessions: SessionTable,
  onEntry: EntrySink,
): Promise<RestoreResult> {
  const decoder = new SnapshotDecoder(limits, onEntry, sessions);
  for await (const chunk of source) decoder.push(chunk);
  return decoder.finish();
}
