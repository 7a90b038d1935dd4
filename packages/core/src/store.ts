import sortedBtree from 'sorted-btree';
import { assert } from './assert.js';
import { type BytesInput, binaryToUtf8, fromBinaryString, INLINE_VALUE_BYTES_MAX, prefixEnd, toBinaryString } from './bytes.js';
import type { Command, CommandResult, PutCondition } from './command.js';
import { crc32c } from './crc32c.js';
import { type CoreErrorCode, coreError, DistkvError } from './errors.js';
import { resolveLimits, type StoreLimits } from './limits.js';
import { type RestoreResult, restoreInto, type SnapshotOptions, SnapshotStream, type SnapshotView } from './snapshot.js';

// Node's ESM loader hands us module.exports (class at .default); vitest's
// interop hands us the class itself. Accept both.
const BTree: typeof sortedBtree.default =
  (sortedBtree as { default?: typeof sortedBtree.default }).default ?? (sortedBtree as unknown as typeof sortedBtree.default);
type KeyTree = InstanceType<typeof BTree<string, undefined>>;

/** A value as held in memory: see INLINE_VALUE_BYTES_MAX in bytes.ts. */
export type StoredValue = string | Buffer;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Redis's string2ll grammar: optional '-', no '+', no spaces, no leading zeros. */
const INT64_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;

function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function newKeyTree(): KeyTree {
  return new BTree<string, undefined>(undefined, compareBinary, 64);
}

function storedLength(value: StoredValue): number {
  return value.length;
}

function storedToBuffer(value: StoredValue): Buffer {
  return typeof value === 'string' ? fromBinaryString(value) : Buffer.from(value);
}

function storedToBinary(value: StoredValue): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

export interface ScanOptions {
  /** Only keys starting with these bytes. */
  prefix?: BytesInput;
  /** First key, inclusive. */
  start?: BytesInput;
  /** Last key, exclusive. */
  end?: BytesInput;
  /** Most entries to return: default and maximum limits.scanLimitMax. */
  limit?: number;
  /** Walk from the highest key down. */
  reverse?: boolean;
}

export interface StoreOptions {
  limits?: Partial<StoreLimits>;
}

/**
 * The phase-1 store: an in-memory map of byte keys to byte values, kept in
 * key order. A hash map answers point reads in O(1); a B+ tree of the same
 * keys (sorted-btree) answers ordered scans and gives snapshots an O(1)
 * copy-on-write clone.
 */
export class Store {
  readonly limits: Readonly<StoreLimits>;
  // #region store-state
  /** key -> value, both as one-byte strings: point reads and writes. */
  #map = new Map<string, StoredValue>();
  /** The same keys, sorted bytewise: scans and snapshots. */
  #keys: KeyTree = newKeyTree();
  /** Sum of key and value lengths, checked against limits.dataBytesMax. */
  #dataBytes = 0;
  /** Snapshots still streaming; each sees the store as it was when taken. */
  #views: SnapshotView[] = [];
  // #endregion store-state

  constructor(options: StoreOptions = {}) {
    this.limits = resolveLimits(options.limits);
  }

  /** Number of keys. */
  get size(): number {
    return this.#map.size;
  }

  /** Bytes of keys and values held (not counting JavaScript's own overhead). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  // ---- reads -------------------------------------------------------------

  /** The value of `key` as a fresh Buffer, or undefined when absent. */
  get(key: BytesInput): Buffer | undefined {
    const value = this.#map.get(toBinaryString(key));
    return value === undefined ? undefined : storedToBuffer(value);
  }

  /** The value of `key` decoded as UTF-8, or undefined when absent. */
  getString(key: BytesInput): string | undefined {
    const value = this.#map.get(toBinaryString(key));
    return value === undefined ? undefined : binaryToUtf8(storedToBinary(value));
  }

  has(key: BytesInput): boolean {
    return this.#map.has(toBinaryString(key));
  }

  // #region scan
  /** Entries in bytewise key order (or reverse), bounded by `limit`. */
  scan(options: ScanOptions = {}): Array<[Buffer, Buffer]> {
    const limit = options.limit ?? this.limits.scanLimitMax;
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > this.limits.scanLimitMax) {
      throw coreError('SCAN_LIMIT', `limit must be an integer from 0 to ${this.limits.scanLimitMax}, got ${limit}`);
    }
    // Narrow [low, high) by the range and the prefix together.
    let low = options.start === undefined ? '' : toBinaryString(options.start);
    let high = options.end === undefined ? undefined : toBinaryString(options.end);
    if (options.prefix !== undefined) {
      const prefix = toBinaryString(options.prefix);
      const afterPrefix = prefixEnd(prefix);
      if (prefix > low) low = prefix;
      if (afterPrefix !== undefined && (high === undefined || afterPrefix < high)) high = afterPrefix;
    }
    const out: Array<[Buffer, Buffer]> = [];
    if (limit === 0 || (high !== undefined && low >= high)) return out;
    const emit = (key: string): void => {
      const value = this.#map.get(key);
      assert(value !== undefined, 'every key in the tree is in the map');
      out.push([fromBinaryString(key), storedToBuffer(value)]);
    };
    if (options.reverse) {
      for (const [key] of this.#keys.entriesReversed(high, undefined, high !== undefined)) {
        if (key < low || out.length >= limit) break;
        emit(key);
      }
    } else {
      for (const key of this.#keys.keys(low)) {
        if ((high !== undefined && key >= high) || out.length >= limit) break;
        emit(key);
      }
    }
    return out;
  }
  // #endregion scan

  /**
   * A checksum of the whole state in key order: two stores with equal
   * contents have equal digests. Later phases compare replicas with it.
   */
  digest(): string {
    let crc = 0;
    const header = Buffer.allocUnsafe(8);
    for (const key of this.#keys.keys()) {
      const value = this.#map.get(key) as StoredValue;
      header.writeUInt32LE(key.length, 0);
      header.writeUInt32LE(storedLength(value), 4);
      crc = crc32c(header, crc);
      crc = crc32c(Buffer.from(key, 'latin1'), crc);
      crc = crc32c(typeof value === 'string' ? Buffer.from(value, 'latin1') : value, crc);
    }
    return `${this.size}:${crc.toString(16).padStart(8, '0')}`;
  }

  // ---- writes: the convenience API throws DistkvError ----------------------

  put(key: BytesInput, value: BytesInput): void {
    this.#put(this.#key(key), this.#value(value), 'always');
  }

  /** Removes `key`; true when it existed. */
  del(key: BytesInput): boolean {
    return this.#del(this.#key(key));
  }

  /**
   * Compare-and-set: when the current value equals `expected` (null means
   * "absent"), replace it with `value` (null means "delete").
   */
  cas(key: BytesInput, expected: BytesInput | null, value: BytesInput | null): { swapped: boolean; previous: Buffer | null } {
    const result = this.#cas(
      this.#key(key),
      expected === null ? null : this.#value(expected),
      value === null ? null : this.#value(value),
    );
    return { swapped: result.swapped, previous: result.previous === undefined ? null : storedToBuffer(result.previous) };
  }

  /** Adds `delta` to the integer at `key` (absent is 0) and returns the new value. */
  incrBy(key: BytesInput, delta: bigint | number): bigint {
    return this.#incrBy(this.#key(key), BigInt(delta));
  }

  /** Sets every entry, or none when any of them breaks a limit. */
  mput(entries: Iterable<readonly [BytesInput, BytesInput]>): number {
    const converted: Array<[string, StoredValue]> = [];
    for (const [key, value] of entries) {
      if (converted.length >= this.limits.batchKeysMax)
        this.#fail('BATCH_TOO_LARGE', `more than ${this.limits.batchKeysMax} keys`);
      converted.push([this.#key(key), this.#value(value)]);
    }
    return this.#mput(converted);
  }

  /** Removes every key; returns how many there were. */
  clear(): number {
    const deleted = this.#map.size;
    // Open snapshots keep the old map and tree; new ones start empty.
    this.#map = new Map();
    this.#keys = newKeyTree();
    this.#dataBytes = 0;
    return deleted;
  }

  // #region apply
  /**
   * Applies one command. Deterministic: the result depends only on the
   * store's contents and the command. Operating errors come back as values
   * (`ok: false`) and leave the store unchanged.
   */
  apply(command: Command): CommandResult {
    try {
      switch (command.op) {
        case 'put': {
          const key = this.#key(command.key);
          const r = this.#put(key, this.#value(command.value), command.when);
          const previous = command.returnPrevious ? (r.previous === undefined ? null : storedToBuffer(r.previous)) : undefined;
          return { ok: true, op: 'put', written: r.written, previous };
        }
        case 'del': {
          if (command.keys.length > this.limits.batchKeysMax)
            this.#fail('BATCH_TOO_LARGE', `more than ${this.limits.batchKeysMax} keys`);
          let deleted = 0;
          for (const key of command.keys) if (this.#del(this.#key(key))) deleted++;
          return { ok: true, op: 'del', deleted };
        }
        case 'cas': {
          const r = this.#cas(
            this.#key(command.key),
            command.expected === null ? null : this.#value(command.expected),
            command.value === null ? null : this.#value(command.value),
          );
          return {
            ok: true,
            op: 'cas',
            swapped: r.swapped,
            previous: r.previous === undefined ? null : storedToBuffer(r.previous),
          };
        }
        case 'mput': {
          if (command.entries.length > this.limits.batchKeysMax)
            this.#fail('BATCH_TOO_LARGE', `more than ${this.limits.batchKeysMax} keys`);
          const entries = command.entries.map(([k, v]): [string, StoredValue] => [this.#key(k), this.#value(v)]);
          return { ok: true, op: 'mput', written: this.#mput(entries) };
        }
        case 'incrBy':
          return { ok: true, op: 'incrBy', value: this.#incrBy(this.#key(command.key), command.delta) };
        case 'clear':
          return { ok: true, op: 'clear', deleted: this.clear() };
      }
    } catch (err) {
      if (err instanceof DistkvError) return { ok: false, op: command.op, code: err.code, message: err.message };
      throw err;
    }
  }
  // #endregion apply

  // ---- snapshots ----------------------------------------------------------

  /**
   * A consistent, streaming snapshot of the store as it is now. Writes go on
   * while it streams: the first change to a key after this call saves the
   * old value for the snapshot (copy-on-write), and the key tree is cloned
   * in O(1). Iterate it once to get the encoded chunks, or `close()` it.
   */
  snapshot(options: SnapshotOptions = {}): SnapshotStream {
    const open = this.#views.filter((v) => !v.closed);
    if (open.length >= this.limits.snapshotsOpenMax) {
      this.#fail(
        'SNAPSHOTS_BUSY',
        `${open.length} snapshots are open (limits.snapshotsOpenMax = ${this.limits.snapshotsOpenMax})`,
      );
    }
    const view: SnapshotView = {
      map: this.#map,
      keys: this.#keys.clone(),
      size: this.#map.size,
      shadow: new Map(),
      closed: false,
    };
    this.#views = [...open, view];
    return new SnapshotStream(view, options, () => {
      this.#views = this.#views.filter((v) => v !== view && !v.closed);
    });
  }

  /**
   * Replaces the whole state with a snapshot read from `source` (chunks of
   * any size). The store changes only when the snapshot is complete and
   * valid; on any error it is left exactly as it was.
   */
  async restore(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<RestoreResult> {
    const map = new Map<string, StoredValue>();
    const keys = newKeyTree();
    let dataBytes = 0;
    const result = await restoreInto(source, this.limits, (key, value) => {
      if (map.size >= this.limits.keysMax) this.#fail('STORE_FULL', `snapshot holds more than ${this.limits.keysMax} keys`);
      const size = key.length + storedLength(value);
      if (dataBytes + size > this.limits.dataBytesMax)
        this.#fail('STORE_FULL', `snapshot holds more than ${this.limits.dataBytesMax} bytes`);
      if (map.has(key)) throw coreError('SNAPSHOT_CORRUPT', 'a key appears twice');
      map.set(key, value);
      keys.set(key, undefined);
      dataBytes += size;
    });
    this.#map = map;
    this.#keys = keys;
    this.#dataBytes = dataBytes;
    return result;
  }

  // ---- internals: binary strings in, DistkvError thrown -------------------

  #fail(code: CoreErrorCode, message: string): never {
    throw coreError(code, message);
  }

  #key(key: BytesInput): string {
    const binary = toBinaryString(key);
    if (binary.length > this.limits.keyBytesMax) {
      this.#fail('KEY_TOO_LARGE', `key of ${binary.length} bytes exceeds keyBytesMax ${this.limits.keyBytesMax}`);
    }
    return binary;
  }

  #value(value: BytesInput): StoredValue {
    const length = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.byteLength;
    if (length > this.limits.valueBytesMax) {
      this.#fail('VALUE_TOO_LARGE', `value of ${length} bytes exceeds valueBytesMax ${this.limits.valueBytesMax}`);
    }
    if (length <= INLINE_VALUE_BYTES_MAX) return toBinaryString(value);
    return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  }

  /** Saves the pre-change value of `key` for every snapshot still streaming. */
  #beforeChange(key: string): void {
    for (const view of this.#views) {
      if (!view.closed && view.map === this.#map && !view.shadow.has(key)) {
        view.shadow.set(key, this.#map.get(key) ?? null);
      }
    }
  }

  // #region put
  #put(key: string, value: StoredValue, when: PutCondition): { written: boolean; previous: StoredValue | undefined } {
    const previous = this.#map.get(key);
    if (when === 'ifAbsent' && previous !== undefined) return { written: false, previous };
    if (when === 'ifPresent' && previous === undefined) return { written: false, previous };
    const growth = key.length + storedLength(value) - (previous === undefined ? 0 : key.length + storedLength(previous));
    if (previous === undefined && this.#map.size >= this.limits.keysMax) {
      this.#fail('STORE_FULL', `the store holds limits.keysMax = ${this.limits.keysMax} keys`);
    }
    if (this.#dataBytes + growth > this.limits.dataBytesMax) {
      this.#fail('STORE_FULL', `the store holds limits.dataBytesMax = ${this.limits.dataBytesMax} bytes`);
    }
    if (this.#views.length !== 0) this.#beforeChange(key);
    this.#map.set(key, value);
    if (previous === undefined) this.#keys.set(key, undefined);
    this.#dataBytes += growth;
    return { written: true, previous };
  }
  // #endregion put

  #del(key: string): boolean {
    const previous = this.#map.get(key);
    if (previous === undefined) return false;
    if (this.#views.length !== 0) this.#beforeChange(key);
    this.#map.delete(key);
    this.#keys.delete(key);
    this.#dataBytes -= key.length + storedLength(previous);
    return true;
  }

  #cas(
    key: string,
    expected: StoredValue | null,
    value: StoredValue | null,
  ): { swapped: boolean; previous: StoredValue | undefined } {
    const previous = this.#map.get(key);
    const matches =
      expected === null
        ? previous === undefined
        : previous !== undefined && storedToBinary(previous) === storedToBinary(expected);
    if (!matches) return { swapped: false, previous };
    if (value === null) this.#del(key);
    else this.#put(key, value, 'always');
    return { swapped: true, previous };
  }

  #incrBy(key: string, delta: bigint): bigint {
    if (delta < INT64_MIN || delta > INT64_MAX)
      this.#fail('INTEGER_OVERFLOW', 'the increment is outside the signed 64-bit range');
    const previous = this.#map.get(key);
    let current = 0n;
    if (previous !== undefined) {
      const text = storedToBinary(previous);
      if (!INT64_TEXT.test(text)) this.#fail('NOT_INTEGER', 'value is not an integer or out of range');
      current = BigInt(text);
      if (current < INT64_MIN || current > INT64_MAX) this.#fail('NOT_INTEGER', 'value is not an integer or out of range');
    }
    const next = current + delta;
    if (next < INT64_MIN || next > INT64_MAX) this.#fail('INTEGER_OVERFLOW', 'increment or decrement would overflow');
    this.#put(key, next.toString(), 'always');
    return next;
  }

  #mput(entries: Array<[string, StoredValue]>): number {
    // Check every limit before the first write, so that MPUT is all or nothing.
    const seen = new Map<string, StoredValue>();
    for (const [key, value] of entries) seen.set(key, value);
    let newKeys = 0;
    let growth = 0;
    for (const [key, value] of seen) {
      const previous = this.#map.get(key);
      if (previous === undefined) newKeys++;
      growth += key.length + storedLength(value) - (previous === undefined ? 0 : key.length + storedLength(previous));
    }
    if (this.#map.size + newKeys > this.limits.keysMax)
      this.#fail('STORE_FULL', `the store would exceed limits.keysMax = ${this.limits.keysMax} keys`);
    if (this.#dataBytes + growth > this.limits.dataBytesMax) {
      this.#fail('STORE_FULL', `the store would exceed limits.dataBytesMax = ${this.limits.dataBytesMax} bytes`);
    }
    for (const [key, value] of seen) this.#put(key, value, 'always');
    return entries.length;
  }
}
