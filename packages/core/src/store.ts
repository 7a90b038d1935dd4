/**
 * The state machine of distkv: byte keys to byte values, in key order, and
 * `apply(command)`, the only way a write happens.
 *
 * Every later phase is built on one promise made here: `apply` is
 * deterministic. It reads no clock and no randomness, so the same commands
 * in the same order give the same state and the same results on every
 * replica; anything time-dependent must arrive as data in a command.
 * The WAL (phase 2) makes it durable by logging commands before applying
 * them; Raft (phase 4) makes it replicated by agreeing on their order.
 * Neither looks inside a command: only core interprets them (command.ts,
 * codec.ts). `snapshot()`/`restore()` (snapshot.ts) let a log be compacted
 * and a lagging replica catch up; exactly-once sessions (session.ts) are
 * replicated state kept beside the keys.
 */
import sortedBtree from 'sorted-btree';
import { bulkLoad } from 'sorted-btree/extended/bulkLoad.js';
import { assert } from './assert.js';
import { type BytesInput, fromBinaryString, prefixEnd, toBinaryString, toBuffer } from './bytes.js';
import { type Command, type CommandResult, isSessionNumber, type PutCondition } from './command.js';
import { crc32c } from './crc32c.js';
import { type CoreErrorCode, coreError, DistkvError } from './errors.js';
import { resolveLimits, type StoreLimits } from './limits.js';
import { addLongDouble, FLOAT_TEXT_BYTES_MAX, formatLongDouble, isFiniteLongDouble, parseLongDouble } from './long-double.js';
import { SessionTable } from './session.js';
import { type RestoreResult, restoreInto, type SnapshotOptions, SnapshotStream, type SnapshotView } from './snapshot.js';
import { ArenaTable } from './table.js';

// Node's ESM loader hands us module.exports (class at .default); vitest's
// interop hands us the class itself. Accept both.
const BTree: typeof sortedBtree.default =
  (sortedBtree as { default?: typeof sortedBtree.default }).default ?? (sortedBtree as unknown as typeof sortedBtree.default);
type KeyTree = InstanceType<typeof BTree<string, undefined>>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Redis's string2ll grammar: optional '-', no '+', no spaces, no leading zeros. */
const INT64_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;

function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const TREE_NODE_KEYS = 128;

function newKeyTree(): KeyTree {
  return new BTree<string, undefined>(undefined, compareBinary, TREE_NODE_KEYS);
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
 * key order. A hash table over an arena (table.ts) answers point reads; a
 * B+ tree of the same keys (sorted-btree) answers ordered scans and gives
 * snapshots an O(1) copy-on-write clone.
 */
export class Store {
  readonly limits: Readonly<StoreLimits>;
  // #region store-state
  /** key -> value, both as bytes in an arena: point reads and writes. */
  #table = new ArenaTable();
  /** The same keys as one-byte strings, sorted bytewise: scans and snapshots. */
  #keys: KeyTree = newKeyTree();
  /** Keys added since the tree was last brought up to date (see #sortedKeys). */
  #pending: string[] = [];
  /** A key was deleted since #pending began: some pending keys may be gone or repeated. */
  #pendingStale = false;
  /** Sum of key and value lengths, checked against limits.dataBytesMax. */
  #dataBytes = 0;
  /** Snapshots still streaming; each sees the store as it was when taken. */
  #views: SnapshotView[] = [];
  /** Client sessions (exactly-once writes): replicated state like the keys, kept apart from them. */
  #sessions: SessionTable;
  // #endregion store-state

  constructor(options: StoreOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.#sessions = new SessionTable(this.limits);
  }

  /** Number of client sessions held. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Bytes the session table holds, as a snapshot encodes it; at most limits.sessionTableBytesMax. */
  get sessionTableBytes(): number {
    return this.#sessions.bytes;
  }

  /** Number of keys. */
  get size(): number {
    return this.#table.size;
  }

  /** Bytes of keys and values held (not counting the index's own overhead). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  // ---- reads -------------------------------------------------------------

  // #region get
  /** The value of `key` as a fresh Buffer, or undefined when absent. */
  get(key: BytesInput): Buffer | undefined {
    const slot = this.#table.find(typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
    return slot < 0 ? undefined : this.#table.value(slot);
  }
  // #endregion get

  /** The value of `key` decoded as UTF-8, or undefined when absent. */
  getString(key: BytesInput): string | undefined {
    return this.get(key)?.toString('utf8');
  }

  has(key: BytesInput): boolean {
    return this.#table.find(typeof key === 'string' ? Buffer.from(key, 'utf8') : key) >= 0;
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
      const slot = this.#table.findString(key);
      assert(slot >= 0, 'every key in the tree is in the table');
      out.push([fromBinaryString(key), this.#table.value(slot)]);
    };
    const keys = this.#sortedKeys();
    if (options.reverse) {
      for (const [key] of keys.entriesReversed(high, undefined, high !== undefined)) {
        if (key < low || out.length >= limit) break;
        emit(key);
      }
    } else {
      for (const key of keys.keys(low)) {
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
    for (const key of this.#sortedKeys().keys()) {
      const value = this.#table.value(this.#table.findString(key));
      header.writeUInt32LE(key.length, 0);
      header.writeUInt32LE(value.length, 4);
      crc = crc32c(header, crc);
      crc = crc32c(Buffer.from(key, 'latin1'), crc);
      crc = crc32c(value, crc);
    }
    if (this.#sessions.clock > 0) {
      // Sessions are replicated state too; a store that never saw one keeps its phase-1 digest.
      const { clock, sessions } = this.#sessions.encode();
      crc = crc32c(clock, crc);
      for (const body of sessions) crc = crc32c(body, crc);
    }
    return `${this.size}:${crc.toString(16).padStart(8, '0')}`;
  }

  // ---- writes: the convenience API throws DistkvError ----------------------

  put(key: BytesInput, value: BytesInput): void {
    this.#put(this.#key(key), this.#value(value), 'always', false);
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
    return this.#cas(
      this.#key(key),
      expected === null ? null : this.#value(expected),
      value === null ? null : this.#value(value),
    );
  }

  /** Adds `delta` to the integer at `key` (absent is 0) and returns the new value. */
  incrBy(key: BytesInput, delta: bigint | number): bigint {
    return this.#incrBy(this.#key(key), BigInt(delta));
  }

  /** Sets every entry, or none when any of them breaks a limit. */
  mput(entries: Iterable<readonly [BytesInput, BytesInput]>): number {
    const converted: Array<[Buffer, Buffer]> = [];
    for (const [key, value] of entries) {
      if (converted.length >= this.limits.batchKeysMax)
        this.#fail('BATCH_TOO_LARGE', `more than ${this.limits.batchKeysMax} keys`);
      converted.push([this.#key(key), this.#value(value)]);
    }
    return this.#mput(converted);
  }

  /** Removes every key; returns how many there were. */
  clear(): number {
    const deleted = this.#table.size;
    // Open snapshots keep the old table and tree; new writes go to fresh ones.
    this.#table = new ArenaTable();
    this.#keys = newKeyTree();
    this.#pending = [];
    this.#pendingStale = false;
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
    if (command.op === 'openSession') return { ok: true, op: 'openSession', session: this.#sessions.open() };
    if (command.op === 'session') {
      const { session, seq, command: inner } = command;
      if (!isSessionNumber(session) || !isSessionNumber(seq) || inner.op === 'session' || inner.op === 'openSession') {
        return {
          ok: false,
          op: 'session',
          code: 'SESSION_INVALID',
          message: 'SESSION_INVALID: build session commands with commands.session',
        };
      }
      return this.#sessions.apply(session, seq, inner, (c) => this.#applyWrite(c));
    }
    return this.#applyWrite(command);
  }
  // #endregion apply

  #applyWrite(command: Command): CommandResult {
    try {
      switch (command.op) {
        case 'put': {
          const r = this.#put(this.#key(command.key), this.#value(command.value), command.when, command.returnPrevious);
          return { ok: true, op: 'put', written: r.written, previous: command.returnPrevious ? r.previous : undefined };
        }
        case 'del': {
          if (command.keys.length > this.limits.batchKeysMax)
            this.#fail('BATCH_TOO_LARGE', `more than ${this.limits.batchKeysMax} keys`);
          const keys = command.keys.map((k) => this.#key(k));
          if (command.returnPrevious === true) {
            assert(keys.length === 1, 'a del that returns the previous value has one key');
            const previous = this.get(keys[0] as Buffer) ?? null;
            return { ok: true, op: 'del', deleted: this.#del(keys[0] as Buffer) ? 1 : 0, previous };
          }
          let deleted = 0;
          for (const key of keys) if (this.#del(key)) deleted++;
          return { ok: true, op: 'del', deleted };
        }
        case 'cas': {
          const r = this.#cas(
            this.#key(command.key),
            command.expected === null ? null : this.#value(command.expected),
            command.value === null ? null : this.#value(command.value),
          );
          return { ok: true, op: 'cas', ...r };
        }
        case 'mput': {
          if (command.entries.length > this.limits.batchKeysMax)
            this.#fail('BATCH_TOO_LARGE', `more than ${this.limits.batchKeysMax} keys`);
          const entries = command.entries.map(([k, v]): [Buffer, Buffer] => [this.#key(k), this.#value(v)]);
          if (command.ifNoneExist === true && entries.some(([k]) => this.#table.find(k) >= 0))
            return { ok: true, op: 'mput', written: 0 };
          return { ok: true, op: 'mput', written: this.#mput(entries) };
        }
        case 'incrByFloat':
          return { ok: true, op: 'incrByFloat', value: this.#incrByFloat(this.#key(command.key), Buffer.from(command.delta)) };
        case 'append': {
          const value = toBuffer(command.value);
          return { ok: true, op: 'append', length: this.#setRange(this.#key(command.key), undefined, value) };
        }
        case 'setRange': {
          const value = toBuffer(command.value);
          return { ok: true, op: 'setRange', length: this.#setRange(this.#key(command.key), command.offset, value) };
        }
        case 'rename':
          return { ok: true, op: 'rename', renamed: this.#rename(this.#key(command.key), this.#key(command.target), command.nx) };
        case 'copy':
          return { ok: true, op: 'copy', copied: this.#copy(this.#key(command.key), this.#key(command.target), command.replace) };
        case 'incrBy':
          return { ok: true, op: 'incrBy', value: this.#incrBy(this.#key(command.key), command.delta) };
        case 'clear':
          return { ok: true, op: 'clear', deleted: this.clear() };
        case 'openSession':
        case 'session':
          assert(false, 'apply() handles session commands before #applyWrite');
      }
    } catch (err) {
      if (err instanceof DistkvError) return { ok: false, op: command.op, code: err.code, message: err.message };
      throw err;
    }
  }

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
      table: this.#table,
      keys: this.#sortedKeys().clone(),
      size: this.#table.size,
      shadow: new Map(),
      closed: false,
      sessions: this.#sessions.clock === 0 ? undefined : this.#sessions.encode(),
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
    const table = new ArenaTable();
    const sorted: string[] = [];
    let dataBytes = 0;
    const sessions = new SessionTable(this.limits);
    const result = await restoreInto(source, this.limits, sessions, (binaryKey, key, value) => {
      if (table.size >= this.limits.keysMax) this.#fail('STORE_FULL', `snapshot holds more than ${this.limits.keysMax} keys`);
      const size = key.length + value.length;
      if (dataBytes + size > this.limits.dataBytesMax)
        this.#fail('STORE_FULL', `snapshot holds more than ${this.limits.dataBytesMax} bytes`);
      // The decoder checks that keys strictly ascend, so each key is new and
      // the tree can be built bottom-up in one pass.
      table.set(-1, key, value);
      sorted.push(binaryKey);
      dataBytes += size;
    });
    this.#table = table;
    this.#keys =
      sorted.length === 0 ? newKeyTree() : bulkLoad(sorted, new Array<undefined>(sorted.length), TREE_NODE_KEYS, compareBinary);
    this.#pending = [];
    this.#pendingStale = false;
    this.#dataBytes = dataBytes;
    this.#sessions = sessions;
    return result;
  }

  // ---- internals: validated bytes in, DistkvError thrown -------------------

  // #region sorted-keys
  /**
   * The key tree, brought up to date. New keys are not inserted into the
   * tree when they are written — that costs ~2 µs each at a million keys,
   * mostly cache misses on the strings compared along the way — but
   * collected in #pending, and merged here on the first ordered read
   * (scan, snapshot, digest). A few pending keys are inserted one by one;
   * many are sorted natively (one-byte strings sort bytewise) and the tree
   * is rebuilt bottom-up in one pass. If a key was deleted meanwhile, keys
   * deleted or added twice are dropped by checking the table.
   */
  #sortedKeys(): KeyTree {
    if (this.#pending.length === 0) return this.#keys;
    const pending = this.#pending;
    this.#pending = [];
    pending.sort();
    let fresh = pending;
    if (this.#pendingStale) {
      // Without deletes every pending key is live and appears once; with them, check.
      fresh = [];
      for (const key of pending) {
        if (key !== fresh[fresh.length - 1] && this.#table.findString(key) >= 0) fresh.push(key);
      }
      this.#pendingStale = false;
    }
    if (fresh.length * 8 < this.#keys.size) {
      for (const key of fresh) this.#keys.set(key, undefined);
      return this.#keys;
    }
    // Merge the tree's keys and the fresh ones into one sorted array.
    const all: string[] = [];
    let i = 0;
    for (const key of this.#keys.keys()) {
      while (i < fresh.length && (fresh[i] as string) < key) all.push(fresh[i++] as string);
      assert(fresh[i] !== key, 'a pending key is not already in the tree');
      all.push(key);
    }
    while (i < fresh.length) all.push(fresh[i++] as string);
    this.#keys = bulkLoad(all, new Array<undefined>(all.length), TREE_NODE_KEYS, compareBinary);
    return this.#keys;
  }
  // #endregion sorted-keys

  #fail(code: CoreErrorCode, message: string): never {
    throw coreError(code, message);
  }

  #key(key: BytesInput): Buffer {
    const bytes = toBuffer(key);
    if (bytes.length > this.limits.keyBytesMax) {
      this.#fail('KEY_TOO_LARGE', `key of ${bytes.length} bytes exceeds keyBytesMax ${this.limits.keyBytesMax}`);
    }
    return bytes;
  }

  #value(value: BytesInput): Buffer {
    const bytes = toBuffer(value);
    if (bytes.length > this.limits.valueBytesMax) {
      this.#fail('VALUE_TOO_LARGE', `value of ${bytes.length} bytes exceeds valueBytesMax ${this.limits.valueBytesMax}`);
    }
    return bytes;
  }

  /** Saves the pre-change value of `key` (in `slot`, -1 if absent) for every snapshot still streaming. */
  #beforeChange(key: Buffer, slot: number): void {
    let binary: string | undefined;
    for (const view of this.#views) {
      if (view.closed || view.table !== this.#table) continue;
      binary ??= key.toString('latin1');
      if (!view.shadow.has(binary)) view.shadow.set(binary, slot < 0 ? null : this.#table.value(slot));
    }
  }

  // #region put
  #put(key: Buffer, value: Buffer, when: PutCondition, wantPrevious: boolean): { written: boolean; previous: Buffer | null } {
    const table = this.#table;
    const slot = table.find(key);
    const previous = wantPrevious && slot >= 0 ? table.value(slot) : null;
    if (when === 'ifAbsent' && slot >= 0) return { written: false, previous };
    if (when === 'ifPresent' && slot < 0) return { written: false, previous };
    const growth = slot < 0 ? key.length + value.length : value.length - table.valueLength(slot);
    if (slot < 0 && table.size >= this.limits.keysMax) {
      this.#fail('STORE_FULL', `the store holds limits.keysMax = ${this.limits.keysMax} keys`);
    }
    if (this.#dataBytes + growth > this.limits.dataBytesMax) {
      this.#fail('STORE_FULL', `the store holds limits.dataBytesMax = ${this.limits.dataBytesMax} bytes`);
    }
    if (this.#views.length !== 0) this.#beforeChange(key, slot);
    table.set(slot, key, value);
    if (slot < 0) this.#pending.push(key.toString('latin1'));
    this.#dataBytes += growth;
    return { written: true, previous };
  }
  // #endregion put

  #del(key: Buffer): boolean {
    const slot = this.#table.find(key);
    if (slot < 0) return false;
    if (this.#views.length !== 0) this.#beforeChange(key, slot);
    this.#dataBytes -= key.length + this.#table.valueLength(slot);
    this.#table.delete(slot);
    this.#keys.delete(key.toString('latin1'));
    if (this.#pending.length !== 0) this.#pendingStale = true;
    return true;
  }

  #cas(key: Buffer, expected: Buffer | null, value: Buffer | null): { swapped: boolean; previous: Buffer | null } {
    const slot = this.#table.find(key);
    const previous = slot < 0 ? null : this.#table.value(slot);
    const matches = expected === null ? slot < 0 : slot >= 0 && this.#table.valueEquals(slot, expected);
    if (!matches) return { swapped: false, previous };
    if (value === null) this.#del(key);
    else this.#put(key, value, 'always', false);
    return { swapped: true, previous };
  }

  #incrBy(key: Buffer, delta: bigint): bigint {
    if (delta < INT64_MIN || delta > INT64_MAX)
      this.#fail('INTEGER_OVERFLOW', 'the increment is outside the signed 64-bit range');
    const slot = this.#table.find(key);
    let current = 0n;
    if (slot >= 0) {
      const text = this.#table.valueLatin1(slot);
      if (!INT64_TEXT.test(text)) this.#fail('NOT_INTEGER', 'value is not an integer or out of range');
      current = BigInt(text);
      if (current < INT64_MIN || current > INT64_MAX) this.#fail('NOT_INTEGER', 'value is not an integer or out of range');
    }
    const next = current + delta;
    if (next < INT64_MIN || next > INT64_MAX) this.#fail('INTEGER_OVERFLOW', 'increment or decrement would overflow');
    this.#put(key, Buffer.from(next.toString(), 'latin1'), 'always', false);
    return next;
  }

  #incrByFloat(key: Buffer, deltaText: Buffer): Buffer {
    const delta = deltaText.length > FLOAT_TEXT_BYTES_MAX ? undefined : parseLongDouble(deltaText.toString('latin1'));
    const slot = this.#table.find(key);
    let current = parseLongDouble('0');
    if (slot >= 0) {
      const length = this.#table.valueLength(slot);
      current = length > FLOAT_TEXT_BYTES_MAX ? undefined : parseLongDouble(this.#table.valueLatin1(slot));
    }
    if (current === undefined || delta === undefined) this.#fail('NOT_FLOAT', 'value is not a valid float');
    const next = addLongDouble(current, delta);
    if (next === undefined || !isFiniteLongDouble(next))
      this.#fail('FLOAT_NOT_FINITE', 'increment would produce NaN or Infinity');
    const text = Buffer.from(formatLongDouble(next), 'latin1');
    this.#put(key, this.#value(text), 'always', false);
    return text;
  }

  /**
   * Writes `value` into the value of `key` at `offset` (undefined: at its
   * end, APPEND), zero-padding the gap, and returns the new length. The
   * length is checked against valueBytesMax before anything is allocated.
   * Redis's SETRANGE with an empty value changes nothing, not even an
   * absent key; APPEND always creates the key.
   */
  #setRange(key: Buffer, offset: number | undefined, value: Buffer): number {
    const slot = this.#table.find(key);
    const length = slot < 0 ? 0 : this.#table.valueLength(slot);
    if (offset !== undefined && value.length === 0) return length;
    const at = offset ?? length;
    const end = at + value.length;
    if (end > this.limits.valueBytesMax)
      this.#fail(
        'VALUE_TOO_LARGE',
        `string exceeds maximum allowed size (proto-max-bulk-len): ${end} bytes > valueBytesMax ${this.limits.valueBytesMax}`,
      );
    const next = Buffer.alloc(Math.max(length, end));
    if (slot >= 0) this.#table.value(slot).copy(next);
    next.set(value, at);
    this.#put(key, next, 'always', false);
    return next.length;
  }

  #rename(key: Buffer, target: Buffer, nx: boolean): boolean {
    const slot = this.#table.find(key);
    if (slot < 0) this.#fail('NO_SUCH_KEY', 'no such key');
    if (key.equals(target)) return !nx;
    const targetSlot = this.#table.find(target);
    if (nx && targetSlot >= 0) return false;
    const value = this.#table.value(slot);
    // The final size, checked before the first change, so a refusal leaves the store as it was.
    const removed = key.length + value.length + (targetSlot < 0 ? 0 : target.length + this.#table.valueLength(targetSlot));
    if (this.#dataBytes - removed + target.length + value.length > this.limits.dataBytesMax)
      this.#fail('STORE_FULL', `the store would exceed limits.dataBytesMax = ${this.limits.dataBytesMax} bytes`);
    // Deleting first frees the key count that the target may need.
    this.#del(key);
    this.#put(target, value, 'always', false);
    return true;
  }

  #copy(key: Buffer, target: Buffer, replace: boolean): boolean {
    if (key.equals(target)) this.#fail('SAME_KEY', 'source and destination objects are the same');
    const slot = this.#table.find(key);
    if (slot < 0) return false;
    if (!replace && this.#table.find(target) >= 0) return false;
    this.#put(target, this.#table.value(slot), 'always', false);
    return true;
  }

  #mput(entries: Array<[Buffer, Buffer]>): number {
    // Check every limit before the first write, so that MPUT is all or nothing.
    // A key given twice keeps its last value, as if the puts ran in order.
    const last = new Map<string, [Buffer, Buffer]>();
    for (const entry of entries) last.set(entry[0].toString('latin1'), entry);
    let newKeys = 0;
    let growth = 0;
    for (const [key, value] of last.values()) {
      const slot = this.#table.find(key);
      if (slot < 0) newKeys++;
      growth += slot < 0 ? key.length + value.length : value.length - this.#table.valueLength(slot);
    }
    if (this.#table.size + newKeys > this.limits.keysMax) {
      this.#fail('STORE_FULL', `the store would exceed limits.keysMax = ${this.limits.keysMax} keys`);
    }
    if (this.#dataBytes + growth > this.limits.dataBytesMax) {
      this.#fail('STORE_FULL', `the store would exceed limits.dataBytesMax = ${this.limits.dataBytesMax} bytes`);
    }
    for (const [key, value] of last.values()) this.#put(key, value, 'always', false);
    return entries.length;
  }
}
