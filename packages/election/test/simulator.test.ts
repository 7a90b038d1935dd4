// Goal: with nobody configured to lead, Raft elections keep every safety property and always elect a leader after healing.
// Method: thousands of seeded scenarios (loss, duplication, reordering, partitions, crashes with torn writes, compaction, reads, transfers), checked at every step.
import { firstFailingRun } from '@distkv/core/testing';
import { formatFailure, type ScenarioResult } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';
import { runElectionScenario, runLeaderChurn, runLeaderEpisodes } from '../src/testing/index.js';

const SEEDS = 2_000;
const CHUNK = 500;
/** Liveness bound: a leader within this many ticks of healing, in every seed (election timeout is 10 ticks). */
const LIVENESS_TICKS_MAX = 200;

describe('simulator, raft elections: §5.2 election safety, §5.4 leader completeness and state machine safety, liveness', () => {
  // Each chunk checks its own coverage (not vacuous): totals summed over other `it` blocks would depend on which ran.
  it.each(Array.from({ length: SEEDS / CHUNK }, (_, i) => i * CHUNK))(
    'seeds %i.. (ReadIndex): "at most one leader can be elected in a given term", committed entries survive, reads are linearizable, a leader is elected after healing',
    (first) => {
      const totals = {
        committed: 0,
        crashes: 0,
        leaderTerms: 0,
        reads: 0,
        electedAfterTicksMax: 0,
        earlySends: 0,
        earlyApplies: 0,
      };
      for (let seed = first; seed < first + CHUNK; seed++) {
        const r = runElectionScenario({ seed, election: 'raft', livenessTicksMax: LIVENESS_TICKS_MAX });
        if (!r.ok) expect.fail(formatFailure(r));
        totals.committed += r.stats.committed;
        totals.crashes += r.stats.crashes;
        totals.leaderTerms += r.stats.leaderTerms;
        totals.reads += r.stats.reads;
        totals.earlySends += r.stats.earlySends;
        totals.earlyApplies += r.stats.earlyApplies;
        totals.electedAfterTicksMax = Math.max(totals.electedAfterTicksMax, r.stats.electedAfterTicks);
      }
      expect(totals.leaderTerms, 'several leaders per seed on average').toBeGreaterThan(CHUNK);
      expect(totals.committed).toBeGreaterThan(CHUNK * 3);
      expect(totals.crashes).toBeGreaterThan(CHUNK);
      expect(totals.reads).toBeGreaterThan(CHUNK / 4);
      // The leader's appends leave before its fsync (Ready.earlyMessages), crashes fall in between, and commits apply outside Readys.
      expect(totals.earlySends, 'early sends').toBeGreaterThan(CHUNK);
      expect(totals.earlyApplies, 'early applies').toBeGreaterThan(CHUNK / 10);
      expect(totals.electedAfterTicksMax).toBeGreaterThan(0);
      expect(totals.electedAfterTicksMax).toBeLessThanOrEqual(LIVENESS_TICKS_MAX);
    },
  );

  it('seeds 0..999 with leader leases (read-mode lease, §6.4.1): the same checks, reads without a round trip', () => {
    for (let seed = 0; seed < 1_000; seed++) {
      const r = runElectionScenario({ seed, election: 'raft', readMode: 'lease', livenessTicksMax: LIVENESS_TICKS_MAX });
      if (!r.ok) expect.fail(formatFailure(r));
    }
  });

  it('seeds 0..499 without pre-vote and check-quorum: the bare §5.2 rules are safe too', () => {
    for (let seed = 0; seed < 500; seed++) {
      const r = runElectionScenario({
        seed,
        election: 'raft',
        preVote: false,
        checkQuorum: false,
        livenessTicksMax: LIVENESS_TICKS_MAX,
      });
      if (!r.ok) expect.fail(formatFailure(r));
    }
  });

  it('replays a seed exactly', () => {
    const a = runElectionScenario({ seed: 4242, election: 'raft', traceLinesMax: 10_000 });
    const b = runElectionScenario({ seed: 4242, election: 'raft', traceLinesMax: 10_000 });
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
    expect(a.trace.length).toBeGreaterThan(100);
  });

  it('prints the seed and the command that replays it', () => {
    const r: ScenarioResult = { ...runElectionScenario({ seed: 7, election: 'raft' }), ok: false, failure: 'example' };
    expect(formatFailure(r)).toMatch(
      /^SEED=7\nexample\nreplay: pnpm --filter @distkv\/election sim --seed 7 --steps 400 --election raft\n/,
    );
  });
});

/** Runs seeds 0..seeds-1, failing on the first that does not pass; the leader terms they saw, in all. */
function leaderTermsOver(seeds: number, run: (seed: number) => ScenarioResult): number {
  let leaderTerms = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const r = run(seed);
    if (!r.ok) expect.fail(formatFailure(r));
    leaderTerms += r.stats.leaderTerms;
  }
  return leaderTerms;
}

describe('leader churn (no clock; timeouts fire when the generator says): the same checks under constant leader changes', () => {
  it('seeds 0..2999: every check passes at every step', () => {
    const leaderTerms = leaderTermsOver(3_000, (seed) => runLeaderChurn({ seed }));
    expect(leaderTerms, 'not vacuous: leaders are elected').toBeGreaterThan(1_000);
  });
});

describe('§5.4.2 Figure 8, found by the simulator: leadership episodes shaped like the figure', () => {
  it('seeds 0..2999 with the commit rule: every check passes', () => {
    expect(leaderTermsOver(3_000, (seed) => runLeaderEpisodes({ seed }))).toBeGreaterThan(3_000 * 3);
  });

  it('"a leader cannot immediately conclude that an entry from a previous term is committed once it is stored on a majority": without the rule, a seed in 0..999 loses a committed entry', () => {
    const found = firstFailingRun(1_000, (seed) => runLeaderEpisodes({ seed, unsafe: { commitPreviousTermEntries: true } }));
    expect(found, 'no seed exposed the broken commit rule').toBeDefined();
    if (found === undefined) return;
    console.log(formatFailure({ ...found, trace: found.trace.slice(-12) }));
    expect(found.failure).toMatch(/invariant violated: (leader completeness|node \d+ persisted|node \d+ applied)/);
    expect(found.replay).toBe(`pnpm --filter @distkv/election sim --episodes --seed ${found.seed} --unsafe-commit-previous-term`);
  });
});
