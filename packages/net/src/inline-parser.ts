import { assert } from '@distkv/core';
import { ProtocolViolation } from './protocol-violation.js';

/**
 * Redis's inline commands: what `printf 'SET k "a b"\r\n' | nc` and telnet
 * send. A request that does not start with `*` is one line, ending at
 * "\n" (a "\r" before it is dropped), split into arguments the way Redis's
 * `sdssplitargs` splits them:
 *
 * - arguments are separated by spaces, tabs and "\r" (and a NUL byte
 *   ends the line: Redis splits a C string);
 * - `"..."` may hold spaces and the escapes \n \r \t \b \a \\ \" and
 *   \xHH (any other `\c` is `c`);
 * - `'...'` may hold spaces, and `\'` is a quote;
 * - a quote may begin inside a word (`a"b c"` is `ab c`), but a closing
 *   quote must be followed by whitespace or the end of the line;
 * - an empty (or blank) line is no request at all: no reply.
 *
 * Pure and chunk-agnostic: `nextInline` looks at the bytes buffered so far
 * and either returns a request and where the next one starts, or says it
 * needs more. The RESP request parser (resp-parser.ts) calls it for every
 * request whose first byte is not `*`.
 */

export interface InlineLimits {
  /** Longest line, its "\r\n" excluded (Redis's PROTO_INLINE_MAX_SIZE is 64 KiB, the default here too). */
  lineBytesMax: number;
  /** Most arguments on one line. */
  argsCountMax: number;
}

export const TOO_BIG_INLINE = 'ERR Protocol error: too big inline request';
export const UNBALANCED_QUOTES = 'ERR Protocol error: unbalanced quotes in request';
/** Redis has no separate text for too many inline arguments; it is the multibulk one. */
export const TOO_MANY_ARGS = 'ERR Protocol error: invalid multibulk length';

const LF = 10;
const CR = 13;
const BACKSLASH = 92;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;

/** C's isspace: space, \t, \n, \v, \f, \r (skipped between words, and what must follow a closing quote). */
function isSpace(byte: number | undefined): boolean {
  return byte === 32 || (byte !== undefined && byte >= 9 && byte <= 13);
}

/** What ends an unquoted word in sdssplitargs: space, \t, \n, \r (not \v or \f). */
function endsWord(byte: number | undefined): boolean {
  return byte === 32 || byte === 9 || byte === 10 || byte === 13;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

const ESCAPES: Record<number, number> = { 110: 10, 114: 13, 116: 9, 98: 8, 97: 7 }; // n r t b a

// #region split-inline
/**
 * Splits buf[start, end) into arguments by Redis's quoting rules.
 * Undefined means unbalanced quotes (or a closing quote glued to a word),
 * which Redis answers with a protocol error. A word without quotes or
 * escapes is a `subarray` of `buf`; only quoted words are copied.
 */
export function splitInline(buf: Buffer, start: number, lineEnd: number): Buffer[] | undefined {
  // Redis splits a C string: a NUL byte ends the line.
  const nul = buf.subarray(start, lineEnd).indexOf(0);
  const end = nul < 0 ? lineEnd : start + nul;
  const args: Buffer[] = [];
  let i = start;
  for (;;) {
    while (i < end && isSpace(buf[i])) i++;
    if (i >= end) return args;
    const wordStart = i;
    while (i < end && !endsWord(buf[i]) && buf[i] !== DOUBLE_QUOTE && buf[i] !== SINGLE_QUOTE) i++;
    if (i >= end || endsWord(buf[i])) {
      args.push(buf.subarray(wordStart, i)); // the common case: a plain word, no copy
      continue;
    }
    // A quote begins here: gather the word's bytes, decoding as we go.
    const bytes: number[] = [];
    for (let k = wordStart; k < i; k++) bytes.push(buf[k] as number);
    for (;;) {
      if (i >= end || endsWord(buf[i])) break;
      const byte = buf[i] as number;
      if (byte !== DOUBLE_QUOTE && byte !== SINGLE_QUOTE) {
        bytes.push(byte);
        i++;
        continue;
      }
      const closed = byte === DOUBLE_QUOTE ? readDoubleQuoted(buf, i + 1, end, bytes) : readSingleQuoted(buf, i + 1, end, bytes);
      if (closed < 0) return undefined; // the line ended inside the quotes
      // "foo"bar is refused: a closing quote must end the word.
      if (closed < end && !isSpace(buf[closed])) return undefined;
      i = closed;
    }
    args.push(Buffer.from(bytes));
    assert(args.length <= end - start, 'no more arguments than bytes');
  }
}
// #endregion split-inline

/** Decodes a "..." body from `from` into `out`; returns the index after the closing quote, or -1. */
function readDoubleQuoted(buf: Buffer, from: number, end: number, out: number[]): number {
  let i = from;
  while (i < end) {
    const byte = buf[i] as number;
    if (byte === DOUBLE_QUOTE) return i + 1;
    if (byte === BACKSLASH && i + 1 < end) {
      const next = buf[i + 1] as number;
      const high = hexValue(buf[i + 2]);
      const low = hexValue(buf[i + 3]);
      if (next === 120 /* x */ && i + 3 < end && high >= 0 && low >= 0) {
        out.push(high * 16 + low);
        i += 4;
        continue;
      }
      out.push(ESCAPES[next] ?? next);
      i += 2;
      continue;
    }
    out.push(byte);
    i++;
  }
  return -1;
}

/** Decodes a '...' body (only \' is an escape); returns the index after the closing quote, or -1. */
function readSingleQuoted(buf: Buffer, from: number, end: number, out: number[]): number {
  let i = from;
  while (i < end) {
    const byte = buf[i] as number;
    if (byte === SINGLE_QUOTE) return i + 1;
    if (byte === BACKSLASH && i + 1 < end && buf[i + 1] === SINGLE_QUOTE) {
      out.push(SINGLE_QUOTE);
      i += 2;
      continue;
    }
    out.push(byte);
    i++;
  }
  return -1;
}

// #region next-inline
/**
 * The inline request that starts at `buf[from]`, if its line is complete:
 * its arguments (empty for a blank line, which gets no reply) and the
 * index just after its "\n". Undefined: the line is not complete yet.
 * Throws ProtocolViolation when the line is over `lineBytesMax` (even
 * before its end arrives, so a client cannot make the server buffer an
 * endless line), when its quotes do not balance, or when it has more than
 * `argsCountMax` arguments.
 */
export function nextInline(buf: Buffer, from: number, limits: InlineLimits): { args: Buffer[]; next: number } | undefined {
  const newline = buf.indexOf(LF, from);
  if (newline < 0) {
    // lineBytesMax counts the line without its "\r\n": one more byte may be the "\r".
    if (buf.length - from > limits.lineBytesMax + 1) throw new ProtocolViolation(TOO_BIG_INLINE);
    return undefined;
  }
  const end = newline > from && buf[newline - 1] === CR ? newline - 1 : newline;
  if (end - from > limits.lineBytesMax) throw new ProtocolViolation(TOO_BIG_INLINE);
  const args = splitInline(buf, from, end);
  if (args === undefined) throw new ProtocolViolation(UNBALANCED_QUOTES);
  if (args.length > limits.argsCountMax) throw new ProtocolViolation(TOO_MANY_ARGS);
  return { args, next: newline + 1 };
}
// #endregion next-inline
