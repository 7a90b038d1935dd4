import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@distkv/net';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { build, type Histogram } from 'hdr-histogram-js';
import { latencyChartSvg } from '../chart.js';
import { integer } from './arguments.js';
import { parseAddress } from './client.js';

export interface BenchOptions {
  clients: number;
  ops: number;
  /** Fraction of operations that are GETs (the rest are SETs). */
  ratio: number;
  keys: number;
  valueBytes: number;
  pipeline: number;
  endpoints: Array<{ host: string; port: number }>;
  seed: number;
  timeoutMs: number;
}

/** What `bench.json` holds. */
export interface BenchReport {
  config: {
    clients: number;
    ops: number;
    ratio: number;
    keys: number;
    value_bytes: number;
    pipeline: number;
    endpoints: string[];
    seed: number;
  };
  ops: { requested: number; completed: number; gets: number; sets: number; errors: number; error_codes: Record<string, number> };
  duration_ms: number;
  throughput_ops_s: number;
  latency_us: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  timeline: {
    interval_ms: number;
    points: Array<{ t_ms: number; ops: number; errors: number; p50_us: number; p99_us: number; max_us: number }>;
  };
}

// #region bench-limits
/** Bounds of the flags: a bench is a tool, not an attack; each buffer it keeps is bounded by these. */
export const benchLimits = {
  clientsMax: 10_000,
  opsMax: 1_000_000_000,
  pipelineMax: 1024,
  keysMax: 1_000_000_000,
  valueBytesMax: 1024 * 1024,
  /** The timeline starts at 100 ms per point and halves its resolution whenever it would exceed this many points. */
  timelinePointsMax: 600,
} as const;
// #endregion bench-limits

const TIMELINE_INTERVAL_MS_MIN = 100;
const LATENCY_US_MAX = 60_000_000; // one minute: a request slower than this counts at the maximum

const histogram = (digits: 2 | 3): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: digits });

/**
 * hdr-histogram-js answers a percentile with the top of its bucket but keeps
 * the exact maximum, so p99.9 could print above max. No recorded value
 * exceeds the maximum, so neither does any percentile: clamp.
 */
function percentileUs(h: Histogram, p: number): number {
  return h.totalCount === 0 ? 0 : Math.min(h.getValueAtPercentile(p), h.maxValue);
}

/** Per-interval latencies for the chart: bounded, coarsening by merging neighbours. */
class Timeline {
  intervalMs = TIMELINE_INTERVAL_MS_MIN;
  readonly points: Array<{ ops: number; errors: number; latency: Histogram }> = [];

  record(elapsedMs: number, latencyUs: number, failed: boolean): void {
    let at = Math.floor(elapsedMs / this.intervalMs);
    while (at >= benchLimits.timelinePointsMax) {
      this.#coarsen();
      at = Math.floor(elapsedMs / this.intervalMs);
    }
    while (this.points.length <= at) this.points.push({ ops: 0, errors: 0, latency: histogram(2) });
    const point = this.points[at] as (typeof this.points)[number];
    point.ops++;
    if (failed) point.errors++;
    else point.latency.recordValue(latencyUs);
  }

  #coarsen(): void {
    const merged: typeof this.points = [];
    for (let i = 0; i < this.points.length; i += 2) {
      const a = this.points[i] as (typeof this.points)[number];
      const b = this.points[i + 1];
      if (b !== undefined) {
        a.ops += b.ops;
        a.errors += b.errors;
        a.latency.add(b.latency);
        b.latency.destroy();
      }
      merged.push(a);
    }
    this.points.splice(0, this.points.length, ...merged);
    this.intervalMs *= 2;
  }
}

/** xorshift32: the same seed picks the same keys and the same GET/SET mix, run after run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function progressBar(done: number, total: number, startedMs: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const seconds = (Date.now() - startedMs) / 1000;
  const rate = seconds > 0 ? Math.round(done / seconds) : 0;
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((done / total) * 100)}%  ${done}/${total} ops  ${rate} ops/s `;
}

// #region bench-run
/**
 * `clients` connections (spread over the endpoints), each keeping
 * `pipeline` requests in flight, share `ops` operations. Every reply's
 * latency goes into one HDR histogram (microseconds, 3 significant
 * digits) and into the timeline's point for its moment. A failed request
 * counts as done and as an error, with its code.
 */
export async function runBench(
  options: BenchOptions,
  onProgress: (done: number) => void = () => undefined,
): Promise<BenchReport> {
  const clients: Client[] = [];
  for (let i = 0; i < options.clients; i++) {
    const endpoint = options.endpoints[i % options.endpoints.length] as { host: string; port: number };
    clients.push(await Client.connect({ ...endpoint, timeoutMs: options.timeoutMs, reconnect: { attemptsMax: 3 } }));
  }
  const all = histogram(3);
  const timeline = new Timeline();
  const random = rng(options.seed);
  const value = Buffer.alloc(options.valueBytes, 0x78);
  const counts = { gets: 0, sets: 0, errors: 0, completed: 0 };
  const errorCodes: Record<string, number> = {};
  let issued = 0;
  const started = process.hrtime.bigint();
  const one = async (client: Client): Promise<void> => {
    const key = `key:${Math.floor(random() * options.keys)}`;
    const isGet = random() < options.ratio;
    const sent = process.hrtime.bigint();
    let failed = false;
    try {
      if (isGet) await client.call('GET', key);
      else await client.call('SET', key, value);
    } catch (err) {
      failed = true;
      const code = (err as { code?: string }).code ?? 'ERROR';
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    }
    const now = process.hrtime.bigint();
    const latencyUs = Math.min(LATENCY_US_MAX, Math.max(1, Number((now - sent) / 1000n)));
    if (isGet) counts.gets++;
    else counts.sets++;
    if (failed) counts.errors++;
    else all.recordValue(latencyUs);
    counts.completed++;
    timeline.record(Number(now - started) / 1e6, latencyUs, failed);
    onProgress(counts.completed);
  };
  // Each lane is one in-flight request; `pipeline` lanes per connection share it (the Client pipelines them).
  const lane = async (client: Client): Promise<void> => {
    while (issued < options.ops) {
      issued++;
      await one(client);
    }
  };
  try {
    await Promise.all(clients.flatMap((c) => Array.from({ length: options.pipeline }, () => lane(c))));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
  const report: BenchReport = {
    config: {
      clients: options.clients,
      ops: options.ops,
      ratio: options.ratio,
      keys: options.keys,
      value_bytes: options.valueBytes,
      pipeline: options.pipeline,
      endpoints: options.endpoints.map((e) => `${e.host}:${e.port}`),
      seed: options.seed,
    },
    ops: { requested: options.ops, ...counts, error_codes: errorCodes },
    duration_ms: Math.round(durationMs * 1000) / 1000,
    throughput_ops_s: Math.round((counts.completed / durationMs) * 1000),
    latency_us: {
      p50: percentileUs(all, 50),
      p90: percentileUs(all, 90),
      p99: percentileUs(all, 99),
      p99_9: percentileUs(all, 99.9),
      max: all.maxValue,
      mean: Math.round(all.mean),
    },
    timeline: {
      interval_ms: timeline.intervalMs,
      points: timeline.points.map((p, i) => ({
        t_ms: i * timeline.intervalMs,
        ops: p.ops,
        errors: p.errors,
        p50_us: percentileUs(p.latency, 50),
        p99_us: percentileUs(p.latency, 99),
        max_us: p.latency.totalCount === 0 ? 0 : p.latency.maxValue,
      })),
    },
  };
  all.destroy();
  for (const p of timeline.points) p.latency.destroy();
  return report;
}
// #endregion bench-run

function ratio(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new InvalidArgumentError('--ratio must be a number from 0 (only SETs) to 1 (only GETs)');
  return value;
}

/** The flags are the options, with the endpoints still one comma-separated string, and where the report goes. */
type BenchFlags = Omit<BenchOptions, 'endpoints'> & { endpoints: string; out: string; json?: boolean };

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load generator: GET/SET mix, throughput, HDR latency percentiles; writes bench.json and bench.svg')
    .addOption(new Option('--clients <n>', 'connections').default(50).argParser(integer('--clients', 1, benchLimits.clientsMax)))
    .addOption(new Option('--ops <n>', 'operations in all').default(100_000).argParser(integer('--ops', 1, benchLimits.opsMax)))
    .addOption(new Option('--ratio <r>', 'fraction of GETs (0: only SETs, 1: only GETs)').default(0.5).argParser(ratio))
    .addOption(
      new Option('--keys <n>', 'distinct keys, chosen uniformly')
        .default(10_000)
        .argParser(integer('--keys', 1, benchLimits.keysMax)),
    )
    .addOption(
      new Option('--value-bytes <n>', 'bytes per SET value')
        .default(16)
        .argParser(integer('--value-bytes', 0, benchLimits.valueBytesMax)),
    )
    .addOption(
      new Option('--pipeline <n>', 'requests in flight per connection')
        .default(1)
        .argParser(integer('--pipeline', 1, benchLimits.pipelineMax)),
    )
    .option('--endpoints <list>', 'host:port[,host:port...]; connections are spread over them', '127.0.0.1:7001')
    .option('--out <dir>', 'where bench.json and bench.svg go', './bench-out')
    .addOption(
      new Option('--seed <n>', 'for the key and GET/SET choices').default(1).argParser(integer('--seed', 0, 2 ** 32 - 1)),
    )
    .addOption(new Option('--timeout-ms <ms>', 'per request').default(10_000).argParser(integer('--timeout-ms', 1, 3_600_000)))
    .option('--json', 'print the report as JSON instead of a summary')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  distkv bench                                            # 50 clients, 100k ops on 127.0.0.1:7001',
        '  distkv bench --ratio 0.9 --pipeline 16 --endpoints 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003',
        '  distkv bench --clients 1 --ops 1000 --ratio 0 --out /tmp/bench   # one writer, latency of durable SETs',
      ].join('\n'),
    )
    .action(async (flags: BenchFlags) => {
      const endpoints = flags.endpoints.split(',').map((a) => parseAddress(a.trim()));
      const tty = process.stderr.isTTY === true;
      const startedMs = Date.now();
      let lastDrawMs = 0;
      let report: BenchReport;
      try {
        report = await runBench({ ...flags, endpoints }, (done) => {
          // A live progress bar only for a person watching: never into a file or a pipe.
          if (!tty) return;
          const now = Date.now();
          if (now - lastDrawMs < 100 && done < flags.ops) return;
          lastDrawMs = now;
          process.stderr.write(progressBar(done, flags.ops, startedMs));
        });
      } catch (err) {
        process.stderr.write(`\ndistkv bench: ${(err as Error).message}\n`);
        process.exit(1);
      }
      if (tty) process.stderr.write('\n');
      const out = resolve(flags.out);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(out, 'bench.svg'), latencyChartSvg(report));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const l = report.latency_us;
      const ms = (us: number): string => (us / 1000).toFixed(3);
      process.stdout.write(
        [
          `${report.ops.completed} ops (${report.ops.gets} GET, ${report.ops.sets} SET, ${report.ops.errors} errors) in ${(report.duration_ms / 1000).toFixed(2)} s: ${report.throughput_ops_s} ops/s`,
          `latency ms: p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p99_9)}  max ${ms(l.max)}`,
          ...Object.entries(report.ops.error_codes).map(([code, n]) => `errors ${code}: ${n}`),
          `report: ${join(out, 'bench.json')}  chart: ${join(out, 'bench.svg')}`,
          '',
        ].join('\n'),
      );
      if (report.ops.errors > 0) process.exitCode = 1;
    });
}
