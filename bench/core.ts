// pnpm bench core — in-process throughput and memory of @distkv/core.
// Method: 1,000,000 keys of 16 bytes with 16-byte values. put: insert all
// keys through the bytes API. get: read them back in a pseudo-random order.
// Memory: heap + external growth after a forced GC, divided by the entry
// count (RSS growth printed beside it). Redis, when installed, loads the
// same keys through `redis-cli --pipe` and reports its used_memory growth.
import { Store } from '@distkv/core';
import { hasCommand, printJsonLine, printTable, redisCli, redisInfoField, startRedis } from './lib.js';

const N = Number(process.env.DISTKV_BENCH_KEYS ?? 1_000_000);
const GET_ROUNDS = 3;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc (pnpm bench core does)');
function settle(): void {
  for (let i = 0; i < 3; i++) gc?.();
}
function memory(): { heap: number; rss: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

// Keys and values are written into reusable buffers, as a server's parser
// would hand them over: hot in cache, and almost free for the harness
// (two digits per step from a table, integer arithmetic only), so that the
// figure measures the store and not the loop around it.
const key = Buffer.alloc(16);
const value = Buffer.alloc(16);
const DIGIT_PAIRS = Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''), 'latin1');
function fill(buf: Buffer, prefix: string, i: number): Buffer {
  if (buf[3] !== 0x3a || buf[0] !== prefix.charCodeAt(0)) buf.write(prefix, 0, 'latin1');
  let n = i;
  for (let p = 14; p >= 4; p -= 2) {
    const pair = n % 100;
    n = (n / 100) | 0;
    buf[p] = DIGIT_PAIRS[2 * pair] as number;
    buf[p + 1] = DIGIT_PAIRS[2 * pair + 1] as number;
  }
  return buf;
}
/** A permutation of [0, N) (a multiplicative step coprime with N), precomputed. */
const order = new Uint32Array(N);
for (let i = 0; i < N; i++) order[i] = (i * 7_919_993) % N;
function scrambled(i: number): number {
  return order[i] as number;
}

settle();
const before = memory();
const store = new Store();
let t0 = performance.now();
for (let i = 0; i < N; i++) store.put(fill(key, 'key:', scrambled(i)), fill(value, 'val:', i));
const putSeconds = (performance.now() - t0) / 1000;
if (store.size !== N) throw new Error(`expected ${N} keys, found ${store.size}`);

// The key tree is built lazily: the first ordered read pays for the inserts' share.
t0 = performance.now();
store.scan({ limit: 1 });
const treeBuildMs = performance.now() - t0;
// Memory is measured with both indexes complete.
settle();
const after = memory();

let found = 0;
t0 = performance.now();
for (let r = 0; r < GET_ROUNDS; r++) {
  const shift = r * 12_345;
  for (let i = 0; i < N; i++) {
    const j = i + shift;
    if (store.get(fill(key, 'key:', scrambled(j < N ? j : j - N))) !== undefined) found++;
  }
}
const getSeconds = (performance.now() - t0) / 1000;
if (found !== N * GET_ROUNDS) throw new Error(`gets found ${found} of ${N * GET_ROUNDS}`);

let overwriteSeconds = 0;
t0 = performance.now();
for (let i = 0; i < N; i++) store.put(fill(key, 'key:', i), fill(value, 'new:', i));
overwriteSeconds = (performance.now() - t0) / 1000;

const figures: Record<string, number> = {
  get_ops_s: Math.round((N * GET_ROUNDS) / getSeconds),
  put_ops_s: Math.round(N / putSeconds),
  bytes_per_entry: Math.round((after.heap - before.heap) / N),
};
const rssPerEntry = Math.round((after.rss - before.rss) / N);

let redisNote = 'redis-server not installed (apt-get install redis-server): comparison skipped';
if (hasCommand('redis-server') && hasCommand('redis-cli')) {
  const redis = await startRedis();
  try {
    const baseline = redisInfoField(redis.port, 'memory', 'used_memory');
    const parts: string[] = [];
    for (let i = 0; i < N; i++) {
      const k = fill(key, 'key:', i).toString('latin1');
      const v = fill(value, 'val:', i).toString('latin1');
      parts.push(`*3\r\n$3\r\nSET\r\n$16\r\n${k}\r\n$16\r\n${v}\r\n`);
    }
    redisCli(redis.port, ['--pipe'], parts.join(''));
    const keys = Number(redisCli(redis.port, ['DBSIZE']).trim());
    if (keys !== N) throw new Error(`redis holds ${keys} keys, expected ${N}`);
    figures.redis_bytes_per_entry = Math.round((redisInfoField(redis.port, 'memory', 'used_memory') - baseline) / N);
    redisNote = `redis-server ${redisCli(redis.port, ['INFO', 'server']).match(/redis_version:(\S+)/)?.[1]}`;
  } finally {
    redis.stop();
  }
}

printTable(`@distkv/core, ${N.toLocaleString('en-US')} keys of 16 B, values of 16 B`, [
  ['put (insert) ops/s', figures.put_ops_s as number],
  ['put (overwrite) ops/s', Math.round(N / overwriteSeconds)],
  ['first scan after the inserts: sorts and builds the key tree (ms)', Math.round(treeBuildMs)],
  ['put (insert) ops/s counting that build', Math.round(N / (putSeconds + treeBuildMs / 1000))],
  ['get ops/s (random order)', figures.get_ops_s as number],
  ['bytes/entry (heap+external)', figures.bytes_per_entry as number],
  ['bytes/entry (RSS growth)', rssPerEntry],
  ['redis bytes/entry (used_memory)', figures.redis_bytes_per_entry ?? 'n/a'],
  ['peer', redisNote],
  ['targets', 'get >= 2,000,000/s; <= 160 B/entry'],
]);
printJsonLine(figures);
