/**
 * The driver's control frames, carried next to Raft messages on the peer
 * connections (see CONTROL_FRAME_MIN): a hello that tells a peer our id and
 * addresses (address-book.ts), and forwarded requests (forwarding.ts) — a
 * follower sends an encoded Command, or asks for a read index, with a
 * request id; the leader answers with the encoded result, the index or an
 * error under the same id. This file is the wire format only. Decoding
 * trusts nothing; a malformed frame is dropped (the sender's timeout
 * answers for it).
 */
import type { CommandResult } from '@distkv/core';
import { CONTROL_FRAME_MIN } from './transport.js';

// #region control-frames
export const FRAME_HELLO = CONTROL_FRAME_MIN; // id, client address
export const FRAME_FORWARD = CONTROL_FRAME_MIN + 1; // from, request id, encoded Command
export const FRAME_FORWARD_REPLY = CONTROL_FRAME_MIN + 2; // from, request id, index, result or error (JSON)
export const FRAME_READ = CONTROL_FRAME_MIN + 3; // from, request id: a follower asks the leader for a read index
export const FRAME_READ_REPLY = CONTROL_FRAME_MIN + 4; // from, request id, the confirmed read index
export const FRAME_REMOVED = CONTROL_FRAME_MIN + 5; // from, the removed node: a member answers a removed node's connection
// #endregion control-frames

const TEXT_BYTES_MAX = 255;

export type ControlFrame =
  /** httpAddress: the admin endpoint, '' when none; absent from older hellos (read as ''). */
  | { type: 'hello'; id: string; clientAddress: string; httpAddress: string }
  | { type: 'forward'; from: string; requestId: number; command: Buffer }
  | { type: 'reply'; from: string; requestId: number; index: number; result: CommandResult }
  | { type: 'reply-error'; from: string; requestId: number; code: string; message: string; definite: boolean }
  | { type: 'read'; from: string; requestId: number }
  | { type: 'read-reply'; from: string; requestId: number; index: number }
  /** `from` (a member) tells `node`, which dialed it, that a committed change removed it. */
  | { type: 'removed'; from: string; node: string };

function text(value: string): Buffer {
  const b = Buffer.from(value, 'utf8');
  if (b.length > TEXT_BYTES_MAX) throw new RangeError(`${value.slice(0, 32)}… is longer than ${TEXT_BYTES_MAX} bytes`);
  return Buffer.concat([Buffer.of(b.length), b]);
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

function u64(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** Results are flat objects of strings, numbers, booleans, null, Buffers and bigints. */
function resultJson(result: CommandResult): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) {
    if (Buffer.isBuffer(v)) out[k] = { b: v.toString('base64') };
    else if (typeof v === 'bigint') out[k] = { n: v.toString() };
    else if (v !== undefined) out[k] = v;
  }
  return JSON.stringify(out);
}

function parseResult(json: string): CommandResult {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { op?: unknown }).op !== 'string')
    throw new RangeError('a forwarded result is not an object with an op');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'object' && v !== null && typeof (v as { b?: unknown }).b === 'string')
      out[k] = Buffer.from((v as { b: string }).b, 'base64');
    else if (typeof v === 'object' && v !== null && typeof (v as { n?: unknown }).n === 'string')
      out[k] = BigInt((v as { n: string }).n);
    else out[k] = v;
  }
  return out as unknown as CommandResult;
}

export function encodeControl(f: ControlFrame): Buffer {
  switch (f.type) {
    case 'hello':
      return Buffer.concat([Buffer.of(FRAME_HELLO), text(f.id), text(f.clientAddress), text(f.httpAddress)]);
    case 'forward':
      return Buffer.concat([Buffer.of(FRAME_FORWARD), text(f.from), u32(f.requestId), f.command]);
    case 'reply':
      return Buffer.concat([
        Buffer.of(FRAME_FORWARD_REPLY),
        text(f.from),
        u32(f.requestId),
        u64(f.index),
        Buffer.from(resultJson(f.result), 'utf8'),
      ]);
    case 'read':
      return Buffer.concat([Buffer.of(FRAME_READ), text(f.from), u32(f.requestId)]);
    case 'read-reply':
      return Buffer.concat([Buffer.of(FRAME_READ_REPLY), text(f.from), u32(f.requestId), u64(f.index)]);
    case 'removed':
      return Buffer.concat([Buffer.of(FRAME_REMOVED), text(f.from), text(f.node)]);
    case 'reply-error':
      return Buffer.concat([
        Buffer.of(FRAME_FORWARD_REPLY),
        text(f.from),
        u32(f.requestId),
        u64(0),
        Buffer.from(JSON.stringify({ error: f.code, message: f.message, definite: f.definite }), 'utf8'),
      ]);
  }
}

/** Throws RangeError on anything malformed. */
export function decodeControl(frame: Buffer): ControlFrame {
  let at = 1;
  const need = (n: number): void => {
    if (frame.length - at < n) throw new RangeError('control frame cut short');
  };
  const readText = (): string => {
    need(1);
    const n = frame[at++] as number;
    need(n);
    const s = frame.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  const readU32 = (): number => {
    need(4);
    const v = frame.readUInt32LE(at);
    at += 4;
    return v;
  };
  const tag = frame[0];
  if (tag === FRAME_HELLO) {
    const id = readText();
    const clientAddress = readText();
    return { type: 'hello', id, clientAddress, httpAddress: at < frame.length ? readText() : '' };
  }
  if (tag === FRAME_FORWARD) {
    const from = readText();
    const requestId = readU32();
    return { type: 'forward', from, requestId, command: frame.subarray(at) };
  }
  if (tag === FRAME_FORWARD_REPLY) {
    const from = readText();
    const requestId = readU32();
    need(8);
    const index = Number(frame.readBigUInt64LE(at));
    at += 8;
    const json = frame.toString('utf8', at);
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string') {
      const e = parsed as { error: string; message: unknown; definite: unknown };
      return {
        type: 'reply-error',
        from,
        requestId,
        code: e.error,
        message: String(e.message),
        definite: e.definite === true,
      };
    }
    return { type: 'reply', from, requestId, index, result: parseResult(json) };
  }
  if (tag === FRAME_READ) {
    const from = readText();
    return { type: 'read', from, requestId: readU32() };
  }
  if (tag === FRAME_READ_REPLY) {
    const from = readText();
    const requestId = readU32();
    need(8);
    return { type: 'read-reply', from, requestId, index: Number(frame.readBigUInt64LE(at)) };
  }
  if (tag === FRAME_REMOVED) {
    const from = readText();
    return { type: 'removed', from, node: readText() };
  }
  throw new RangeError(`unknown control frame type ${tag}`);
}
