import { assert } from './assert.js';
import type { Command, PutCondition } from './command.js';
import { coreError } from './errors.js';
import { defaultStoreLimits, type StoreLimits } from './limits.js';

/**
 * The binary form of a command, version 1. This is what the WAL stores and
 * what replication ships; only core looks inside.
 *
 *   version u8 (= 1) | op u8 | fields
 *   put     flags u8 (bits 0-1: 0 always, 1 ifAbsent, 2 ifPresent; bit 2: returnPrevious) | bytes key | bytes value
 *   del     count u32 | bytes key * count
 *   cas     key | has-expected u8 | [expected] | has-value u8 | [value]
 *   mput    count u32 | (key, value) * count
 *   incrBy  key | delta i64
 *   clear   (nothing)
 *   openSession  (nothing)
 *   session session-id u64 | seq u64 | bytes (the wrapped command, encoded whole; never itself a session command)
 *   incrByFloat  key | bytes delta (its text; the store refuses one that is not a float)
 *   append  key | value
 *   setRange  key | offset u64 (at most 2^53 - 1) | value
 *   rename  flags u8 (bit 0: nx) | key | target key
 *   copy    flags u8 (bit 0: replace) | key | target key
 *   getDel  key                (a del of one key with returnPrevious)
 *   mputIfNoneExist  as mput  (an mput with ifNoneExist)
 *
 * Ops 9-15 came after the first release. They only add tags: a command
 * that existed before encodes to the same bytes as before (a del or mput
 * without the new flag keeps tag 2 or 4), so every log and snapshot
 * written earlier decodes unchanged, and an older build that meets a new
 * tag refuses it as COMMAND_CORRUPT instead of applying something else.
 *
 * where `bytes` is length u32 | data, little-endian. Decoding checks every
 * length against the input and the limits, and that nothing is left over.
 */
// #region codec-format
export const COMMAND_FORMAT_VERSION = 1;
const OpCode = {
  put: 1,
  del: 2,
  cas: 3,
  mput: 4,
  incrBy: 5,
  clear: 6,
  openSession: 7,
  session: 8,
  incrByFloat: 9,
  append: 10,
  setRange: 11,
  rename: 12,
  copy: 13,
  getDel: 14,
  mputIfNoneExist: 15,
} as const;
// #endregion codec-format

const conditions: readonly PutCondition[] = ['always', 'ifAbsent', 'ifPresent'];

function bytesSize(b: Uint8Array): number {
  return 4 + b.byteLength;
}

/** Exact encoded size, so encoding allocates once. */
function encodedSize(command: Command): number {
  switch (command.op) {
    case 'put':
      return 3 + bytesSize(command.key) + bytesSize(command.value);
    case 'del':
      if (command.returnPrevious === true) return 2 + bytesSize(command.keys[0] as Uint8Array);
      return 6 + command.keys.reduce((n, k) => n + bytesSize(k), 0);
    case 'cas':
      return (
        4 +
        bytesSize(command.key) +
        (command.expected === null ? 0 : bytesSize(command.expected)) +
        (command.value === null ? 0 : bytesSize(command.value))
      );
    case 'mput':
      return 6 + command.entries.reduce((n, [k, v]) => n + bytesSize(k) + bytesSize(v), 0);
    case 'incrBy':
      return 2 + bytesSize(command.key) + 8;
    case 'clear':
    case 'openSession':
      return 2;
    case 'session':
      return 2 + 16 + 4 + encodedSize(command.command);
    case 'incrByFloat':
      return 2 + bytesSize(command.key) + bytesSize(command.delta);
    case 'append':
      return 2 + bytesSize(command.key) + bytesSize(command.value);
    case 'setRange':
      return 2 + bytesSize(command.key) + 8 + bytesSize(command.value);
    case 'rename':
    case 'copy':
      return 3 + bytesSize(command.key) + bytesSize(command.target);
  }
}

class Writer {
  at = 0;
  constructor(readonly out: Buffer) {}
  u8(n: number): void {
    this.out[this.at++] = n;
  }
  u32(n: number): void {
    this.out.writeUInt32LE(n, this.at);
    this.at += 4;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.byteLength);
    this.out.set(b, this.at);
    this.at += b.byteLength;
  }
}

// #region encode
export function encodeCommand(command: Command): Buffer {
  const w = new Writer(Buffer.allocUnsafe(encodedSize(command)));
  w.u8(COMMAND_FORMAT_VERSION);
  w.u8(opCode(command));
  switch (command.op) {
    case 'put':
      w.u8(conditions.indexOf(command.when) | (command.returnPrevious ? 4 : 0));
      w.bytes(command.key);
      w.bytes(command.value);
      break;
    case 'del':
      if (command.returnPrevious === true) {
        assert(command.keys.length === 1, 'a del that returns the previous value has one key');
        w.bytes(command.keys[0] as Uint8Array);
        break;
      }
      w.u32(command.keys.length);
      for (const key of command.keys) w.bytes(key);
      break;
    case 'cas':
      w.bytes(command.key);
      w.u8(command.expected === null ? 0 : 1);
      if (command.expected !== null) w.bytes(command.expected);
      w.u8(command.value === null ? 0 : 1);
      if (command.value !== null) w.bytes(command.value);
      break;
    case 'mput':
      w.u32(command.entries.length);
      for (const [key, value] of command.entries) {
        w.bytes(key);
        w.bytes(value);
      }
      break;
    case 'incrBy':
      w.bytes(command.key);
      w.out.writeBigInt64LE(command.delta, w.at);
      w.at += 8;
      break;
    case 'clear':
    case 'openSession':
      break;
    case 'session': {
      assert(command.command.op !== 'session' && command.command.op !== 'openSession', 'a session command wraps a plain write');
      w.out.writeBigUInt64LE(BigInt(command.session), w.at);
      w.out.writeBigUInt64LE(BigInt(command.seq), w.at + 8);
      w.at += 16;
      w.bytes(encodeCommand(command.command));
      break;
    }
    case 'incrByFloat':
      w.bytes(command.key);
      w.bytes(command.delta);
      break;
    case 'append':
      w.bytes(command.key);
      w.bytes(command.value);
      break;
    case 'setRange':
      assert(Number.isSafeInteger(command.offset) && command.offset >= 0, 'a setRange offset is a non-negative safe integer');
      w.bytes(command.key);
      w.out.writeBigUInt64LE(BigInt(command.offset), w.at);
      w.at += 8;
      w.bytes(command.value);
      break;
    case 'rename':
    case 'copy':
      w.u8((command.op === 'rename' ? command.nx : command.replace) ? 1 : 0);
      w.bytes(command.key);
      w.bytes(command.target);
      break;
  }
  assert(w.at === w.out.length, 'the encoded size was computed exactly');
  return w.out;
}

/** The tag: a flag that changes what a del or mput means gets its own, so the old tags keep their old meaning. */
function opCode(command: Command): number {
  if (command.op === 'del' && command.returnPrevious === true) return OpCode.getDel;
  if (command.op === 'mput' && command.ifNoneExist === true) return OpCode.mputIfNoneExist;
  return OpCode[command.op];
}
// #endregion encode

class Reader {
  at = 0;
  constructor(
    readonly input: Buffer,
    readonly limits: Readonly<StoreLimits>,
  ) {}
  error(why: string): Error {
    return coreError('COMMAND_CORRUPT', `${why} at byte ${this.at} of ${this.input.length}`);
  }
  u8(): number {
    if (this.at + 1 > this.input.length) throw this.error('input ends inside a field');
    return this.input[this.at++] as number;
  }
  u32(): number {
    if (this.at + 4 > this.input.length) throw this.error('input ends inside a length');
    const n = this.input.readUInt32LE(this.at);
    this.at += 4;
    return n;
  }
  bytes(max: number, what: string): Buffer {
    const length = this.u32();
    if (length > max) throw this.error(`${what} of ${length} bytes exceeds the limit ${max}`);
    if (this.at + length > this.input.length) throw this.error(`${what} of ${length} bytes runs past the input`);
    const out = this.input.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
  key(): Buffer {
    return this.bytes(this.limits.keyBytesMax, 'key');
  }
  value(): Buffer {
    return this.bytes(this.limits.valueBytesMax, 'value');
  }
  count(): number {
    const n = this.u32();
    if (n > this.limits.batchKeysMax) throw this.error(`count ${n} exceeds batchKeysMax ${this.limits.batchKeysMax}`);
    // Each element needs at least 4 bytes, so a count the input cannot hold is rejected before any allocation.
    if (n * 4 > this.input.length - this.at) throw this.error(`count ${n} cannot fit in the input`);
    return n;
  }
  sessionNumber(what: string): number {
    if (this.at + 8 > this.input.length) throw this.error(`input ends inside the ${what}`);
    const v = this.input.readBigUInt64LE(this.at);
    this.at += 8;
    if (v < 1n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(`${what} ${v} is not from 1 to 2^53 - 1`);
    return Number(v);
  }
  offset(): number {
    if (this.at + 8 > this.input.length) throw this.error('input ends inside the offset');
    const v = this.input.readBigUInt64LE(this.at);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(`offset ${v} is above 2^53 - 1`);
    return Number(v);
  }
  flag(): boolean {
    const b = this.u8();
    if (b > 1) throw this.error(`flag byte ${b} is neither 0 nor 1`);
    return b === 1;
  }
}

// #region decode
/**
 * Decodes one command. Throws DistkvError COMMAND_CORRUPT (or
 * COMMAND_VERSION) for anything that is not exactly a valid encoding.
 * The returned keys and values are views into `input`: copy them if the
 * input buffer will be reused (the store copies on apply).
 */
export function decodeCommand(input: Uint8Array, limits: Readonly<StoreLimits> = defaultStoreLimits): Command {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const r = new Reader(buf, limits);
  const version = r.u8();
  if (version !== COMMAND_FORMAT_VERSION) {
    throw coreError('COMMAND_VERSION', `command format version ${version}; this build reads version ${COMMAND_FORMAT_VERSION}`);
  }
  const op = r.u8();
  let command: Command;
  switch (op) {
    case OpCode.put: {
      const flags = r.u8();
      const when = conditions[flags & 3];
      if (when === undefined || flags > 7) throw r.error(`put flags ${flags} are not valid`);
      command = { op: 'put', key: r.key(), value: r.value(), when, returnPrevious: (flags & 4) !== 0 };
      break;
    }
    case OpCode.del: {
      const n = r.count();
      const keys: Buffer[] = [];
      for (let i = 0; i < n; i++) keys.push(r.key());
      command = { op: 'del', keys };
      break;
    }
    case OpCode.cas: {
      const key = r.key();
      const expected = r.flag() ? r.value() : null;
      const value = r.flag() ? r.value() : null;
      command = { op: 'cas', key, expected, value };
      break;
    }
    case OpCode.mput:
    case OpCode.mputIfNoneExist: {
      const n = r.count();
      const entries: Array<readonly [Buffer, Buffer]> = [];
      for (let i = 0; i < n; i++) entries.push([r.key(), r.value()]);
      command = op === OpCode.mput ? { op: 'mput', entries } : { op: 'mput', entries, ifNoneExist: true };
      break;
    }
    case OpCode.getDel:
      command = { op: 'del', keys: [r.key()], returnPrevious: true };
      break;
    case OpCode.incrByFloat:
      // Any length decodes (the store refuses a delta longer than a float): a logged command must always read back.
      command = { op: 'incrByFloat', key: r.key(), delta: r.value() };
      break;
    case OpCode.append:
      command = { op: 'append', key: r.key(), value: r.value() };
      break;
    case OpCode.setRange: {
      const key = r.key();
      const offset = r.offset();
      command = { op: 'setRange', key, offset, value: r.value() };
      break;
    }
    case OpCode.rename:
    case OpCode.copy: {
      const flag = r.flag();
      const key = r.key();
      const target = r.key();
      command = op === OpCode.rename ? { op: 'rename', key, target, nx: flag } : { op: 'copy', key, target, replace: flag };
      break;
    }
    case OpCode.incrBy: {
      const key = r.key();
      if (r.at + 8 > buf.length) throw r.error('input ends inside the delta');
      const delta = buf.readBigInt64LE(r.at);
      r.at += 8;
      command = { op: 'incrBy', key, delta };
      break;
    }
    case OpCode.clear:
      command = { op: 'clear' };
      break;
    case OpCode.openSession:
      command = { op: 'openSession' };
      break;
    case OpCode.session: {
      const session = r.sessionNumber('session id');
      const seq = r.sessionNumber('sequence number');
      const inner = decodeCommand(r.bytes(buf.length, 'wrapped command'), limits);
      if (inner.op === 'session' || inner.op === 'openSession') throw r.error(`a session command wraps ${inner.op}`);
      command = { op: 'session', session, seq, command: inner };
      break;
    }
    default:
      throw r.error(`unknown op code ${op}`);
  }
  if (r.at !== buf.length) throw r.error(`${buf.length - r.at} bytes left over after the command`);
  return command;
}
// #endregion decode
