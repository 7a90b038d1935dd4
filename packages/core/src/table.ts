import { randomBytes } from 'node:crypto';
import { assert } from './assert.js';
import { INLINE_VALUE_BYTES_MAX } from './bytes.js';

/**
 * The store's point index: an open-addressing hash table over typed arrays,
 * whose records live in large arena chunks.
 *
 * Why not a JavaScript `Map`? With a million keys read in random order a
 * `Map` lookup chases three pointers (bucket, entry, key string), each a
 * likely cache miss, and a `Buffer` per value costs ~100 bytes of object
 * overhead. Here a lookup touches one slot (hash tag and record position
 * side by side in a Uint32Array) and then one record, where the key and
 * its value sit next to each other:
 *
 *   record  key length u32 | value length u32 | key | value
 *
 * Values larger than INLINE_VALUE_BYTES_MAX live outside the arena in
 * `#bigValues`; their record's value is a 4-byte id.
 *
 * Overwriting a value of the same size writes in place; anything else
 * appends a new record and leaves the old one dead. A chunk whose live
 * bytes fall below a quarter is compacted: its live records move to the
 * active chunk, one chunk per write at most, so the pause is bounded by
 * the chunk size.
 *
 * The hash is FNV-1a with a murmur finaliser, seeded per table from the
 * system's random source, so that a client cannot choose keys that all
 * collide (hash flooding). The seed cannot change any result: order is
 * never taken from this table.
 */
// #region table-layout
const CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * A record's position is a u32: chunk index (high 13 bits) and offset in
 * 8-byte units (low 19 bits), so a slot is two u32s and the arena can
 * address 8192 chunks of 4 MiB = 32 GiB. Records start 8-byte aligned.
 */
const OFFSET_BITS = 19;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
const CHUNKS_MAX = 2 ** (32 - OFFSET_BITS);
/** The largest record: a chunk. limits.ts keeps keys within it. */
export const RECORD_BYTES_MAX = CHUNK_BYTES;
const RECORD_HEADER_BYTES = 8;
const BIG_VALUE = 0xffffffff;
/** Slot tags: 0 = empty, 1 = deleted (tombstone), anything else = a hash. */
const EMPTY = 0;
const TOMBSTONE = 1;
const LOAD_MAX = 0.7;
// #endregion table-layout

/** Bytes a record takes, rounded up to the 8-byte alignment of positions. */
function recordBytes(keyLength: number, valueBytes: number): number {
  return (RECORD_HEADER_BYTES + keyLength + valueBytes + 7) & ~7;
}

function nextPowerOfTwo(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

export class ArenaTable {
  /** Slot i is [2i] = tag, [2i + 1] = record position. */
  #slots: Uint32Array;
  #mask: number;
  #live = 0;
  #tombstones = 0;
  #chunks: Array<Buffer | null> = [];
  #chunkLive: number[] = [];
  #active = -1;
  #activeUsed = 0;
  #bigValues = new Map<number, Buffer>();
  #nextBigId = 1;
  readonly #seed: number;

  constructor(capacity = 16) {
    const size = nextPowerOfTwo(capacity);
    this.#slots = new Uint32Array(size * 2);
    this.#mask = size - 1;
    this.#seed = randomBytes(4).readUInt32LE(0);
  }

  get size(): number {
    return this.#live;
  }

  // ---- hashing ------------------------------------------------------------

  #finish(h: number): number {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h >>>= 0;
    return h < 2 ? h + 2 : h;
  }

  /** A key is its bytes, or a string whose chars are its bytes (latin1): both hash alike. */
  #hash(key: Uint8Array | string): number {
    let h = (0x811c9dc5 ^ this.#seed) >>> 0;
    if (typeof key === 'string') for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    else for (let i = 0; i < key.length; i++) h = Math.imul(h ^ (key[i] as number), 0x01000193);
    return this.#finish(h);
  }

  // ---- lookups ------------------------------------------------------------

  #chunkOf(position: number): Buffer {
    const chunk = this.#chunks[position >>> OFFSET_BITS];
    assert(chunk != null, 'a live record lies in a live chunk');
    return chunk;
  }

  #keyEquals(position: number, key: Uint8Array | string): boolean {
    const chunk = this.#chunkOf(position);
    const at = (position & OFFSET_MASK) * 8;
    if (chunk.readUInt32LE(at) !== key.length) return false;
    const start = at + RECORD_HEADER_BYTES;
    if (typeof key === 'string') {
      for (let i = 0; i < key.length; i++) if (chunk[start + i] !== key.charCodeAt(i)) return false;
    } else {
      for (let i = 0; i < key.length; i++) if (chunk[start + i] !== key[i]) return false;
    }
    return true;
  }

  // #region table-find
  /** The slot holding `key` (its bytes, or a string whose chars are its bytes: latin1), or -1. */
  find(key: Uint8Array | string): number {
    const tag = this.#hash(key);
    const slots = this.#slots;
    for (let i = tag & this.#mask; ; i = (i + 1) & this.#mask) {
      const t = slots[2 * i] as number;
      if (t === EMPTY) return -1;
      if (t === tag && this.#keyEquals(slots[2 * i + 1] as number, key)) return i;
    }
  }
  // #endregion table-find

  /** `find` for a key given as a latin1 string (its chars are the key's bytes). */
  findString(key: string): number {
    return this.find(key);
  }

  // ---- reading a slot's value ---------------------------------------------

  #valueAt(slot: number): { chunk: Buffer; start: number; length: number; big: Buffer | undefined } {
    const position = this.#slots[2 * slot + 1] as number;
    const chunk = this.#chunkOf(position);
    const at = (position & OFFSET_MASK) * 8;
    const keyLength = chunk.readUInt32LE(at);
    const valueLength = chunk.readUInt32LE(at + 4);
    const start = at + RECORD_HEADER_BYTES + keyLength;
    if (valueLength === BIG_VALUE) {
      const big = this.#bigValues.get(chunk.readUInt32LE(start));
      assert(big !== undefined, 'a big value record points at a stored buffer');
      return { chunk, start, length: big.length, big };
    }
    return { chunk, start, length: valueLength, big: undefined };
  }

  valueLength(slot: number): number {
    return this.#valueAt(slot).length;
  }

  // #region table-value
  /** A fresh copy of the value. The hot path of every read, so written out by hand. */
  value(slot: number): Buffer {
    const position = this.#slots[2 * slot + 1] as number;
    const chunk = this.#chunkOf(position);
    const at = (position & OFFSET_MASK) * 8;
    const valueLength = chunk.readUInt32LE(at + 4);
    if (valueLength === BIG_VALUE) return Buffer.from(this.#valueAt(slot).big as Buffer);
    const start = at + RECORD_HEADER_BYTES + chunk.readUInt32LE(at);
    const out = Buffer.allocUnsafe(valueLength);
    // For small values a loop beats a call into C++ for the copy.
    if (valueLength <= 64) for (let i = 0; i < valueLength; i++) out[i] = chunk[start + i] as number;
    else chunk.copy(out, 0, start, start + valueLength);
    return out;
  }
  // #endregion table-value

  /** The value as a one-byte (latin1) string, for parsing integers. */
  valueLatin1(slot: number): string {
    const v = this.#valueAt(slot);
    return v.big !== undefined ? v.big.toString('latin1') : v.chunk.toString('latin1', v.start, v.start + v.length);
  }

  valueEquals(slot: number, expected: Uint8Array): boolean {
    const v = this.#valueAt(slot);
    if (v.length !== expected.length) return false;
    if (v.big !== undefined) return v.big.equals(expected);
    for (let i = 0; i < expected.length; i++) if (v.chunk[v.start + i] !== expected[i]) return false;
    return true;
  }

  /** Copies the value into `target` at `offset`; returns the bytes written. */
  copyValue(slot: number, target: Buffer, offset: number): number {
    const v = this.#valueAt(slot);
    if (v.big !== undefined) return v.big.copy(target, offset);
    return v.chunk.copy(target, offset, v.start, v.start + v.length);
  }

  // ---- writing ------------------------------------------------------------

  #appendRecord(key: Uint8Array, value: Uint8Array): number {
    const big = value.length > INLINE_VALUE_BYTES_MAX;
    const size = recordBytes(key.length, big ? 4 : value.length);
    assert(size <= CHUNK_BYTES, 'limits keep every record within a chunk');
    if (this.#active < 0 || this.#activeUsed + size > CHUNK_BYTES) this.#openChunk();
    const chunk = this.#chunks[this.#active] as Buffer;
    const at = this.#activeUsed;
    chunk.writeUInt32LE(key.length, at);
    chunk.writeUInt32LE(big ? BIG_VALUE : value.length, at + 4);
    chunk.set(key, at + RECORD_HEADER_BYTES);
    if (big) {
      const id = this.#nextBigId++;
      this.#bigValues.set(id, Buffer.from(value));
      chunk.writeUInt32LE(id, at + RECORD_HEADER_BYTES + key.length);
    } else {
      chunk.set(value, at + RECORD_HEADER_BYTES + key.length);
    }
    this.#activeUsed += size;
    this.#chunkLive[this.#active] = (this.#chunkLive[this.#active] as number) + size;
    return ((this.#active << OFFSET_BITS) | (at / 8)) >>> 0;
  }

  #openChunk(): void {
    let index = this.#chunks.indexOf(null);
    if (index < 0) index = this.#chunks.length;
    assert(index < CHUNKS_MAX, 'limits.dataBytesMax keeps the arena within 32 GiB');
    this.#chunks[index] = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    this.#chunkLive[index] = 0;
    this.#active = index;
    this.#activeUsed = 0;
  }

  /** Marks the record at `position` dead, and compacts its chunk when mostly dead. */
  #release(position: number): void {
    const index = position >>> OFFSET_BITS;
    const chunk = this.#chunks[index] as Buffer;
    const at = (position & OFFSET_MASK) * 8;
    const keyLength = chunk.readUInt32LE(at);
    const valueLength = chunk.readUInt32LE(at + 4);
    const big = valueLength === BIG_VALUE;
    if (big) this.#bigValues.delete(chunk.readUInt32LE(at + RECORD_HEADER_BYTES + keyLength));
    this.#chunkLive[index] = (this.#chunkLive[index] as number) - recordBytes(keyLength, big ? 4 : valueLength);
    if (index !== this.#active && (this.#chunkLive[index] as number) < chunk.length / 4) this.#compact(index);
  }

  // #region table-compact
  /** Moves the live records of chunk `index` to the active chunk and frees it. */
  #compact(index: number): void {
    const chunk = this.#chunks[index] as Buffer;
    let at = 0;
    while (this.#chunkLive[index] as number) {
      assert(at + RECORD_HEADER_BYTES <= chunk.length, 'live bytes remain, so a record remains');
      const keyLength = chunk.readUInt32LE(at);
      const valueLength = chunk.readUInt32LE(at + 4);
      const size = recordBytes(keyLength, valueLength === BIG_VALUE ? 4 : valueLength);
      const position = ((index << OFFSET_BITS) | (at / 8)) >>> 0;
      const key = chunk.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + keyLength);
      const slot = this.#slotOfPosition(key, position);
      if (slot >= 0) {
        // Live: copy the raw record (a big value keeps its id) and repoint the slot.
        // The chunk being emptied is not active and stays allocated until the end,
        // so neither an append nor a reused chunk index can land in it.
        if (this.#active < 0 || this.#activeUsed + size > CHUNK_BYTES) this.#openChunk();
        chunk.copy(this.#chunks[this.#active] as Buffer, this.#activeUsed, at, at + size);
        this.#slots[2 * slot + 1] = ((this.#active << OFFSET_BITS) | (this.#activeUsed / 8)) >>> 0;
        this.#activeUsed += size;
        this.#chunkLive[this.#active] = (this.#chunkLive[this.#active] as number) + size;
        this.#chunkLive[index] = (this.#chunkLive[index] as number) - size;
      }
      at += size;
    }
    this.#chunks[index] = null;
  }
  // #endregion table-compact

  /** The slot whose record is at `position` (the chunk may already be detached). */
  #slotOfPosition(key: Uint8Array, position: number): number {
    const tag = this.#hash(key);
    for (let i = tag & this.#mask; ; i = (i + 1) & this.#mask) {
      const t = this.#slots[2 * i] as number;
      if (t === EMPTY) return -1;
      if (t === tag && this.#slots[2 * i + 1] === position) return i;
    }
  }

  /**
   * Sets `key` to `value`. `slot` is the result of find(key) (-1 when
   * absent), so that a caller who already looked the key up does not pay
   * for a second probe.
   */
  set(slot: number, key: Uint8Array, value: Uint8Array): void {
    if (slot >= 0) {
      const position = this.#slots[2 * slot + 1] as number;
      const chunk = this.#chunkOf(position);
      const at = (position & OFFSET_MASK) * 8;
      const oldLength = chunk.readUInt32LE(at + 4);
      if (oldLength === value.length && oldLength !== BIG_VALUE && value.length <= INLINE_VALUE_BYTES_MAX) {
        chunk.set(value, at + RECORD_HEADER_BYTES + key.length); // same size: overwrite in place
        return;
      }
      const next = this.#appendRecord(key, value);
      this.#slots[2 * slot + 1] = next;
      this.#release(position);
      return;
    }
    if (this.#live + this.#tombstones + 1 > (this.#mask + 1) * LOAD_MAX) this.#resize();
    const tag = this.#hash(key);
    let i = tag & this.#mask;
    while ((this.#slots[2 * i] as number) > TOMBSTONE) i = (i + 1) & this.#mask;
    if (this.#slots[2 * i] === TOMBSTONE) this.#tombstones--;
    const position = this.#appendRecord(key, value);
    this.#slots[2 * i] = tag;
    this.#slots[2 * i + 1] = position;
    this.#live++;
  }

  /** Removes the entry in `slot` (from find). */
  delete(slot: number): void {
    assert((this.#slots[2 * slot] as number) > TOMBSTONE, 'delete a live slot');
    const position = this.#slots[2 * slot + 1] as number;
    this.#slots[2 * slot] = TOMBSTONE;
    this.#slots[2 * slot + 1] = 0;
    this.#live--;
    this.#tombstones++;
    this.#release(position);
  }

  /** Rebuilds the slot array: larger when full of live keys, same size when full of tombstones. */
  #resize(): void {
    const old = this.#slots;
    // At most ~52% full afterwards: a table full of live keys doubles, one
    // full of tombstones is rebuilt at the same size (or half).
    const size = nextPowerOfTwo(Math.ceil((this.#live + 1) / 0.525));
    this.#slots = new Uint32Array(size * 2);
    this.#mask = size - 1;
    this.#tombstones = 0;
    for (let j = 0; j < old.length; j += 2) {
      const tag = old[j] as number;
      if (tag <= TOMBSTONE) continue;
      let i = tag & this.#mask;
      while (this.#slots[2 * i] !== EMPTY) i = (i + 1) & this.#mask;
      this.#slots[2 * i] = tag;
      this.#slots[2 * i + 1] = old[j + 1] as number;
    }
  }

  /** Bytes held by arena chunks and big values (for the curious; not a limit). */
  get arenaBytes(): number {
    let n = 0;
    for (const c of this.#chunks) if (c !== null) n += c.length;
    for (const b of this.#bigValues.values()) n += b.length;
    return n;
  }
}
