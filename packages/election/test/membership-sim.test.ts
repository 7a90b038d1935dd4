// Goal: membership changes (single-server changes, learners, auto-promotion, a removed leader handing over) keep every safety property under faults, and always complete once the network heals.
// Method: thousands of seeded Raft scenarios with the membership nemesis mixed into the faults (loss, duplication, reordering, partitions, crashes with torn writes, compaction), checked at every step against the configuration in force.
import { formatFailure } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';
import { runElectionScenario } from '../src/testing/index.js';

const SEEDS = 2_000;
const CHUNK = 500;
/** Liveness bound: a leader within this many ticks of healing, in every seed (election timeout is 10 ticks). */
const LIVENESS_TICKS_MAX = 200;

describe('simulator, raft elections with the membership nemesis: nodes join, are promoted and leave, the leader too', () => {
  // Each chunk checks its own coverage (not vacuous): totals summed over other `it` blocks would depend on which ran.
  it.each(Array.from({ length: SEEDS / CHUNK }, (_, i) => i * CHUNK))(
    'seeds %i.. : one leader per term, commits by a majority of the configuration in force, committed entries survive, every member converges',
    (first) => {
      const totals: Record<string, number> = {};
      const add = (counts: Record<string, number>): void => {
        for (const [k, v] of Object.entries(counts)) totals[k] = (totals[k] ?? 0) + v;
      };
      for (let seed = first; seed < first + CHUNK; seed++) {
        const r = runElectionScenario({ seed, election: 'raft', membership: true, livenessTicksMax: LIVENESS_TICKS_MAX });
        if (!r.ok) expect.fail(formatFailure(r));
        const m = r.stats.membership;
        if (m === undefined) expect.fail(`seed ${seed}: the membership nemesis did not run`);
        add({ ...m, crashes: r.stats.crashes, leaderTerms: r.stats.leaderTerms });
      }
      expect(totals.committed, 'changes committed').toBeGreaterThan(CHUNK * 2);
      // Not only the changes made once healed: some commit amid crashes, partitions and lost messages.
      expect(totals.committedAmidFaults, 'changes committed amid the faults').toBeGreaterThan(CHUNK / 5);
      expect(totals.joined, 'learners added').toBeGreaterThan(CHUNK / 2);
      expect(totals.promoted, 'learners promoted').toBeGreaterThan(CHUNK / 3);
      expect(totals.removed, 'members removed').toBeGreaterThan(CHUNK / 2);
      expect(totals.leadersRemoved, 'leaders that removed themselves and handed over').toBeGreaterThan(CHUNK / 10);
      expect(totals.refused, 'refusals (one change at a time, the term commit rule)').toBeGreaterThan(CHUNK);
      expect(totals.crashes).toBeGreaterThan(CHUNK);
      expect(totals.leaderTerms).toBeGreaterThan(CHUNK);
    },
  );

  it('replays a seed exactly, and prints the command that replays it', () => {
    const a = runElectionScenario({ seed: 4242, election: 'raft', membership: true, traceLinesMax: 10_000 });
    const b = runElectionScenario({ seed: 4242, election: 'raft', membership: true, traceLinesMax: 10_000 });
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
    expect(a.trace.some((l) => l.startsWith('conf '))).toBe(true);
    expect(a.replay).toBe('pnpm --filter @distkv/election sim --seed 4242 --steps 400 --election raft --membership');
  });

  it('needs an election that supports membership changes: Bully keeps the members it starts with', () => {
    expect(() => runElectionScenario({ seed: 1, election: 'bully', membership: true })).toThrow(/supports membership/);
  });
});
