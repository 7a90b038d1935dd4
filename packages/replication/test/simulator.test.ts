// Goal: Raft's safety properties hold in thousands of adversarial runs, and a broken variant is caught.
// Method: seeded scenarios (loss, duplication, reordering, partitions, crashes with torn writes, compaction) checked at every step.

import { commands, encodeCommand } from '@distkv/core';
import { firstFailingRun } from '@distkv/core/testing';
import { type NodeId, seededRng } from '@distkv/replication';
import { formatFailure, runScenario, type ScenarioResult, SimCluster } from '@distkv/replication/testing';
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
  // Only an elected leader may (Ready.earlyMessages). A fixed leader's two
  // followers are a majority without it: they commit an entry the leader
  // has not synced, the leader applies it (a client hears OK), crashes
  // before its fsync, and leads again with the entry gone, writing another
  // at its index. The random search needs this exact interleaving (early
  // apply, then a crash inside the fsync that loses the write), too rare
  // to find in a CI run's seeds; until the simulator applied a split
  // Ready's committed entries as the driver does, its false alarm ("applied
  // 2 after 0") was all that search caught. So the run is driven by hand.
  const run = (earlySendWithFixedLeader: boolean): SimCluster => {
    const c = new SimCluster({
      ids: ['1', '2', '3'],
      rng: seededRng(1),
      splitLeaderPersist: true,
      unsafe: { earlySendWithFixedLeader },
    });
    const leader = '1' as NodeId;
    c.settle(20);
    c.propose(leader, encodeCommand(commands.put('k', 'acknowledged')));
    c.processReady(leader); // with the bug: appends out, the leader's own write not yet synced
    for (let round = 0; round < 10; round++) {
      for (const id of ['2', '3'] as NodeId[]) c.processReady(id);
      while (c.network.length > 0) c.deliver(0);
    }
    c.applyCommitted(leader); // committed by the followers: applied, the client answered
    c.crash(leader, { keepWrites: 0 }); // inside the fsync: nothing of it reached the platter
    c.restart(leader);
    c.propose(leader, encodeCommand(commands.put('k', 'other')));
    c.settle(50);
    return c;
  };

  it('is caught, with a named invariant', () => {
    expect(() => run(true)).toThrow(/leader completeness: 1 leads term 2 without committed entry 1\/2/);
  });

  it('and the same steps pass without it', () => {
    const c = run(false);
    expect(c.checkConverged()).toBeUndefined();
    expect(c.node('2').store.get('k')?.toString()).toBe('other');
  });
});
