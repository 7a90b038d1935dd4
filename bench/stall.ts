// `pnpm bench stall`: how long a node's event loop can block, next to the
// election timeout. The lease (chapter 5) no longer assumes a node never
// stalls: ticks are counted before every step, so a stalled follower votes
// no earlier than it should. But a stall longer than the election timeout
// still costs liveness: a stalled leader is voted out, a stalled follower
// campaigns when it wakes. This measures the two synchronous stalls a node
// has: compaction's copy of the whole store into one snapshot buffer
// (driver/compaction.ts, `Buffer.concat([...store.snapshot()])`) and a full
// garbage collection of a heap holding that store. Method: a Store of N keys
// (16-byte keys, 100-byte values), the copy timed 5 times (the worst
// counts), then `gc()` (the bench runs with --expose-gc) timed 5 times; an
// event-loop delay histogram (perf_hooks) confirms what the loop saw. Prints
// a table, then one JSON line.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Store } from '@distkv/core';
import { electionDefaults, loopbackTimings } from '@distkv/replication';
import { printJsonLine, printTable } from './lib.js';

const SIZES = [10_000, 100_000, 1_000_000];
const REPEATS = 5;
const VALUE = Buffer.alloc(100, 'v');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run through `pnpm bench stall` (it passes --expose-gc)');
  process.exit(2);
}

const turn = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The longest of REPEATS runs of `fn`, each after the loop has turned (so the delay histogram sees each stall). */
async function worstMs(fn: () => void): Promise<number> {
  let worst = 0;
  for (let i = 0; i < REPEATS; i++) {
    await turn(30);
    const t0 = performance.now();
    fn();
    worst = Math.max(worst, performance.now() - t0);
  }
  return worst;
}

// Next to the tightest timing distkv ships (loopback, what cluster up uses); the LAN default's is shown too.
const electionTimeoutMs = loopbackTimings.tickMs * loopbackTimings.electionTimeoutTicks;
const lanElectionTimeoutMs = electionDefaults.tickMs * electionDefaults.electionTimeoutTicks;
const figures: Record<string, number> = { election_timeout_ms: electionTimeoutMs, lan_election_timeout_ms: lanElectionTimeoutMs };
const rows: Array<[string, string]> = [];
for (const keys of SIZES) {
  const store = new Store({ limits: { keysMax: keys + 1, dataBytesMax: keys * 200 } });
  for (let i = 0; i < keys; i++) store.put(`key:${String(i).padStart(12, '0')}`, VALUE);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let bytes = 0;
  await turn(30); // the histogram's timer is armed before the first stall
  const copyMs = await worstMs(() => {
    bytes = Buffer.concat([...store.snapshot()]).byteLength;
  });
  const gcMs = await worstMs(() => gc());
  // The histogram records how late its own 10 ms timer fired, so it sees a stall once the loop runs again.
  await turn(50);
  loop.disable();
  const loopMaxMs = loop.max / 1e6;
  rows.push([
    `${keys.toLocaleString('en-US')} keys (${(bytes / 2 ** 20).toFixed(0)} MiB)`,
    `copy ${copyMs.toFixed(1)} ms, full GC ${gcMs.toFixed(1)} ms, loop delay max ${loopMaxMs.toFixed(1)} ms`,
  ]);
  figures[`copy_${keys}_ms`] = Math.round(copyMs * 10) / 10;
  figures[`gc_${keys}_ms`] = Math.round(gcMs * 10) / 10;
  figures[`loop_max_${keys}_ms`] = Math.round(loopMaxMs * 10) / 10;
}
printTable(
  `worst synchronous stall of 5, election timeout ${electionTimeoutMs} ms (loopback; LAN default ${lanElectionTimeoutMs} ms)`,
  rows,
);
const worst = Math.max(...Object.entries(figures).flatMap(([k, v]) => (k.startsWith('copy_') || k.startsWith('gc_') ? [v] : [])));
figures.worst_stall_ms = worst;
figures.worst_over_election_timeout = Math.round((worst / electionTimeoutMs) * 100) / 100;
printJsonLine(figures);
