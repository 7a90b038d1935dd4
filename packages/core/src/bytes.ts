/**
 * Keys and values are bytes. Inside the store a byte string is held as a
 * V8 "one-byte" string (latin1: one char per byte), because that is about
 * a third of the memory of a Buffer object and because JavaScript compares
 * such strings char by char, which is exactly bytewise order. These helpers
 * convert at the edge; nothing outside core sees the latin1 form.
 */

/** What the API accepts as a key or value: raw bytes, or a string taken as UTF-8. */
export type BytesInput = Uint8Array | string;

/**
 * Values up to this size are held as one-byte strings; larger ones as
 * Buffers (a V8 string cannot exceed about 2^29 chars, and a multi-megabyte
 * string gains nothing).
 */
export const INLINE_VALUE_BYTES_MAX = 1024 * 1024;

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** Bytes (or UTF-8 text) to the internal one-char-per-byte string. */
export function toBinaryString(input: BytesInput): string {
  if (typeof input === 'string') {
    // For ASCII text the UTF-8 bytes are the chars themselves.
    return ASCII_ONLY.test(input) ? input : Buffer.from(input, 'utf8').toString('latin1');
  }
  if (Buffer.isBuffer(input)) return input.toString('latin1');
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
}

/** The internal string back to a fresh Buffer the caller may keep and mutate. */
export function fromBinaryString(binary: string): Buffer {
  const out = Buffer.allocUnsafe(binary.length);
  out.write(binary, 0, 'latin1');
  return out;
}

/** The internal string to UTF-8 text (invalid sequences become U+FFFD). */
export function binaryToUtf8(binary: string): string {
  return ASCII_ONLY.test(binary) ? binary : Buffer.from(binary, 'latin1').toString('utf8');
}

/** Byte length of an input without converting it. */
export function byteLengthOf(input: BytesInput): number {
  return typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
}

/** Input to a Buffer (no copy when it already is one). */
export function toBuffer(input: BytesInput): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (Buffer.isBuffer(input)) return input;
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Bytewise comparison, the order of keys everywhere in distkv. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/**
 * The smallest byte string greater than every string that starts with
 * `prefix`, or undefined when there is none (prefix empty or all 0xff).
 * Used to turn a prefix scan into a range scan.
 */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0xff) end--;
  if (end === 0) return undefined;
  return prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
}
