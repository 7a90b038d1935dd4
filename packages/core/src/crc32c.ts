/**
 * CRC-32C (Castagnoli), the checksum of iSCSI, ext4 metadata, RocksDB and
 * etcd's WAL. It catches torn and bit-flipped records far better than a
 * simple sum. Slice-by-8 tables: eight table lookups per 8 input bytes,
 * several hundred MB/s in plain JavaScript.
 */
const POLY_REVERSED = 0x82f63b78;
const TABLES: Uint32Array[] = [];

function buildTables(): void {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REVERSED : c >>> 1;
    t0[n] = c >>> 0;
  }
  TABLES.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = TABLES[t - 1] as Uint32Array;
    const next = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = prev[n] as number;
      next[n] = ((p >>> 8) ^ (t0[p & 0xff] as number)) >>> 0;
    }
    TABLES.push(next);
  }
}
buildTables();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/**
 * CRC-32C of `bytes[start, end)`, continuing from `crc` (pass the result of
 * a previous call to checksum data that arrives in pieces).
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  const fastEnd = end - ((end - start) & 7);
  while (i < fastEnd) {
    const lo =
      (c ^
        (bytes[i] as number) ^
        ((bytes[i + 1] as number) << 8) ^
        ((bytes[i + 2] as number) << 16) ^
        ((bytes[i + 3] as number) << 24)) >>>
      0;
    c =
      (T7[lo & 0xff] as number) ^
      (T6[(lo >>> 8) & 0xff] as number) ^
      (T5[(lo >>> 16) & 0xff] as number) ^
      (T4[lo >>> 24] as number) ^
      (T3[bytes[i + 4] as number] as number) ^
      (T2[bytes[i + 5] as number] as number) ^
      (T1[bytes[i + 6] as number] as number) ^
      (T0[bytes[i + 7] as number] as number);
    i += 8;
  }
  while (i < end) {
    c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}
