import { assert } from './assert.js';
import type { Command, CommandResult } from './command.js';
import { type CoreErrorCode, coreError, coreErrorCodes } from './errors.js';
import { type StoreLimits, sessionBytesMax } from './limits.js';

/**
 * Client sessions, the Raft dissertation's §6.3: "each server maintains a
 * session for each client. The session tracks the latest serial number
 * processed for the client, along with the associated response. If a server
 * receives a command whose serial number has already been executed, it
 * responds immediately without re-executing the request."
 *
 * The table is part of the state machine: it changes only in `apply`, the
 * same way on every node, and travels in snapshots. Everything about it is
 * deterministic — ids come from a counter of session commands, and eviction
 * follows the order of use — so replicas never disagree on whether a retry
 * is a duplicate.
 *
 * - `openSession` registers a session; its id is the counter's value, so
 *   ids are never reused, even after eviction. An unknown id is therefore
 *   always an expired (or made-up) session: a clear SESSION_EXPIRED, never
 *   a silent second apply.
 * - A session keeps the results of its last `sessionResultsMax` sequence
 *   numbers, so a client may pipeline that many numbered writes. When one
 *   more arrives, the lowest is forgotten and every number at or below it
 *   becomes SESSION_SEQ_TOO_OLD: the table can no longer tell whether it
 *   was applied.
 * - At most `sessionsMax` sessions: opening one more evicts the least
 *   recently used (the first in the map's order, which is the order of use).
 * - At most `sessionTableBytesMax` bytes, counted exactly as a snapshot
 *   encodes the table: a kept result or a new session that crosses it
 *   evicts the least recently used sessions until the table fits again.
 *   The bound holds at least one full session, so the one in use is never
 *   evicted by its own result. An evicted session answers SESSION_EXPIRED,
 *   as one evicted by count does.
 */

// #region session-table
interface Session {
  /** Results by sequence number, at most limits.sessionResultsMax. */
  results: Map<number, CommandResult>;
  /** Sequence numbers below this were forgotten: their outcome is unknown. */
  floor: number;
  /** This session's snapshot block length: SESSION_HEAD_BYTES + per result RESULT_HEAD_BYTES + its encoding. */
  bytes: number;
}

const SESSION_HEAD_BYTES = 20;
const RESULT_HEAD_BYTES = 12;

export class SessionTable {
  readonly #limits: Readonly<StoreLimits>;
  /** Session commands applied so far; the last one opened has id = clock. */
  #clock = 0;
  /** By id, least recently used first (a use moves a session to the end). */
  #sessions = new Map<number, Session>();
  /** The sum of every session's bytes, at most limits.sessionTableBytesMax between commands. */
  #bytes = 0;
  // #endregion session-table

  constructor(limits: Readonly<StoreLimits>) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get clock(): number {
    return this.#clock;
  }

  /** Bytes held, as a snapshot encodes the table. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Registers a new session and returns its id (the dissertation's RegisterClient). */
  open(): number {
    this.#clock++;
    const id = this.#clock;
    this.#sessions.set(id, { results: new Map(), floor: 1, bytes: SESSION_HEAD_BYTES });
    this.#bytes += SESSION_HEAD_BYTES;
    this.#evict();
    return id;
  }

  /** Drops the least recently used sessions until both bounds hold; the last one (in use) always fits. */
  #evict(): void {
    while (this.#sessions.size > this.#limits.sessionsMax || this.#bytes > this.#limits.sessionTableBytesMax) {
      assert(this.#sessions.size > 1, 'one session alone fits in both bounds (resolveLimits checks sessionTableBytesMax)');
      const lru = this.#sessions.entries().next();
      assert(lru.done !== true, 'a table above its maximum has a first session');
      this.#sessions.delete(lru.value[0]);
      this.#bytes -= lru.value[1].bytes;
    }
  }

  // #region session-apply
  /**
   * Applies `command` for (`id`, `seq`) at most once: a number already
   * applied returns the result it had, without running `run` again.
   */
  apply(id: number, seq: number, command: Command, run: (command: Command) => CommandResult): CommandResult {
    this.#clock++;
    const session = this.#sessions.get(id);
    if (session === undefined) {
      return failure(
        'SESSION_EXPIRED',
        `session ${id} is unknown: it expired or never existed. This write was not applied; whether an earlier try of it was is unknown. Open a new session.`,
      );
    }
    this.#sessions.delete(id); // the most recently used goes last
    this.#sessions.set(id, session);
    const done = session.results.get(seq);
    if (done !== undefined) return done;
    if (seq < session.floor) {
      return failure(
        'SESSION_SEQ_TOO_OLD',
        `sequence number ${seq} of session ${id} is below ${session.floor}, the oldest whose result is kept. This write was not applied; whether an earlier try of it was is unknown.`,
      );
    }
    const result = run(command);
    const kept =
      resultBytes(result) <= this.#limits.sessionResultBytesMax
        ? result
        : failure(
            'SESSION_RESULT_TOO_LARGE',
            `sequence number ${seq} of session ${id} was applied once; its result exceeded sessionResultBytesMax = ${this.#limits.sessionResultBytesMax} and was not kept`,
          );
    session.results.set(seq, kept);
    this.#resize(session, RESULT_HEAD_BYTES + resultBytes(kept));
    if (session.results.size > this.#limits.sessionResultsMax) {
      let lowest = seq;
      for (const s of session.results.keys()) if (s < lowest) lowest = s;
      const forgotten = session.results.get(lowest);
      assert(forgotten !== undefined, 'the lowest kept number has a result');
      session.results.delete(lowest);
      this.#resize(session, -(RESULT_HEAD_BYTES + resultBytes(forgotten)));
      if (lowest + 1 > session.floor) session.floor = lowest + 1;
    }
    this.#evict();
    return result;
  }
  // #endregion session-apply

  #resize(session: Session, delta: number): void {
    session.bytes += delta;
    this.#bytes += delta;
  }

  /**
   * The table as snapshot block bodies: the clock first, then one body per
   * session in order of use. Taken eagerly: it is bounded by the limits.
   */
  encode(): { clock: Buffer; sessions: Buffer[] } {
    const clock = Buffer.alloc(8);
    clock.writeBigUInt64LE(BigInt(this.#clock));
    const sessions: Buffer[] = [];
    for (const [id, s] of this.#sessions) {
      const parts: Buffer[] = [];
      const head = Buffer.alloc(20);
      head.writeBigUInt64LE(BigInt(id), 0);
      head.writeBigUInt64LE(BigInt(s.floor), 8);
      head.writeUInt32LE(s.results.size, 16);
      parts.push(head);
      for (const [seq, result] of s.results) {
        const json = encodeResult(result);
        const h = Buffer.alloc(12);
        h.writeBigUInt64LE(BigInt(seq), 0);
        h.writeUInt32LE(json.length, 8);
        parts.push(h, json);
      }
      sessions.push(Buffer.concat(parts));
    }
    return { clock, sessions };
  }

  /** The largest body `encode` can produce for one session under these limits. */
  static sessionBytesMax(limits: Readonly<StoreLimits>): number {
    return sessionBytesMax(limits);
  }

  setClock(body: Buffer): void {
    if (body.length !== 8) throw corrupt('the session clock block has the wrong size');
    this.#clock = safeU64(body, 0, 'session clock');
  }

  /** Adds one session decoded from a snapshot block; sessions arrive in order of use. */
  addEncoded(body: Buffer): void {
    if (body.length < 20) throw corrupt('a session block is cut short');
    const id = safeU64(body, 0, 'session id');
    const floor = safeU64(body, 8, 'session floor');
    const count = body.readUInt32LE(16);
    if (id < 1 || id > this.#clock) throw corrupt(`session id ${id} is not below the clock ${this.#clock}`);
    if (this.#sessions.has(id)) throw corrupt(`session ${id} appears twice`);
    if (floor < 1) throw corrupt(`session ${id} has floor 0`);
    if (count > this.#limits.sessionResultsMax) throw corrupt(`session ${id} keeps ${count} results, above sessionResultsMax`);
    if (this.#sessions.size >= this.#limits.sessionsMax)
      throw corrupt(`more than sessionsMax = ${this.#limits.sessionsMax} sessions`);
    if (this.#bytes + body.length > this.#limits.sessionTableBytesMax)
      throw corrupt(`the sessions hold more than sessionTableBytesMax = ${this.#limits.sessionTableBytesMax} bytes`);
    const results = new Map<number, CommandResult>();
    let at = 20;
    for (let i = 0; i < count; i++) {
      if (body.length - at < 12) throw corrupt(`session ${id}: a result header is cut short`);
      const seq = safeU64(body, at, 'sequence number');
      const length = body.readUInt32LE(at + 8);
      at += 12;
      if (length > body.length - at) throw corrupt(`session ${id}: a result runs past its block`);
      if (seq < floor || results.has(seq)) throw corrupt(`session ${id}: sequence number ${seq} is below its floor or repeated`);
      results.set(seq, decodeResult(body.subarray(at, at + length)));
      at += length;
    }
    if (at !== body.length) throw corrupt(`session ${id}: ${body.length - at} bytes left over`);
    // Counted as encode() will write it again, so that forgetting a result later subtracts what was added.
    let bytes = SESSION_HEAD_BYTES;
    for (const result of results.values()) bytes += RESULT_HEAD_BYTES + resultBytes(result);
    this.#sessions.set(id, { results, floor, bytes });
    this.#bytes += bytes;
  }
}

function failure(code: CoreErrorCode, message: string): CommandResult {
  return { ok: false, op: 'session', code, message: `${code}: ${message}` };
}

function corrupt(why: string): Error {
  return coreError('SNAPSHOT_CORRUPT', why);
}

function safeU64(body: Buffer, at: number, what: string): number {
  const v = body.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} ${v} is above 2^53`);
  return Number(v);
}

// #region result-codec
/**
 * A result as bytes, for snapshots: JSON of its flat fields, Buffers as
 * `{"b": base64}` and bigints as `{"n": decimal}`. Results are small and
 * rare next to entries, so plain JSON is enough; the decoder checks the shape.
 */
export function encodeResult(result: CommandResult): Buffer {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) {
    if (Buffer.isBuffer(v)) out[k] = { b: v.toString('base64') };
    else if (typeof v === 'bigint') out[k] = { n: v.toString() };
    else if (v !== undefined) out[k] = v;
  }
  return Buffer.from(JSON.stringify(out), 'utf8');
}
// #endregion result-codec

const resultFields: Record<string, Record<string, 'boolean' | 'number' | 'bytes' | 'bytes?' | 'bigint' | 'string'>> = {
  put: { written: 'boolean', previous: 'bytes?' },
  del: { deleted: 'number', previous: 'bytes?' },
  cas: { swapped: 'boolean', previous: 'bytes?' },
  mput: { written: 'number' },
  incrBy: { value: 'bigint' },
  clear: { deleted: 'number' },
  incrByFloat: { value: 'bytes' },
  append: { length: 'number' },
  setRange: { length: 'number' },
  rename: { renamed: 'boolean' },
  copy: { copied: 'boolean' },
};

export function decodeResult(bytes: Buffer): CommandResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('a kept result is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw corrupt('a kept result is not an object');
  const o = parsed as Record<string, unknown>;
  if (o.ok === false) {
    if (typeof o.op !== 'string' || typeof o.code !== 'string' || typeof o.message !== 'string')
      throw corrupt('a kept error result lacks op, code or message');
    return { ok: false, op: o.op as Command['op'], code: o.code, message: o.message };
  }
  const fields = typeof o.op === 'string' && o.ok === true ? resultFields[o.op] : undefined;
  if (fields === undefined) throw corrupt(`a kept result has op ${String(o.op)}`);
  const out: Record<string, unknown> = { ok: true, op: o.op };
  for (const [name, kind] of Object.entries(fields)) {
    const v = o[name];
    if (kind === 'bytes?' || kind === 'bytes') {
      if (v === undefined && kind === 'bytes?') continue;
      if (v === null && kind === 'bytes?') out[name] = null;
      else if (typeof v === 'object' && typeof (v as { b?: unknown }).b === 'string')
        out[name] = Buffer.from((v as { b: string }).b, 'base64');
      else throw corrupt(`a kept result's ${name} is not bytes`);
    } else if (kind === 'bigint') {
      const n = typeof v === 'object' && v !== null ? (v as { n?: unknown }).n : undefined;
      if (typeof n !== 'string' || !/^-?[0-9]{1,20}$/.test(n)) throw corrupt(`a kept result's ${name} is not an integer`);
      out[name] = BigInt(n);
    } else {
      if (typeof v !== kind) throw corrupt(`a kept result's ${name} is not a ${kind}`);
      out[name] = v;
    }
  }
  if (o.op === 'put' && !('previous' in out)) out.previous = undefined;
  return out as unknown as CommandResult;
}

function resultBytes(result: CommandResult): number {
  // Exact for what is kept: the encoded form is what a snapshot holds.
  return encodeResult(result).length;
}

/** The codes a session command can answer with instead of its command's result. */
export const sessionErrorCodes = ['SESSION_EXPIRED', 'SESSION_SEQ_TOO_OLD', 'SESSION_RESULT_TOO_LARGE'] as const;
for (const code of sessionErrorCodes) assert(code in coreErrorCodes, `${code} is a core error code`);
