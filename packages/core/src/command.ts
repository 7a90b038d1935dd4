import { assert } from './assert.js';
import { type BytesInput, toBuffer } from './bytes.js';
import { coreError } from './errors.js';

/**
 * Every change to the store is a `Command`: a plain value that can be
 * encoded, logged, shipped to another node and applied there. Replication
 * only has to agree on the order of commands; `apply` does the rest, and it
 * is deterministic, so equal logs give equal stores.
 *
 * Reads are not commands: they change nothing and need not be logged.
 */
// #region command
export type Command =
  /** Set a value. `when` makes it conditional (Redis SET NX / XX). */
  | { op: 'put'; key: Uint8Array; value: Uint8Array; when: PutCondition; returnPrevious: boolean }
  /** Remove keys; the result counts the ones that existed. `returnPrevious` (one key: Redis GETDEL) also returns its value. */
  | { op: 'del'; keys: Uint8Array[]; returnPrevious?: boolean }
  /** Compare-and-set: if the current value equals `expected` (null: absent), set `value` (null: delete). */
  | { op: 'cas'; key: Uint8Array; expected: Uint8Array | null; value: Uint8Array | null }
  /** Set several keys atomically: all or nothing. `ifNoneExist` (Redis MSETNX): nothing when any key exists. */
  | { op: 'mput'; entries: Array<readonly [Uint8Array, Uint8Array]>; ifNoneExist?: boolean }
  /** Add to a base-10 integer value (absent counts as 0), like Redis INCRBY. */
  | { op: 'incrBy'; key: Uint8Array; delta: bigint }
  /** Add to a float value (absent counts as 0) with Redis's long-double rules (long-double.ts); `delta` is its text. */
  | { op: 'incrByFloat'; key: Uint8Array; delta: Uint8Array }
  /** Add bytes at the end of a value (absent counts as empty), like Redis APPEND. */
  | { op: 'append'; key: Uint8Array; value: Uint8Array }
  /** Overwrite bytes from `offset`, zero-padding a shorter value, like Redis SETRANGE. */
  | { op: 'setRange'; key: Uint8Array; offset: number; value: Uint8Array }
  /** Move a value to another key (Redis RENAME); `nx`: only when `target` is absent (RENAMENX). */
  | { op: 'rename'; key: Uint8Array; target: Uint8Array; nx: boolean }
  /** Copy a value to another key (Redis COPY); `replace`: overwrite `target` if it exists. */
  | { op: 'copy'; key: Uint8Array; target: Uint8Array; replace: boolean }
  /** Remove every key. */
  | { op: 'clear' }
  /** Register a client session (see session.ts); the result's `session` is its id. */
  | { op: 'openSession' }
  /** Apply `command` at most once for (`session`, `seq`): a repeat returns the first result. */
  | { op: 'session'; session: number; seq: number; command: Command };

export type PutCondition = 'always' | 'ifAbsent' | 'ifPresent';
// #endregion command

export type CommandOp = Command['op'];

// #region result
/** What `apply` returns. Operating errors are values, so a replica applies them identically. */
export type CommandResult =
  | { ok: true; op: 'put'; written: boolean; previous: Buffer | null | undefined }
  | { ok: true; op: 'del'; deleted: number; previous?: Buffer | null }
  | { ok: true; op: 'cas'; swapped: boolean; previous: Buffer | null }
  | { ok: true; op: 'mput'; written: number }
  | { ok: true; op: 'incrBy'; value: bigint }
  | { ok: true; op: 'incrByFloat'; value: Buffer }
  | { ok: true; op: 'append'; length: number }
  | { ok: true; op: 'setRange'; length: number }
  | { ok: true; op: 'rename'; renamed: boolean }
  | { ok: true; op: 'copy'; copied: boolean }
  | { ok: true; op: 'clear'; deleted: number }
  | { ok: true; op: 'openSession'; session: number }
  | { ok: false; op: CommandOp; code: string; message: string };
// #endregion result

/** The commands a `session` command may carry: every one that changes keys. */
export type SessionInnerOp = Exclude<CommandOp, 'openSession' | 'session'>;

/** Builders, so callers can write `commands.put('k', 'v')` with strings or bytes. */
export const commands = {
  put(key: BytesInput, value: BytesInput, options: { when?: PutCondition; returnPrevious?: boolean } = {}): Command {
    return {
      op: 'put',
      key: toBuffer(key),
      value: toBuffer(value),
      when: options.when ?? 'always',
      returnPrevious: options.returnPrevious ?? false,
    };
  },
  del(...keys: BytesInput[]): Command {
    return { op: 'del', keys: keys.map(toBuffer) };
  },
  /** Removes `key` and returns its value (Redis GETDEL). */
  getDel(key: BytesInput): Command {
    return { op: 'del', keys: [toBuffer(key)], returnPrevious: true };
  },
  cas(key: BytesInput, expected: BytesInput | null, value: BytesInput | null): Command {
    return {
      op: 'cas',
      key: toBuffer(key),
      expected: expected === null ? null : toBuffer(expected),
      value: value === null ? null : toBuffer(value),
    };
  },
  mput(entries: Iterable<readonly [BytesInput, BytesInput]>, options: { ifNoneExist?: boolean } = {}): Command {
    const list = Array.from(entries, ([k, v]) => [toBuffer(k), toBuffer(v)] as const);
    // Absent rather than false: a plain MSET is the same value (and the same bytes) as before the flag existed.
    return options.ifNoneExist === true ? { op: 'mput', entries: list, ifNoneExist: true } : { op: 'mput', entries: list };
  },
  incrByFloat(key: BytesInput, delta: BytesInput): Command {
    return { op: 'incrByFloat', key: toBuffer(key), delta: toBuffer(delta) };
  },
  append(key: BytesInput, value: BytesInput): Command {
    return { op: 'append', key: toBuffer(key), value: toBuffer(value) };
  },
  /** `offset` is an integer from 0 to 2^53 - 1; the store refuses one past limits.valueBytesMax. */
  setRange(key: BytesInput, offset: number, value: BytesInput): Command {
    assert(Number.isSafeInteger(offset) && offset >= 0, 'a SETRANGE offset is a non-negative safe integer');
    return { op: 'setRange', key: toBuffer(key), offset, value: toBuffer(value) };
  },
  rename(key: BytesInput, target: BytesInput, options: { nx?: boolean } = {}): Command {
    return { op: 'rename', key: toBuffer(key), target: toBuffer(target), nx: options.nx ?? false };
  },
  copy(key: BytesInput, target: BytesInput, options: { replace?: boolean } = {}): Command {
    return { op: 'copy', key: toBuffer(key), target: toBuffer(target), replace: options.replace ?? false };
  },
  incrBy(key: BytesInput, delta: bigint | number): Command {
    return { op: 'incrBy', key: toBuffer(key), delta: BigInt(delta) };
  },
  clear(): Command {
    return { op: 'clear' };
  },
  openSession(): Command {
    return { op: 'openSession' };
  },
  /** `command` as the write numbered `seq` of session `session` (ids and numbers are integers from 1 to 2^53 - 1). */
  session(session: number, seq: number, command: Command): Command {
    if (!isSessionNumber(session) || !isSessionNumber(seq)) {
      throw coreError('SESSION_INVALID', `session ${session} and sequence number ${seq} must be integers from 1 to 2^53 - 1`);
    }
    if (command.op === 'session' || command.op === 'openSession') {
      throw coreError('SESSION_INVALID', `a session command carries a plain write, not ${command.op}`);
    }
    return { op: 'session', session, seq, command };
  },
};

export function isSessionNumber(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}
