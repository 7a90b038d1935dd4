/**
 * The election scenarios of phase 5, on `@distkv/replication`'s simulator:
 * the same seeded faults (loss, duplication, reordering, partitions,
 * crashes with torn writes, compaction), with nobody configured to lead.
 * `raft` must keep every safety property and elect a leader within a
 * bounded number of ticks once the network heals; `bully` is expected to
 * break one, and `findBullyFailure` searches seeds until it does.
 */
import { runScenario, type ScenarioOptions, type ScenarioResult } from '@distkv/replication/testing';
import { type BullyOptions, bullyElection } from '../bully.js';
import { electionError } from '../errors.js';
import { raftElection } from '../raft-election.js';

export type ElectionAlgorithm = 'raft' | 'bully';

// #region election-scenario
export type ElectionScenarioOptions = Omit<ScenarioOptions, 'election' | 'replayPackage'> & {
  election: ElectionAlgorithm;
  /** Raft only; default true. `false` replays as `--no-pre-vote`. */
  preVote?: boolean;
  /** Raft only; default true. `false` replays as `--no-check-quorum`. */
  checkQuorum?: boolean;
  /** Bully only. `termStriping: false` replays as `--election bully --naive-terms`. */
  bully?: BullyOptions;
};

/** Defaults for election runs: longer than phase 4's (200 steps), so each seed sees several leaders. */
export const electionStepsDefault = 400;

export function runElectionScenario(options: ElectionScenarioOptions): ScenarioResult {
  const { election, bully, preVote, checkQuorum, ...rest } = options;
  if (election !== 'raft' && election !== 'bully') {
    throw electionError('ELECTION_CONFIG_INVALID', `election must be raft or bully, got ${String(election)}`);
  }
  // The name is what the replay command passes to --election.
  const raftFlags = `${preVote === false ? ' --no-pre-vote' : ''}${checkQuorum === false ? ' --no-check-quorum' : ''}`;
  return runScenario({
    stepsMax: electionStepsDefault,
    ...rest,
    replayPackage: '@distkv/election',
    election:
      election === 'raft'
        ? {
            name: `raft${raftFlags}`,
            create: (_id, rng) =>
              raftElection({
                rng,
                ...(preVote !== undefined ? { preVote } : {}),
                ...(checkQuorum !== undefined ? { checkQuorum } : {}),
              }),
          }
        : {
            name: bully?.termStriping === false ? 'bully --naive-terms' : 'bully',
            create: () => bullyElection(bully),
          },
  });
}
// #endregion election-scenario

// #region find-bully-failure
/**
 * Searches seeds [first, first + count) for a Bully run that breaks a
 * safety property, and returns the first (or undefined; bounded). By
 * default it looks for an actual loss: leader completeness is not checked
 * when a leader takes office, so a stale leader runs until it overwrites
 * an entry some node already applied — a committed, acknowledged write.
 */
export function findBullyFailure(
  first: number,
  count: number,
  options: Omit<ElectionScenarioOptions, 'seed' | 'election'> = {},
): ScenarioResult | undefined {
  for (let seed = first; seed < first + count; seed++) {
    const r = runElectionScenario({ checkLogsHoldCommitted: false, ...options, seed, election: 'bully' });
    if (!r.ok) return r;
  }
  return undefined;
}
// #endregion find-bully-failure
