// pnpm bench wal — durability cost of @distkv/wal, measured honestly.
// Method: (1) the disk's own fdatasync latency: write 100 bytes + fdatasync
// in a loop for a second, just before each one-writer run, three times; the
// one-writer fraction pairs each run with its own probe. (2) durable puts through DurableStore
// (fsync 'always': a put resolves only after fdatasync) with 1, 16, 64 and
// 256 concurrent writers, each writer awaiting its put before the next, for
// a fixed time per run: "immediate" is flush-per-write (batchEntriesMax = 1,
// one fdatasync per put, the seed's SETBATCH 1) and "group" is group commit
// (one fdatasync in flight, the rest form the next batch); each figure is
// the median of three runs. (3) replay: open
// a DurableStore over a 1,000,000-entry log (puts of 16-byte keys and
// 32-byte values) with no snapshot. (4) restart: a 1,000,000-key snapshot
// plus a 100,000-entry tail. Data lives under os.tmpdir() and is removed.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands, encodeCommand } from '@distkv/core';
import { DurableStore, nodeFileSystem, Wal, type WalFileSystem } from '@distkv/wal';
import { printJsonLine, printTable } from './lib.js';

const RUN_MS = Number(process.env.DISTKV_BENCH_RUN_MS ?? 1000);
const REPLAY_ENTRIES = Number(process.env.DISTKV_BENCH_REPLAY ?? 1_000_000);
const TAIL_ENTRIES = 100_000;
const WRITERS = [1, 16, 64, 256];
const root = mkdtempSync(join(tmpdir(), 'distkv-bench-wal-'));
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * fdatasync of a 100-byte append in a loop for `ms`: the physical ceiling of
 * one writer is 1e6 / mean latency. Time-bounded, so it samples the disk
 * over the same kind of window as the put runs it is compared with.
 */
function fsyncProbe(ms: number): { samplesUs: number[]; meanUs: number } {
  const fd = openSync(join(root, 'fsync-probe'), 'w');
  const bytes = Buffer.alloc(100, 1);
  const samplesUs: number[] = [];
  const deadline = performance.now() + ms;
  try {
    // Bounded by the deadline (and a count cap in case the clock misbehaves).
    while (performance.now() < deadline && samplesUs.length < 1_000_000) {
      writeSync(fd, bytes);
      const start = process.hrtime.bigint();
      fdatasyncSync(fd);
      samplesUs.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  } finally {
    closeSync(fd);
  }
  return { samplesUs, meanUs: samplesUs.reduce((a, b) => a + b, 0) / samplesUs.length };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The median of three runs: this machine's disk is shared, and one run can be unlucky. */
async function medianOf3(run: () => Promise<number>): Promise<number> {
  const results = [await run(), await run(), await run()].sort((a, b) => a - b);
  return results[1] as number;
}

/** Counts fdatasyncs and the time spent in them, so the table can show entries per fsync. */
const syncCount = { calls: 0, us: 0 };
const countingFs: WalFileSystem = {
  ...nodeFileSystem,
  async open(path, flags) {
    const file = await nodeFileSystem.open(path, flags);
    return {
      write: (bytes, offset, length, position) => file.write(bytes, offset, length, position),
      read: (into, offset, length, position) => file.read(into, offset, length, position),
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
      async datasync() {
        const start = performance.now();
        await file.datasync();
        syncCount.us += (performance.now() - start) * 1000;
        syncCount.calls++;
      },
    };
  },
};
/** Entries per fdatasync and mean fdatasync time (as the log saw it) of the last group run per writer count. */
const batching = new Map<number, { entriesPerSync: number; syncUs: number }>();

/** Durable puts per second with `writers` concurrent writers for RUN_MS. */
async function durablePuts(writers: number, mode: 'immediate' | 'group'): Promise<number> {
  const dir = join(root, `puts-${mode}-${writers}`);
  const store = await DurableStore.open({
    dir,
    fsync: 'always',
    snapshotEveryEntries: 0,
    fs: countingFs,
    walLimits: mode === 'immediate' ? { batchEntriesMax: 1 } : {},
  });
  const value = Buffer.alloc(100, 'v');
  syncCount.calls = 0;
  syncCount.us = 0;
  const deadline = performance.now() + RUN_MS;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      // Bounded by the deadline: each pass awaits one durable put.
      for (let i = 0; performance.now() < deadline; i++) {
        await store.execute(commands.put(`w${w}-${i}`, value));
        done++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  if (mode === 'group') batching.set(writers, { entriesPerSync: done / syncCount.calls, syncUs: syncCount.us / syncCount.calls });
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return Math.round(done / seconds);
}

function keyOf(i: number): string {
  return `key-${String(i).padStart(12, '0')}`;
}

/** Writes `count` put entries straight into a log (fsync 'none', large batches): the setup, not the measurement. */
async function writeLog(dir: string, from: number, count: number): Promise<void> {
  const wal = await Wal.open({ dir, fsync: 'none' });
  const value = 'v'.repeat(32);
  const chunk = 10_000;
  for (let i = 0; i < count; i += chunk) {
    const acks = [];
    for (let j = i; j < Math.min(count, i + chunk); j++)
      acks.push(wal.append({ payload: encodeCommand(commands.put(keyOf(from + j), value)) }));
    await Promise.all(acks);
  }
  await wal.close();
}

async function timedOpen(dir: string): Promise<{ ms: number; size: number; lastIndex: number }> {
  gc?.();
  const start = performance.now();
  const store = await DurableStore.open({ dir, snapshotEveryEntries: 0 });
  const ms = performance.now() - start;
  const result = { ms, size: store.store.size, lastIndex: store.lastIndex };
  await store.close();
  return result;
}

async function main(): Promise<void> {
  // One writer: probe the disk, then fsync-per-write, then group commit, three
  // times over; each repetition compares group commit with its own probe.
  const probes: number[] = [];
  const ratios: number[] = [];
  const immediate1: number[] = [];
  const group1: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const probe = fsyncProbe(RUN_MS);
    probes.push(...probe.samplesUs);
    immediate1.push(await durablePuts(1, 'immediate'));
    group1.push(await durablePuts(1, 'group'));
    ratios.push((group1[rep] as number) / (1e6 / probe.meanUs));
  }
  const fsyncMeanUs = probes.reduce((a, b) => a + b, 0) / probes.length;
  const figures: Record<string, number> = {
    fsync_latency_us: Math.round(fsyncMeanUs * 10) / 10,
    immediate_ops_s_1: median(immediate1),
    group_ops_s_1: median(group1),
    one_writer_vs_fsync_ceiling: Math.round(median(ratios) * 100) / 100,
  };
  const rows: Array<[string, string | number]> = [
    ['fdatasync latency, mean (us)', figures.fsync_latency_us as number],
    ['fdatasync latency, median (us)', Math.round(median(probes) * 10) / 10],
    [
      'fdatasync latency, p99 (us)',
      Math.round((probes.sort((a, b) => a - b)[Math.floor(probes.length * 0.99)] as number) * 10) / 10,
    ],
    ['one-writer ceiling, 1e6 / mean (puts/s)', Math.round(1e6 / fsyncMeanUs)],
    ['1 writer(s): fsync per write (puts/s)', figures.immediate_ops_s_1 as number],
    ['1 writer(s): group commit (puts/s)', figures.group_ops_s_1 as number],
  ];
  for (const writers of WRITERS.filter((w) => w > 1)) {
    const immediate = await medianOf3(() => durablePuts(writers, 'immediate'));
    const group = await medianOf3(() => durablePuts(writers, 'group'));
    figures[`immediate_ops_s_${writers}`] = immediate;
    figures[`group_ops_s_${writers}`] = group;
    rows.push([`${writers} writer(s): fsync per write (puts/s)`, immediate]);
    rows.push([`${writers} writer(s): group commit (puts/s)`, group]);
  }
  for (const [writers, b] of [...batching].sort((x, y) => x[0] - y[0])) {
    rows.push([
      `${writers} writer(s): entries per fdatasync / its mean time as the log saw it (us)`,
      `${b.entriesPerSync.toFixed(1)} / ${b.syncUs.toFixed(0)}`,
    ]);
  }
  figures.group_vs_immediate_64 =
    Math.round(((figures.group_ops_s_64 as number) / (figures.immediate_ops_s_64 as number)) * 100) / 100;
  rows.push(['group / immediate, 64 writers (target >= 20)', figures.group_vs_immediate_64]);
  rows.push(['1 writer / fsync ceiling, median of 3 paired runs (target >= 0.9)', figures.one_writer_vs_fsync_ceiling as number]);

  const replayDir = join(root, 'replay');
  await writeLog(replayDir, 0, REPLAY_ENTRIES);
  gc?.();
  const scanStart = performance.now();
  const scanned = await Wal.open({ dir: replayDir });
  const scanMs = performance.now() - scanStart;
  await scanned.close();
  rows.push(['log scan only: read + verify 1M records (entries/s)', Math.round(REPLAY_ENTRIES / (scanMs / 1000))]);
  const replay = await timedOpen(replayDir);
  if (replay.lastIndex !== REPLAY_ENTRIES || replay.size !== REPLAY_ENTRIES) throw new Error('replay lost entries');
  figures.replay_entries_s = Math.round(REPLAY_ENTRIES / (replay.ms / 1000));
  rows.push([
    `replay ${REPLAY_ENTRIES.toLocaleString('en-US')} puts into a Store (entries/s, target >= 1,000,000)`,
    figures.replay_entries_s,
  ]);

  // Restart: snapshot the replayed store, then a 100,000-entry tail after it.
  const store = await DurableStore.open({ dir: replayDir, snapshotEveryEntries: 0 });
  await store.snapshot();
  await store.close();
  await writeLog(replayDir, REPLAY_ENTRIES, TAIL_ENTRIES);
  const restart = await timedOpen(replayDir);
  if (restart.size !== REPLAY_ENTRIES + TAIL_ENTRIES) throw new Error('restart lost entries');
  figures.restart_1m_ms = Math.round(restart.ms);
  rows.push(['restart: 1M-key snapshot + 100k tail (ms, target < 2000)', figures.restart_1m_ms]);

  printTable('@distkv/wal durability (fsync = fdatasync, policy always)', rows);
  printJsonLine({
    fsync_latency_us: figures.fsync_latency_us as number,
    immediate_ops_s_1: figures.immediate_ops_s_1 as number,
    group_ops_s_1: figures.group_ops_s_1 as number,
    immediate_ops_s_16: figures.immediate_ops_s_16 as number,
    group_ops_s_16: figures.group_ops_s_16 as number,
    immediate_ops_s_64: figures.immediate_ops_s_64 as number,
    group_ops_s_64: figures.group_ops_s_64 as number,
    immediate_ops_s_256: figures.immediate_ops_s_256 as number,
    group_ops_s_256: figures.group_ops_s_256 as number,
    group_vs_immediate_64: figures.group_vs_immediate_64 as number,
    one_writer_vs_fsync_ceiling: figures.one_writer_vs_fsync_ceiling as number,
    replay_entries_s: figures.replay_entries_s,
    restart_1m_ms: figures.restart_1m_ms,
  });
}

try {
  await main();
} finally {
  rmSync(root, { recursive: true, force: true });
}
