// `pnpm bench net`: distkv's server against redis-server, side by side, with
// redis-benchmark (50 clients): SET and GET without pipelining and with
// -P 16, both stores in memory only; then durable SET, distkv --fsync always
// against Redis appendonly yes + appendfsync always. Prints a table, then
// one JSON line (the last line) with each rate and each ratio. Each rate is
// the best of three rounds that alternate between the two servers.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@distkv/net';
import { freePort, redisBenchmarkRates } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const launcher = join(root, 'packages', 'cli', 'bin', 'distkv.mjs');
const CLIENTS = 50;
const REQUESTS = 200_000;
const REQUESTS_PIPELINED = 1_000_000;
const REQUESTS_DURABLE = 20_000;
const KEYSPACE = 100_000;
const ROUNDS = 3;

function has(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

async function waitForPing(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      const client = await Client.connect({ port, reconnect: { attemptsMax: 1 }, timeoutMs: 2000 });
      await client.call('PING');
      await client.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`nothing answers PING on port ${port}`);
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

async function startDistkv(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [launcher, 'server', '--port', String(port), '--quiet', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitForPing(port);
  return { port, child };
}

async function startRedis(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'distkv-bench-redis-'));
  dirs.push(dir);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args], {
    stdio: 'ignore',
  });
  children.push(child);
  await waitForPing(port);
  return { port, child };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(child.pid as number, 'SIGKILL');
  });
}

/** Runs redis-benchmark with this bench's clients and keyspace; requests per second by test name. */
function redisBenchmark(port: number, tests: string, requests: number, pipeline: number): Record<string, number> {
  return redisBenchmarkRates(port, { tests, clients: CLIENTS, requests, keyspace: KEYSPACE, pipeline });
}

type Start = () => Promise<{ port: number; child: ChildProcess }>;

/** The five rates of one server pair (plain, durable): one round of redis-benchmark runs. */
function round(plainPort: number, durablePort: number): number[] {
  const once = redisBenchmark(plainPort, 'set,get', REQUESTS, 1);
  const piped = redisBenchmark(plainPort, 'set,get', REQUESTS_PIPELINED, 16);
  const durableSet = redisBenchmark(durablePort, 'set', REQUESTS_DURABLE, 1);
  return [once.SET ?? 0, once.GET ?? 0, piped.SET ?? 0, piped.GET ?? 0, durableSet.SET ?? 0];
}

/**
 * Runs ROUNDS rounds, alternating distkv and Redis, and keeps each one's
 * best rate per benchmark: the machine is shared (other processes, and
 * redis-benchmark itself), so the best of a few interleaved runs is the
 * fairest comparison of the two servers.
 */
async function measure(distkv: [Start, Start], redis: [Start, Start] | undefined): Promise<[number[], number[]]> {
  const d = await Promise.all(distkv.map((start) => start()));
  const r = redis === undefined ? undefined : await Promise.all(redis.map((start) => start()));
  const best = (a: number[], b: number[]): number[] => a.map((x, i) => Math.max(x, b[i] as number));
  let distkvBest = [0, 0, 0, 0, 0];
  let redisBest = [0, 0, 0, 0, 0];
  for (let i = 0; i < ROUNDS; i++) {
    distkvBest = best(distkvBest, round((d[0] as { port: number }).port, (d[1] as { port: number }).port));
    if (r !== undefined) redisBest = best(redisBest, round((r[0] as { port: number }).port, (r[1] as { port: number }).port));
  }
  await Promise.all([...d, ...(r ?? [])].map((s) => stop(s.child)));
  return [distkvBest, redisBest];
}

const names = ['set_ops_s', 'get_ops_s', 'set_p16_ops_s', 'get_p16_ops_s', 'durable_set_ops_s'] as const;
const ratioNames = ['set_vs_redis', 'get_vs_redis', 'set_p16_vs_redis', 'get_p16_vs_redis', 'durable_set_vs_redis'] as const;
const targets = [0.8, 0.8, 0.5, 0.5, 1.0];
const labels = [
  'SET, 50 clients',
  'GET, 50 clients',
  'SET, 50 clients, -P 16',
  'GET, 50 clients, -P 16',
  'durable SET (fsync always)',
];

async function main(): Promise<void> {
  if (!has('redis-benchmark')) {
    console.log(
      'redis-benchmark is missing: install it with `sudo apt-get install redis-tools` (Debian/Ubuntu). Nothing to measure.',
    );
    console.log(
      JSON.stringify(Object.fromEntries([...names, ...names.map((n) => `redis_${n}`), ...ratioNames].map((k) => [k, null]))),
    );
    return;
  }
  const withRedis = has('redis-server');
  if (!withRedis) {
    console.log(
      'redis-server is missing: install it with `sudo apt-get install redis-server` to compare; measuring distkv alone.',
    );
  }
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); client, servers and redis-benchmark share them.`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'distkv-bench-'));
  dirs.push(dataDir);
  const [distkv, redis] = await measure(
    [() => startDistkv(['--in-memory']), () => startDistkv(['--data-dir', dataDir, '--fsync', 'always'])],
    withRedis
      ? [() => startRedis(['--appendonly', 'no']), () => startRedis(['--appendonly', 'yes', '--appendfsync', 'always'])]
      : undefined,
  );
  const ratios = distkv.map((d, i) => ((redis[i] as number) > 0 ? Number((d / (redis[i] as number)).toFixed(3)) : null));

  const rows = labels.map((label, i) => [
    label,
    Math.round(distkv[i] as number).toLocaleString('en-US'),
    withRedis ? Math.round(redis[i] as number).toLocaleString('en-US') : '-',
    ratios[i] === null ? '-' : `${ratios[i]}×`,
    `>= ${targets[i]}×`,
  ]);
  const header = ['benchmark (redis-benchmark)', 'distkv ops/s', 'redis ops/s', 'distkv/redis', 'target'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, c) => cell.padEnd(widths[c] as number)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row as string[]));

  const json: Record<string, number | null> = {};
  names.forEach((n, i) => {
    json[n] = Math.round(distkv[i] as number);
  });
  names.forEach((n, i) => {
    json[`redis_${n}`] = withRedis ? Math.round(redis[i] as number) : null;
  });
  ratioNames.forEach((n, i) => {
    json[n] = ratios[i] ?? null;
  });
  console.log(JSON.stringify(json));
}

try {
  await main();
} finally {
  await Promise.all(children.map(stop));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
