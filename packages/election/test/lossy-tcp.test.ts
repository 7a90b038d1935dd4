// Goal (issue 17, item 5): the default election timing survives a lossy network. Peers talk TCP, so a lost segment
// comes again only after the retransmission timeout (at least 200 ms on Linux, doubling at each further loss) and
// holds up everything sent after it; the old defaults (10 ms ticks, election timeout 15 ticks = 150 ms) are shorter
// than one such wait, so a single loss could start an election. With the new LAN defaults (electionDefaults: 100 ms
// ticks, heartbeat 1 tick, election timeout 20 ticks = 2 s) a stable leader keeps its term at 20% loss.
// Method: replication's simulated cluster with Raft elections (pre-vote, check-quorum), run on a simulated clock with
// runTimed over LossyTcpLinks: 20% of transmissions lost on every link, 200 ms first RTO, in-order delivery. A leader
// is elected without loss first; then each seed runs 60 simulated seconds with loss and counts term changes. The same
// seeds with the old defaults must change terms, so the test can fail. Simulated time only: no wall clock.
import { electionDefaults, type NodeId, seededRng } from '@distkv/replication';
import { runTimed, SimCluster, type TimedRunResult } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';
import { raftElection } from '../src/index.js';

interface Timing {
  tickMs: number;
  heartbeatIntervalTicks: number;
  electionTimeoutTicks: number;
}
/** What distkv elected with before issue 17 (now the loopback preset). */
const OLD_DEFAULTS: Timing = { tickMs: 10, heartbeatIntervalTicks: 3, electionTimeoutTicks: 15 };
const SEEDS = 20;
const LOSS = 0.2;
const DURATION_MS = 60_000;

function lossyRun(seed: number, timing: Timing, options: { down?: NodeId } = {}): TimedRunResult & { leader: NodeId } {
  const cluster = new SimCluster({
    ids: ['1', '2', '3'],
    rng: seededRng(seed),
    election: (_id, rng) => raftElection({ rng }),
    heartbeatIntervalTicks: timing.heartbeatIntervalTicks,
    electionTimeoutTicks: timing.electionTimeoutTicks,
  });
  if (options.down !== undefined) cluster.crash(options.down);
  // Without loss first, for ten election timeouts: a leader, known to all.
  runTimed({
    cluster,
    tickMs: timing.tickMs,
    links: { lossProbability: 0 },
    durationMs: 10 * 2 * timing.electionTimeoutTicks * timing.tickMs,
    seed,
  });
  const leader = cluster.currentLeader();
  expect(leader, `seed ${seed}: a leader before the loss begins`).toBeDefined();
  const r = runTimed({
    cluster,
    tickMs: timing.tickMs,
    links: { lossProbability: LOSS },
    durationMs: DURATION_MS,
    seed: seed + 1,
  });
  return { ...r, leader: leader as NodeId };
}

describe('elections over lossy TCP links (20% loss, RTO 200 ms, in-order delivery)', () => {
  it(`the LAN defaults (${electionDefaults.tickMs} ms ticks, election timeout ${electionDefaults.electionTimeoutTicks} ticks): a stable leader keeps its term for ${DURATION_MS / 1000} s, in each of ${SEEDS} seeds`, () => {
    let retransmissionsLost = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const r = lossyRun(seed, electionDefaults);
      expect(r.termChanges, `seed ${seed}: term changes at 20% loss`).toBe(0);
      expect(r.links.lost / r.links.segments).toBeGreaterThan(0.15); // the loss really happened
      retransmissionsLost += r.links.retransmissionsLost;
    }
    // Not vacuous: segments lost twice and more (waits of 600 ms and longer) happened, and were ridden out.
    expect(retransmissionsLost).toBeGreaterThan(SEEDS * 10);
  });

  it('the old defaults (10 ms ticks, election timeout 15 ticks = 150 ms, under one RTO): the same seeds change terms', () => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const r = lossyRun(seed, OLD_DEFAULTS);
      expect(r.termChanges, `seed ${seed}: term changes at 20% loss`).toBeGreaterThan(0);
    }
  });

  it('two of three up (the namespace run of issue 17): not immune at 20% loss, but term changes are rarer by far', () => {
    // With one follower, the leader's check-quorum needs that one link: a segment lost four times in a row (3 s of
    // backoff) still deposes it now and then. The docs say so; what the defaults buy is a rate, measured here.
    let lan = 0;
    let old = 0;
    for (let seed = 0; seed < 10; seed++) {
      lan += lossyRun(seed, electionDefaults, { down: '3' as NodeId }).termChanges;
      old += lossyRun(seed, OLD_DEFAULTS, { down: '3' as NodeId }).termChanges;
    }
    expect(old).toBeGreaterThan(500); // about one term per second of the 600 s
    expect(lan).toBeLessThan(old / 20);
  });

  it('the runs replay exactly: one seed, the same result', () => {
    const a = lossyRun(7, electionDefaults);
    const b = lossyRun(7, electionDefaults);
    expect(b).toEqual(a);
  });
});
