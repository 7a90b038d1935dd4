/**
 * Server side: the RESP2 replies the Redis port sends (`+OK`, `$5 hello`,
 * `-ERR ...`). Replies are Buffers that a connection gathers and writes
 * once per pass; the common ones are built once. The client's side of the
 * wire (encoding requests, decoding these replies) is resp-client-codec.ts;
 * the server's request parser is resp-parser.ts.
 */
export const OK = Buffer.from('+OK\r\n');
export const PONG = Buffer.from('+PONG\r\n');
export const NIL = Buffer.from('$-1\r\n');
export const EMPTY_ARRAY = Buffer.from('*0\r\n');
export const EMPTY_BULK = Buffer.from('$0\r\n\r\n');
const SMALL_INTEGERS = Array.from({ length: 64 }, (_, i) => Buffer.from(`:${i}\r\n`));

export function simple(text: string): Buffer {
  return Buffer.from(`+${text}\r\n`, 'latin1');
}

/** An error reply; "\r" and "\n" inside become spaces, as Redis does, so the framing holds. */
export function error(text: string): Buffer {
  return Buffer.from(`-${text.replace(/[\r\n]/g, ' ')}\r\n`, 'utf8');
}

export function integer(value: number | bigint): Buffer {
  if (typeof value === 'number' && value >= 0 && value < SMALL_INTEGERS.length) return SMALL_INTEGERS[value] as Buffer;
  return Buffer.from(`:${value}\r\n`, 'latin1');
}

export function bulk(value: Uint8Array | string | null | undefined): Buffer {
  if (value === null || value === undefined) return NIL;
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const header = `$${data.length}\r\n`;
  const out = Buffer.allocUnsafe(header.length + data.length + 2);
  out.write(header, 0, 'latin1');
  out.set(data, header.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** An array of already encoded replies. */
export function array(items: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`*${items.length}\r\n`, 'latin1'), ...items]);
}

export function bulkArray(values: ReadonlyArray<Uint8Array | string | null | undefined>): Buffer {
  return array(values.map(bulk));
}
