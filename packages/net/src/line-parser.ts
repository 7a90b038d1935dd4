import { ProtocolViolation } from './protocol-violation.js';

const EMPTY = Buffer.alloc(0);

/**
 * The seed's line protocol, framed properly: a request is everything up to
 * "\n" (a trailing "\r" is dropped), however the bytes were split into
 * chunks. The seed read one `read()` of at most 1023 bytes and took it as
 * one command; this parser does not care where chunks begin or end.
 */
// #region line-parser
export class LineParser {
  readonly #lineBytesMax: number;
  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Where to resume looking for "\n", so a long line is scanned once. */
  #scanned = 0;

  constructor(lineBytesMax: number) {
    this.#lineBytesMax = lineBytesMax;
  }

  get bufferedBytes(): number {
    return this.#buf.length - this.#pos;
  }

  /** Forgets everything buffered (after a protocol error nothing more is parsed). */
  discard(): void {
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#scanned = 0;
  }

  push(chunk: Buffer): void {
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk;
      this.#scanned = 0;
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
      this.#scanned -= this.#pos;
    }
    this.#pos = 0;
  }

  /** The next line without its terminator, or undefined until it is complete. Throws ProtocolViolation. */
  next(): Buffer | undefined {
    const newline = this.#buf.indexOf(10, Math.max(this.#pos, this.#scanned));
    if (newline < 0) {
      this.#scanned = this.#buf.length;
      if (this.#buf.length - this.#pos > this.#lineBytesMax) throw new ProtocolViolation('ERROR LINE TOO LONG');
      return undefined;
    }
    if (newline - this.#pos > this.#lineBytesMax) throw new ProtocolViolation('ERROR LINE TOO LONG');
    const end = newline > this.#pos && this.#buf[newline - 1] === 13 ? newline - 1 : newline;
    const line = this.#buf.subarray(this.#pos, end);
    this.#pos = newline + 1;
    this.#scanned = this.#pos;
    return line;
  }
}
// #endregion line-parser
