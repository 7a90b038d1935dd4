// Small helpers shared by the benchmarks: a table printer, free ports and
// peer processes (redis-server), so each bench file reads as its method.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export function printTable(title: string, rows: Array<[string, string | number]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  console.log('-'.repeat(title.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`);
}

/** The last line of every benchmark: one flat JSON object. */
export function printJsonLine(figures: Record<string, number | string | boolean | null>): void {
  console.log(JSON.stringify(figures));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Runs redis-cli against a port and returns its stdout. */
export function redisCli(port: number, args: string[], input?: string | Buffer): string {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Starts redis-server on loopback with the given extra flags; resolves once it answers PING. */
export async function startRedis(extra: string[] = []): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' });
    if (r.stdout.trim() === 'PONG') return { port, stop: () => child.kill('SIGKILL') };
    await new Promise((res) => setTimeout(res, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start within 5 s');
}

/** Reads one numeric field of `INFO <section>`. */
export function redisInfoField(port: number, section: string, field: string): number {
  const line = redisCli(port, ['INFO', section])
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(':')[1]);
}

/** Polls PING on 127.0.0.1:port with redis-cli, at most `attemptsMax` times 100 ms apart. */
export async function waitForRedisPing(port: number, attemptsMax = 600): Promise<void> {
  for (let i = 0; i < attemptsMax; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' });
    if (r.stdout.trim() === 'PONG') return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nothing answers PING on port ${port}`);
}

/** redis-benchmark -t <tests> -c <clients> -n <requests> -r <keyspace> --csv; requests per second by test name. */
export function redisBenchmarkRates(
  port: number,
  options: { tests: string; clients: number; requests: number; keyspace: number; pipeline?: number },
): Record<string, number> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', options.tests, '-c', String(options.clients)];
  args.push('-n', String(options.requests), '-r', String(options.keyspace), '-P', String(options.pipeline ?? 1), '--csv');
  const result = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`redis-benchmark failed: ${result.stderr}`);
  const rates: Record<string, number> = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^"([A-Z]+)","([\d.]+)"/.exec(line);
    if (match !== null) rates[match[1] as string] = Number(match[2]);
  }
  return rates;
}

/** redis-benchmark --csv for one test: requests per second and the latency percentiles it prints (ms). */
export function redisBenchmarkLatency(
  port: number,
  options: { test: string; clients: number; requests: number; keyspace: number },
): { rate: number; p50Ms: number; p99Ms: number } {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', options.test, '-c', String(options.clients)];
  args.push('-n', String(options.requests), '-r', String(options.keyspace), '--csv');
  const result = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`redis-benchmark failed: ${result.stderr}`);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const row = result.stdout.split('\n').find((l) => l.startsWith(`"${options.test.toUpperCase()}"`));
  const cells = (row ?? '').split(',').map((c) => Number(c.replaceAll('"', '')));
  if (cells.length < 8) throw new Error(`redis-benchmark printed no row for ${options.test}: ${result.stdout}`);
  return { rate: cells[1] as number, p50Ms: cells[4] as number, p99Ms: cells[6] as number };
}

let nextPeerPort = 20_000 + Math.floor(Math.random() * 10_000);

/**
 * A free port below Linux's ephemeral range (32768+), for a server that is
 * killed and restarted on the same port: an ephemeral port may be taken
 * meanwhile by some outgoing connection.
 */
export async function freeStablePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = nextPeerPort;
    nextPeerPort = nextPeerPort >= 32_000 ? 20_000 : nextPeerPort + 1;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 100 tries');
}
