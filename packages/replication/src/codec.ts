/**
 * Messages as bytes, for the peer connections: a version, the fields, and a
 * CRC-32C of everything before it. Decoding trusts nothing: every length is
 * checked against the bytes present and the limits, entries must follow
 * prevIndex without gaps, the fields must make sense together
 * (`validateMessage`), and any flaw raises MESSAGE_CORRUPT.
 */
import { crc32c } from '@distkv/core';
import { replicationError } from './errors.js';
import { confStateProblem, decodeConfState, encodeConfState } from './membership.js';
import type { Entry, LogIndex, Message, MessageType, NodeId, SnapshotMeta, Term } from './types.js';

/** 2 (phase 5): vote, pre-vote, TimeoutNow and policy messages; heartbeats carry a round number. */
export const MESSAGE_FORMAT_VERSION = 2;
const NODE_ID_BYTES_MAX = 255;
/** Most bytes of a snapshot's members: 4 lists of at most 255 ids and addresses of at most 256 bytes each. */
const CONF_BYTES_MAX = 4 * 256 * 2 * 256;

const typeCodes: Record<MessageType, number> = {
  MsgApp: 1,
  MsgAppResp: 2,
  MsgHeartbeat: 3,
  MsgHeartbeatResp: 4,
  MsgSnap: 5,
  MsgSnapResp: 6,
  MsgVote: 7,
  MsgVoteResp: 8,
  MsgPreVote: 9,
  MsgPreVoteResp: 10,
  MsgTimeoutNow: 11,
  MsgPolicy: 12,
};
const typeNames = new Map(Object.entries(typeCodes).map(([name, code]) => [code, name as MessageType]));

class Writer {
  parts: Buffer[] = [];
  u8(v: number): void {
    this.parts.push(Buffer.of(v));
  }
  u32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
  }
  u64(v: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
  }
  bytes(v: Uint8Array): void {
    this.u32(v.byteLength);
    this.parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  id(v: string): void {
    const b = Buffer.from(v, 'utf8');
    if (b.length > NODE_ID_BYTES_MAX)
      throw replicationError('CONFIG_INVALID', `node id of ${b.length} bytes exceeds ${NODE_ID_BYTES_MAX}`);
    this.u8(b.length);
    this.parts.push(b);
  }
  finish(): Buffer {
    const body = Buffer.concat(this.parts);
    const out = Buffer.allocUnsafe(body.length + 4);
    body.copy(out);
    out.writeUInt32LE(crc32c(body), body.length);
    return out;
  }
}

class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number, what: string): void {
    if (this.buf.length - this.at < n) throw corrupt(`${what} cut short`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.at++] as number;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.at);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} ${v} is beyond 2^53`);
    return Number(v);
  }
  bytes(what: string, max: number): Buffer {
    const n = this.u32(`${what} length`);
    if (n > max) throw corrupt(`${what} of ${n} bytes exceeds ${max}`);
    this.need(n, what);
    const v = Buffer.from(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return v;
  }
  id(what: string): NodeId {
    const n = this.u8(`${what} length`);
    this.need(n, what);
    const v = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return v as NodeId;
  }
}

function corrupt(why: string): Error {
  return replicationError('MESSAGE_CORRUPT', why);
}

export function encodeMessage(m: Message): Buffer {
  const w = new Writer();
  w.u8(MESSAGE_FORMAT_VERSION);
  w.u8(typeCodes[m.type]);
  w.id(m.from);
  w.id(m.to);
  w.u64(m.term);
  switch (m.type) {
    case 'MsgApp':
      w.u64(m.prevIndex);
      w.u64(m.prevTerm);
      w.u64(m.commit);
      w.u32(m.entries.length);
      for (const e of m.entries) {
        w.u64(e.term);
        w.bytes(e.payload);
      }
      break;
    case 'MsgAppResp':
      w.u8(m.reject ? 1 : 0);
      w.u64(m.index);
      w.u64(m.hintIndex);
      w.u64(m.hintTerm);
      break;
    case 'MsgHeartbeat':
      w.u64(m.commit);
      w.u64(m.seq ?? 0);
      break;
    case 'MsgHeartbeatResp':
      w.u64(m.seq ?? 0);
      break;
    case 'MsgSnap':
      w.u64(m.meta.index);
      w.u64(m.meta.term);
      w.u64(m.offset);
      w.u64(m.totalBytes);
      w.bytes(m.chunk);
      // The members in force at the snapshot's index (membership, chapter 5), only when it has them: without, the bytes are format 2's.
      if (m.meta.conf !== undefined) w.bytes(encodeConfState(m.meta.conf));
      break;
    case 'MsgSnapResp':
      w.u64(m.meta.index);
      w.u64(m.meta.term);
      w.u64(m.offset);
      w.u8(m.reject ? 1 : 0);
      break;
    case 'MsgVote':
    case 'MsgPreVote':
      w.u64(m.lastIndex);
      w.u64(m.lastTerm);
      w.u8(m.transfer ? 1 : 0);
      break;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      w.u8(m.reject ? 1 : 0);
      break;
    case 'MsgTimeoutNow':
      break;
    case 'MsgPolicy':
      w.id(m.kind);
      break;
  }
  return w.finish();
}

export interface DecodeLimits {
  /** Most entries a MsgApp may carry (the receiver's appendEntriesMax is a good value). */
  entriesMax: number;
  /** Largest entry payload or snapshot chunk. */
  bytesMax: number;
}

export function decodeMessage(input: Uint8Array, limits: DecodeLimits): Message {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length < 6) throw corrupt(`${buf.length} bytes is too short for a message`);
  const body = buf.subarray(0, buf.length - 4);
  if (crc32c(body) !== buf.readUInt32LE(buf.length - 4)) throw corrupt('checksum mismatch');
  const r = new Reader(body);
  const version = r.u8('version');
  if (version !== MESSAGE_FORMAT_VERSION) throw corrupt(`format version ${version}; this build reads ${MESSAGE_FORMAT_VERSION}`);
  const type = typeNames.get(r.u8('type'));
  if (type === undefined) throw corrupt('unknown message type');
  const from = r.id('from');
  const to = r.id('to');
  const t = r.u64('term') as Term;
  let m: Message;
  switch (type) {
    case 'MsgApp': {
      const prevIndex = r.u64('prevIndex') as LogIndex;
      const prevTerm = r.u64('prevTerm') as Term;
      const commit = r.u64('commit') as LogIndex;
      const count = r.u32('entry count');
      if (count > limits.entriesMax) throw corrupt(`${count} entries exceed ${limits.entriesMax}`);
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        const et = r.u64('entry term') as Term;
        entries.push({ term: et, index: (prevIndex + 1 + i) as LogIndex, payload: r.bytes('entry payload', limits.bytesMax) });
      }
      m = { type, from, to, term: t, prevIndex, prevTerm, commit, entries };
      break;
    }
    case 'MsgAppResp': {
      const reject = r.u8('reject') === 1;
      m = {
        type,
        from,
        to,
        term: t,
        reject,
        index: r.u64('index') as LogIndex,
        hintIndex: r.u64('hintIndex') as LogIndex,
        hintTerm: r.u64('hintTerm') as Term,
      };
      break;
    }
    case 'MsgHeartbeat': {
      const commit = r.u64('commit') as LogIndex;
      const seq = r.u64('seq');
      m = seq === 0 ? { type, from, to, term: t, commit } : { type, from, to, term: t, commit, seq };
      break;
    }
    case 'MsgHeartbeatResp': {
      const seq = r.u64('seq');
      m = seq === 0 ? { type, from, to, term: t } : { type, from, to, term: t, seq };
      break;
    }
    case 'MsgVote':
    case 'MsgPreVote': {
      const lastIndex = r.u64('lastIndex') as LogIndex;
      const lastTerm = r.u64('lastTerm') as Term;
      m = { type, from, to, term: t, lastIndex, lastTerm, transfer: r.u8('transfer') === 1 };
      break;
    }
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      m = { type, from, to, term: t, reject: r.u8('reject') === 1 };
      break;
    case 'MsgTimeoutNow':
      m = { type, from, to, term: t };
      break;
    case 'MsgPolicy':
      m = { type, from, to, term: t, kind: r.id('kind') };
      break;
    case 'MsgSnap': {
      const index = r.u64('snapshot index') as LogIndex;
      const snapTerm = r.u64('snapshot term') as Term;
      const offset = r.u64('offset');
      const totalBytes = r.u64('totalBytes');
      const chunk = r.bytes('chunk', limits.bytesMax);
      if (offset + chunk.length > totalBytes) throw corrupt('chunk runs past the snapshot size');
      let meta: SnapshotMeta = { index, term: snapTerm };
      if (r.at < body.length) {
        const bytes = Buffer.from(r.bytes('members', CONF_BYTES_MAX));
        const decoded = decodeConfState(bytes, 0);
        if (decoded === undefined || decoded.end !== bytes.byteLength) throw corrupt("the snapshot's members do not decode");
        meta = { index, term: snapTerm, conf: decoded.conf };
      }
      m = { type, from, to, term: t, meta, offset, totalBytes, chunk };
      break;
    }
    case 'MsgSnapResp': {
      const meta: SnapshotMeta = { index: r.u64('snapshot index') as LogIndex, term: r.u64('snapshot term') as Term };
      const offset = r.u64('offset');
      m = { type, from, to, term: t, meta, offset, reject: r.u8('reject') === 1 };
      break;
    }
  }
  if (r.at !== body.length) throw corrupt(`${body.length - r.at} bytes after the message`);
  validateMessage(m);
  return m;
}

// #region validate
/**
 * What no correct peer sends, refused before it reaches the state machine:
 * a well-formed frame with impossible content (entry terms that go back or
 * pass the sender's term, a leader's message in term 0, a snapshot of a
 * later term than its sender's). Accepted, such content reached the WAL,
 * which asserts that terms never decrease, and the node fail-stopped after
 * every restart (issue 17). Safety against a lying peer is not the goal;
 * a node that keeps running is.
 */
function validateMessage(m: Message): void {
  const what = `${m.type} from ${m.from} (term ${m.term})`;
  const refuse = (why: string): never => {
    throw corrupt(`${what}: ${why}`);
  };
  const termZeroIffIndexZero = (index: number, t: number, name: string): void => {
    if ((index === 0) !== (t === 0)) refuse(`${name} index ${index} with term ${t} (only index 0 has term 0)`);
    if (t > m.term) refuse(`${name} term ${t} is beyond the message's term`);
  };
  switch (m.type) {
    case 'MsgApp': {
      if (m.term === 0) refuse('a leader is never in term 0');
      termZeroIffIndexZero(m.prevIndex, m.prevTerm, 'prev');
      if (m.prevIndex + m.entries.length > Number.MAX_SAFE_INTEGER) refuse('entries run past 2^53');
      let prev: number = m.prevTerm;
      for (const e of m.entries) {
        if (e.term < prev) refuse(`entry ${e.index} has term ${e.term} after term ${prev}: terms never decrease`);
        if (e.term > m.term) refuse(`entry ${e.index} has term ${e.term}, beyond the leader's`);
        if (e.term === 0) refuse(`entry ${e.index} has term 0`);
        prev = e.term;
      }
      return;
    }
    case 'MsgHeartbeat':
      if (m.term === 0) refuse('a leader is never in term 0');
      return;
    case 'MsgSnap':
      if (m.term === 0) refuse('a leader is never in term 0');
      if (m.meta.index === 0) refuse('a snapshot covers at least entry 1');
      termZeroIffIndexZero(m.meta.index, m.meta.term, 'snapshot');
      if (m.meta.conf !== undefined) {
        const problem = confStateProblem(m.meta.conf);
        if (problem !== undefined) refuse(`the snapshot's members: ${problem}`);
      }
      return;
    case 'MsgSnapResp':
      termZeroIffIndexZero(m.meta.index, m.meta.term, 'snapshot');
      return;
    case 'MsgAppResp':
      if (m.hintTerm > m.term) refuse(`hint term ${m.hintTerm} is beyond the message's term`);
      return;
    case 'MsgVote':
    case 'MsgPreVote':
      if (m.term === 0) refuse('a candidate is never in term 0');
      termZeroIffIndexZero(m.lastIndex, m.lastTerm, 'last');
      return;
    default:
      return;
  }
}
// #endregion validate
