import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { integer } from './arguments.js';

// #region doctor-rule
/** etcd's guidance: a WAL fsync p99 above 10 ms makes a disk too slow for a consensus log. */
export const FSYNC_P99_WARN_MS = 10;
/** Timers below this are noise for Node's event loop (GC pauses, a busy loop); no recommendation goes lower. */
export const HEARTBEAT_FLOOR_MS = 10;
/** etcd's rule of thumb: the election timeout is at least ten heartbeats (ten round trips). */
export const ELECTION_PER_HEARTBEAT = 10;

/**
 * A distkv follower answers an append only once it is on disk, so the
 * round trip a leader sees is the network's plus one fsync. The heartbeat
 * is that round trip (never under the floor); the election timeout ten
 * heartbeats. distkv counts both in ticks, so the advice is a tick of one
 * heartbeat, a heartbeat every tick and an election timeout of ten ticks.
 * The round trip measured is loopback's: advice for nodes on this machine.
 * Across a network, TCP's retransmission timeout (200 ms at least) sets
 * the floor instead, which --timing lan's 2 s election timeout rides out.
 */
export function recommend(m: { rttP99Ms: number; fsyncP99Ms: number }): {
  heartbeatMs: number;
  electionMs: number;
  tickMs: number;
  warnings: string[];
} {
  const heartbeatMs = Math.max(HEARTBEAT_FLOOR_MS, Math.ceil(m.rttP99Ms + m.fsyncP99Ms));
  const warnings: string[] = [];
  if (m.fsyncP99Ms > FSYNC_P99_WARN_MS) {
    warnings.push(
      `fsync p99 is ${m.fsyncP99Ms.toFixed(2)} ms, above ${FSYNC_P99_WARN_MS} ms: this disk is too slow for a Raft log. ` +
        'Every write waits for it on a majority, and a short election timeout will see leaders as dead. Use an SSD, or raise --tick-ms.',
    );
  }
  return { heartbeatMs, electionMs: ELECTION_PER_HEARTBEAT * heartbeatMs, tickMs: heartbeatMs, warnings };
}
// #endregion doctor-rule

function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1)] as number;
}

function summary(samplesMs: number[]): { count: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** Appends 4 KiB and fdatasyncs, `count` times, in a scratch file inside `dir` (removed afterwards): the WAL's pattern. */
async function measureFsync(dir: string, count: number): Promise<number[]> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `.distkv-doctor-${process.pid}.tmp`);
  const file = await open(path, 'w');
  const block = Buffer.alloc(4096, 0x5a);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await file.write(block, 0, block.length, i * block.length);
      await file.datasync();
      samples.push(elapsedMs(start));
    }
  } finally {
    await file.close();
    rmSync(path, { force: true });
  }
  return samples;
}

/** One byte there and back over loopback TCP (Nagle off), `count` times. */
async function measureRoundTrip(count: number): Promise<number[]> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((done) => socket.once('connect', done));
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      const back = new Promise<void>((done) => socket.once('data', () => done()));
      socket.write('x');
      await back;
      samples.push(elapsedMs(start));
    }
  } finally {
    socket.destroy();
    await new Promise<void>((done) => server.close(() => done()));
  }
  return samples;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description("measure this disk's fsync latency and the loopback round trip; recommend heartbeat and election timeouts")
    .option('--data-dir <dir>', 'where to measure fsync (the disk the nodes will write to)', './data')
    .addOption(new Option('--fsync-count <n>', 'fsyncs to time').default(100).argParser(integer('--fsync-count', 1, 100_000)))
    .addOption(new Option('--rtt-count <n>', 'round trips to time').default(1000).argParser(integer('--rtt-count', 1, 1_000_000)))
    .option('--json', 'print the measurements and the advice as JSON')
    .addHelpText(
      'after',
      [
        '',
        `Rule: heartbeat = max(${HEARTBEAT_FLOOR_MS} ms, round trip p99 + fsync p99); election = ${ELECTION_PER_HEARTBEAT} x heartbeat`,
        `(etcd: heartbeat near the round trip, election at least ten times it). Warns when fsync p99 > ${FSYNC_P99_WARN_MS} ms.`,
        'The round trip is measured on loopback: the advice is for nodes on this machine (see --timing on distkv server).',
        '',
        'Examples:',
        '  distkv doctor',
        '  distkv doctor --data-dir /var/lib/distkv --json',
      ].join('\n'),
    )
    .action(async (flags: { dataDir: string; fsyncCount: number; rttCount: number; json?: boolean }) => {
      const dir = resolve(flags.dataDir);
      const fsync = summary(await measureFsync(dir, flags.fsyncCount));
      const rtt = summary(await measureRoundTrip(flags.rttCount));
      const advice = recommend({ rttP99Ms: rtt.p99Ms, fsyncP99Ms: fsync.p99Ms });
      const report = {
        data_dir: dir,
        fsync_ms: { count: fsync.count, p50: fsync.p50Ms, p99: fsync.p99Ms, max: fsync.maxMs },
        round_trip_ms: { count: rtt.count, p50: rtt.p50Ms, p99: rtt.p99Ms, max: rtt.maxMs },
        rule: `heartbeat = max(${HEARTBEAT_FLOOR_MS}, round_trip_p99 + fsync_p99); election = ${ELECTION_PER_HEARTBEAT} x heartbeat`,
        heartbeat_ms: advice.heartbeatMs,
        election_ms: advice.electionMs,
        tick_ms: advice.tickMs,
        flags: `--tick-ms ${advice.tickMs} --heartbeat-ticks 1 --election-ticks ${ELECTION_PER_HEARTBEAT}`,
        applies_to:
          'nodes on this machine (loopback); across a network keep --timing lan unless its round trips and loss are measured',
        warnings: advice.warnings,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const out = [
        `fsync (4 KiB append + fdatasync in ${dir}): p50 ${fsync.p50Ms} ms, p99 ${fsync.p99Ms} ms, max ${fsync.maxMs} ms (${fsync.count} samples)`,
        `loopback TCP round trip: p50 ${rtt.p50Ms} ms, p99 ${rtt.p99Ms} ms, max ${rtt.maxMs} ms (${rtt.count} samples)`,
        '',
        `Rule: ${report.rule}`,
        `Recommended: heartbeat ${advice.heartbeatMs} ms, election timeout ${advice.electionMs} ms`,
        `  distkv server ... ${report.flags}    (election timeout = ${ELECTION_PER_HEARTBEAT} to ${2 * ELECTION_PER_HEARTBEAT} ticks)`,
        `That is for nodes on this machine: the round trip measured is loopback's, and cluster up's --timing loopback`,
        `(tick 10 ms, heartbeat 30 ms, election timeout 150-300 ms) is already close. Across a network keep --timing lan`,
        '(election timeout 2-4 s): a lost TCP segment is resent only after 200 ms or more, doubling each time it is lost again.',
        ...advice.warnings.map((w) => `WARNING: ${w}`),
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
