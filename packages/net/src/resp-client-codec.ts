/**
 * Client side: what `Client` (client.ts) puts on the wire and reads back,
 * RESP2 requests encoded as arrays of bulk strings and replies decoded
 * incrementally into values. The server's side of the wire is
 * resp-parser.ts (requests in) and resp-server-replies.ts (replies out).
 */
/** A RESP2 error reply as a value (`-ERR ...`): the client turns it into a SERVER_ERROR. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

/** A decoded RESP2 reply: simple strings are strings, bulk strings Buffers, nil is null. */
export type RespValue = string | number | bigint | Buffer | null | RespErrorReply | RespValue[];

const INCOMPLETE = Symbol('incomplete');
const EMPTY = Buffer.alloc(0);

/**
 * The client's incremental RESP2 reply decoder. A reply that is not yet
 * complete is parsed again from its start when more bytes arrive, but only
 * once enough bytes for the bulk string it stopped at are there, so a large
 * value costs one pass. Nested arrays are bounded by `depthMax`.
 */
export class RespReplyDecoder {
  readonly #replyBytesMax: number;
  #buf: Buffer = EMPTY;
  #pos = 0;
  #needBytes = 0;
  readonly #depthMax = 64;

  constructor(replyBytesMax = 1024 * 1024 * 1024) {
    this.#replyBytesMax = replyBytesMax;
  }

  push(chunk: Buffer): void {
    this.#buf = this.#pos >= this.#buf.length ? chunk : Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    this.#pos = 0;
  }

  /** Every complete reply buffered so far, in order. Throws a string describing a framing error. */
  drain(): RespValue[] {
    const out: RespValue[] = [];
    while (this.#pos < this.#buf.length && this.#buf.length - this.#pos >= this.#needBytes) {
      const start = this.#pos;
      const value = this.#value(0);
      if (value === INCOMPLETE) {
        this.#needBytes = Math.max(this.#needBytes, this.#pos - start);
        this.#pos = start;
        if (this.#buf.length - start > this.#replyBytesMax) throw new Error(`a reply exceeds ${this.#replyBytesMax} bytes`);
        break;
      }
      this.#needBytes = 0;
      out.push(value);
    }
    return out;
  }

  /** Parses one value at #pos. On INCOMPLETE, #pos - start is a lower bound on the bytes needed. */
  #value(depth: number): RespValue | typeof INCOMPLETE {
    if (depth > this.#depthMax) throw new Error('reply nesting too deep');
    const newline = this.#buf.indexOf(10, this.#pos);
    if (newline < 0) {
      this.#pos = this.#buf.length + 1;
      return INCOMPLETE;
    }
    const type = this.#buf[this.#pos];
    const line = this.#buf.toString('latin1', this.#pos + 1, newline - 1);
    this.#pos = newline + 1;
    switch (type) {
      case 43: // +
        return line;
      case 45: // -
        return new RespErrorReply(Buffer.from(line, 'latin1').toString('utf8'));
      case 58: {
        // :
        const n = BigInt(line);
        return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      case 36: {
        // $
        const length = Number(line);
        if (!Number.isSafeInteger(length) || length < -1) throw new Error(`bad bulk length ${line}`);
        if (length === -1) return null;
        if (length > this.#replyBytesMax) throw new Error(`a reply exceeds ${this.#replyBytesMax} bytes`);
        if (this.#buf.length - this.#pos < length + 2) {
          this.#pos += length + 2;
          return INCOMPLETE;
        }
        const data = Buffer.from(this.#buf.subarray(this.#pos, this.#pos + length));
        this.#pos += length + 2;
        return data;
      }
      case 42: {
        // *
        const count = Number(line);
        if (!Number.isSafeInteger(count) || count < -1) throw new Error(`bad array length ${line}`);
        if (count === -1) return null;
        const items: RespValue[] = [];
        for (let i = 0; i < count; i++) {
          const item = this.#value(depth + 1);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item);
        }
        return items;
      }
      default:
        throw new Error(`unexpected reply type byte ${String(type)}`);
    }
  }
}

/** Encodes a request as a RESP2 array of bulk strings. */
export function encodeRequest(args: ReadonlyArray<string | number | bigint | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const arg of args) {
    const data = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg instanceof Uint8Array ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${data.length}\r\n`, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength), CRLF);
  }
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');
