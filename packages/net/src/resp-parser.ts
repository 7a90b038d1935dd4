import { nextInline } from './inline-parser.js';
import { ProtocolViolation } from './protocol-violation.js';

export { ProtocolViolation };

export interface RequestParserLimits {
  bulkBytesMax: number;
  lineBytesMax: number;
  argsCountMax: number;
}

const EMPTY = Buffer.alloc(0);
/** Bulk strings up to this size that span chunks get one buffer of their announced length at once. */
const BULK_PREALLOCATE_BYTES_MAX = 1024 * 1024;
const CR = 13;
const LF = 10;

enum State {
  /** Start of a request: `*<count>\r\n`, or an inline command line (inline-parser.ts). */
  Request,
  /** `$<length>\r\n` of the next argument. */
  BulkHeader,
  /** The argument's bytes. */
  BulkData,
  /** The `\r\n` after them. */
  BulkEnd,
}

/**
 * Redis's `string2ll` grammar for lengths: an optional '-' and decimal
 * digits, no '+', no spaces, no leading zeros. Returns NaN when invalid.
 */
function parseLength(buf: Buffer, start: number, end: number): number {
  if (start >= end || end - start > 19) return Number.NaN;
  let i = start;
  let negative = false;
  if (buf[i] === 45 /* - */) {
    negative = true;
    i++;
    if (i === end) return Number.NaN;
  }
  if (buf[i] === 48 /* 0 */ && end - i > 1) return Number.NaN;
  let value = 0;
  for (; i < end; i++) {
    const digit = (buf[i] as number) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/**
 * The server's incremental RESP2 request parser, in the style of
 * node-redis's decoder: it is fed chunks as they arrive, keeps its cursor
 * between them, hands out arguments as `subarray`s of the chunk (no copy)
 * and copies only an argument that spans chunks, into a buffer sized once
 * from its announced length. Every length is checked against a limit
 * before anything is allocated for it.
 */
// #region resp-parser
export class RespRequestParser {
  readonly #limits: RequestParserLimits;
  #buf: Buffer = EMPTY;
  #pos = 0;
  #state = State.Request;
  #args: Buffer[] = [];
  #argsLeft = 0;
  #bulkLength = 0;
  /** An argument that spans chunks is gathered here. */
  #bulk: Buffer | null = null;
  /** ...or, when it is large, as the chunks that arrived (see BULK_PREALLOCATE_BYTES_MAX). */
  #bulkParts: Buffer[] | null = null;
  #bulkFilled = 0;

  constructor(limits: RequestParserLimits) {
    this.#limits = limits;
  }

  /** Bytes received and not yet returned as part of a request. */
  get bufferedBytes(): number {
    return this.#buf.length - this.#pos + this.#bulkFilled;
  }

  /** Forgets everything buffered (after a protocol error nothing more is parsed). */
  discard(): void {
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#bulk = null;
    this.#bulkParts = null;
    this.#bulkFilled = 0;
    this.#args = [];
  }

  push(chunk: Buffer): void {
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk;
    } else {
      // Only a partial header or inline line (at most lineBytesMax) is ever carried over.
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    }
    this.#pos = 0;
  }

  /** The next complete request, or undefined until more bytes arrive. Throws ProtocolViolation. */
  next(): Buffer[] | undefined {
    for (;;) {
      switch (this.#state) {
        case State.Request: {
          if (this.#pos >= this.#buf.length) return undefined;
          if (this.#buf[this.#pos] !== 42 /* * */) return this.#inline();
          const line = this.#line('too big mbulk count string');
          if (line === undefined) return undefined;
          const count = parseLength(this.#buf, line[0] + 1, line[1]);
          if (Number.isNaN(count) || count > this.#limits.argsCountMax) {
            throw new ProtocolViolation('ERR Protocol error: invalid multibulk length');
          }
          if (count <= 0) continue; // Redis ignores `*0` and `*-1` requests.
          this.#args = [];
          this.#argsLeft = count;
          this.#state = State.BulkHeader;
          break;
        }
        case State.BulkHeader: {
          if (this.#pos >= this.#buf.length) return undefined;
          const first = this.#buf[this.#pos] as number;
          if (first !== 36 /* $ */) {
            throw new ProtocolViolation(`ERR Protocol error: expected '$', got '${String.fromCharCode(first)}'`);
          }
          const line = this.#line('too big bulk count string');
          if (line === undefined) return undefined;
          const length = parseLength(this.#buf, line[0] + 1, line[1]);
          if (Number.isNaN(length) || length < 0 || length > this.#limits.bulkBytesMax) {
            throw new ProtocolViolation('ERR Protocol error: invalid bulk length');
          }
          this.#bulkLength = length;
          this.#state = State.BulkData;
          break;
        }
        case State.BulkData: {
          const available = this.#buf.length - this.#pos;
          if (this.#bulk === null && this.#bulkParts === null) {
            if (available >= this.#bulkLength) {
              this.#args.push(this.#buf.subarray(this.#pos, this.#pos + this.#bulkLength));
              this.#pos += this.#bulkLength;
              this.#state = State.BulkEnd;
              break;
            }
            if (available === 0) return undefined;
            // A length is only a claim: memory grows with the bytes that really arrive.
            if (this.#bulkLength <= BULK_PREALLOCATE_BYTES_MAX) this.#bulk = Buffer.allocUnsafe(this.#bulkLength);
            else this.#bulkParts = [];
            this.#bulkFilled = 0;
          }
          const take = Math.min(available, this.#bulkLength - this.#bulkFilled);
          if (this.#bulk !== null) this.#buf.copy(this.#bulk, this.#bulkFilled, this.#pos, this.#pos + take);
          else this.#bulkParts?.push(Buffer.from(this.#buf.subarray(this.#pos, this.#pos + take)));
          this.#bulkFilled += take;
          this.#pos += take;
          if (this.#bulkFilled < this.#bulkLength) return undefined;
          this.#args.push(this.#bulk ?? Buffer.concat(this.#bulkParts ?? [], this.#bulkLength));
          this.#bulk = null;
          this.#bulkParts = null;
          this.#bulkFilled = 0;
          this.#state = State.BulkEnd;
          break;
        }
        case State.BulkEnd: {
          if (this.#buf.length - this.#pos < 2) {
            if (this.#pos < this.#buf.length && this.#buf[this.#pos] !== CR) {
              throw new ProtocolViolation("ERR Protocol error: expected '\\r\\n' after bulk string");
            }
            return undefined;
          }
          if (this.#buf[this.#pos] !== CR || this.#buf[this.#pos + 1] !== LF) {
            throw new ProtocolViolation("ERR Protocol error: expected '\\r\\n' after bulk string");
          }
          this.#pos += 2;
          if (--this.#argsLeft > 0) {
            this.#state = State.BulkHeader;
            break;
          }
          this.#state = State.Request;
          const args = this.#args;
          this.#args = [];
          return args;
        }
      }
    }
  }
  // #endregion resp-parser

  /** [start, end) of the next line without its "\r\n", consuming it; undefined if incomplete. */
  #line(tooBig: string): [number, number] | undefined {
    const newline = this.#buf.indexOf(LF, this.#pos);
    if (newline < 0) {
      if (this.#buf.length - this.#pos > this.#limits.lineBytesMax) {
        throw new ProtocolViolation(`ERR Protocol error: ${tooBig}`);
      }
      return undefined;
    }
    if (newline - this.#pos > this.#limits.lineBytesMax) throw new ProtocolViolation(`ERR Protocol error: ${tooBig}`);
    const start = this.#pos;
    const end = newline > start && this.#buf[newline - 1] === CR ? newline - 1 : newline;
    this.#pos = newline + 1;
    return [start, end];
  }

  /**
   * Requests whose first byte is not `*` are Redis inline commands; blank
   * lines among them are skipped, as Redis does. Decided per request, so a
   * connection may mix both (redis-cli and telnet users do).
   */
  #inline(): Buffer[] | undefined {
    for (;;) {
      if (this.#pos >= this.#buf.length) return undefined;
      if (this.#buf[this.#pos] === 42) return this.next();
      const request = nextInline(this.#buf, this.#pos, this.#limits);
      if (request === undefined) return undefined;
      this.#pos = request.next;
      if (request.args.length > 0) return request.args;
    }
  }
}
