// Goal: Raft's safety properties hold in thousands of adversarial runs, and a broken variant is caught.
// Method: seeded scenarios (loss, duplication, reordering, partitions, crashes with torn writes, compaction) checked at every step.
import { firstFailingRun } from '@distkv/core/testing';
import { formatFailure, runScenario, type ScenarioResult } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

// issue 17: at least 5,000 seeds a CI run (about 15 s); the election package's simulator runs 9,500 more.
const SEEDS = 5_000;
const CHUNK = 1_000;

describe('simulator: §5.3 log matching, §5.4 safety, §7 catch-up by snapshot', () => {
  // Each chunk checks that it exercised what it claims to check (not vacuous), on its own seeds: a check
  // that summed over other `it` blocks would pass or fail by which of them ran (a -t filter, a retry).
  it.each(Array.from({ length: SEEDS / CHUNK }, (_, i) => i * CHUNK))(
    'seeds %i.. : every check passes at every step, every node converges to the same digest, and the faults happened',
    (first) => {
      const totals = { committed: 0, crashes: 0, snapshotsInstalled: 0, lost: 0 };
      for (let seed = first; seed < first + CHUNK; seed++) {
        const r = runScenario({ seed });
        if (!r.ok) expect.fail(formatFailure(r));
        totals.committed += r.stats.committed;
        totals.crashes += r.stats.crashes;
        totals.snapshotsInstalled += r.stats.snapshotsInstalled;
        totals.lost += r.stats.lost;
      }
      expect(totals.committed).toBeGreaterThan(CHUNK * 10);
      expect(totals.crashes).toBeGreaterThan(CHUNK);
      expect(totals.snapshotsInstalled).toBeGreaterThan(CHUNK / 10);
      expect(totals.lost).toBeGreaterThan(CHUNK);
    },
  );

  it('replays a seed exactly', () => {
    const a = runScenario({ seed: 4242, traceLinesMax: 10_000 });
    const b = runScenario({ seed: 4242, traceLinesMax: 10_000 });
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
    expect(a.trace.length).toBeGreaterThan(100);
  });

  it('prints the seed and the command that replays it', () => {
    const r: ScenarioResult = { ...runScenario({ seed: 7 }), ok: false, failure: 'example' };
    expect(formatFailure(r)).toMatch(
      /^SEED=7\nexample\nreplay: pnpm --filter @distkv\/replication sim --seed 7\nlast events:\n /,
    );
    // `sim --seed` prints the whole trace first, then the failure without it: no empty "last events:" header.
    expect(formatFailure({ ...r, trace: [] })).toBe('SEED=7\nexample\nreplay: pnpm --filter @distkv/replication sim --seed 7');
  });
});

describe('the checker bites: a driver that sends before it persists (breaking the Ready contract)', () => {
  it('is caught within 200 seeds, with a named invariant', () => {
    const found = firstFailingRun(200, (seed) => runScenario({ seed, buggify: { sendBeforePersist: true } }));
    expect(found, 'no seed exposed the bug').toBeDefined();
    expect(found?.failure).toMatch(/invariant violated: (committed entry|node \d+ persisted|log matching|node \d+ applied)/);
  });
});

describe('the checker bites: a fixed leader that sends its appends before its own fsync', () => {
  // Only an elected leader may (Ready.earlyMessages): a fixed leader that
  // crashes before its fsync comes back in the same term and writes other
  // entries at indexes its followers already hold.
  it('is caught, with a named invariant', () => {
    const found = firstFailingRun(1_000, (seed) => runScenario({ seed, unsafe: { earlySendWithFixedLeader: true } }));
    expect(found, 'no seed exposed the bug').toBeDefined();
    expect(found?.failure).toMatch(/invariant violated/);
  });
});
