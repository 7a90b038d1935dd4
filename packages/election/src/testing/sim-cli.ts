/**
 * `pnpm --filter @distkv/election sim --election raft|bully --seeds N [--from S]`
 * runs N election scenarios; `--seed n` replays one and prints its trace.
 * `--read-mode lease|stale`, `--no-pre-vote`, `--no-check-quorum` and
 * `--steps N` vary it; `--naive-terms` gives Bully coordinators simply the next term;
 * `--only-applied-safety` lets a leader that lacks committed entries run, to see what it does with them. Exit code 1 on the first failure, printed with its
 * seed and replay command. For bully a failure is the expected outcome.
 * `--churn` runs the leader-churn generator instead (Raft, no clock; see churn.ts), and
 * `--episodes` the Figure-8-shaped one (episodes.ts); both take `--unsafe-commit-previous-term`.
 * `--membership` adds the membership nemesis (Raft only: nodes join, are promoted, leave, the leader too);
 * `--unsafe-conf-change-before-term-commit` turns off the 2015 fix to single-server changes.
 */
import type { ReadMode } from '@distkv/replication';
import { intFlag, simMain } from '@distkv/replication/testing';
import { runLeaderChurn } from './churn.js';
import { runLeaderEpisodes } from './episodes.js';
import { type ElectionAlgorithm, type ElectionScenarioOptions, runElectionScenario } from './scenarios.js';

function word(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const election = (word('--election') ?? 'raft') as ElectionAlgorithm;
if (election !== 'raft' && election !== 'bully') {
  console.error('--election must be raft or bully');
  process.exit(2);
}
const readMode = word('--read-mode') as ReadMode | undefined;
const steps = intFlag('--steps');
const variant: Omit<ElectionScenarioOptions, 'seed'> = {
  election,
  ...(steps !== undefined ? { stepsMax: steps } : {}),
  ...(readMode !== undefined ? { readMode } : {}),
  ...(process.argv.includes('--no-pre-vote') ? { preVote: false } : {}),
  ...(process.argv.includes('--no-check-quorum') ? { checkQuorum: false } : {}),
  ...(process.argv.includes('--only-applied-safety') ? { checkLogsHoldCommitted: false } : {}),
  ...(process.argv.includes('--naive-terms') ? { bully: { termStriping: false } } : {}),
  ...(process.argv.includes('--membership') ? { membership: true } : {}),
};
const unsafe = {
  ...(process.argv.includes('--unsafe-commit-previous-term') ? { commitPreviousTermEntries: true } : {}),
  ...(process.argv.includes('--unsafe-conf-change-before-term-commit') ? { confChangeBeforeTermCommit: true } : {}),
};
if (Object.keys(unsafe).length > 0) variant.unsafe = unsafe;

const churn = process.argv.includes('--churn');
const episodes = process.argv.includes('--episodes');
const run = (options: Omit<ElectionScenarioOptions, 'seed'> & { seed: number; traceLinesMax?: number }) => {
  const generic = {
    seed: options.seed,
    ...(options.traceLinesMax !== undefined ? { traceLinesMax: options.traceLinesMax } : {}),
    ...(options.unsafe !== undefined ? { unsafe: options.unsafe } : {}),
  };
  if (churn) return runLeaderChurn(generic);
  if (episodes) return runLeaderEpisodes(generic);
  return runElectionScenario(options);
};

let committed = 0;
let electedAfterTicksMax = 0;
let leaderTerms = 0;
const done = simMain(
  (seed, traceLinesMax) => run({ ...variant, seed, ...(traceLinesMax !== undefined ? { traceLinesMax } : {}) }),
  (r) => {
    committed += r.stats.committed;
    leaderTerms += r.stats.leaderTerms;
    electedAfterTicksMax = Math.max(electedAfterTicksMax, r.stats.electedAfterTicks);
  },
);
if (done !== undefined) {
  const what =
    churn || episodes
      ? `${leaderTerms} leaders elected in total`
      : `${committed} entries committed; a leader within ${electedAfterTicksMax} ticks of healing in every seed`;
  console.log(
    `${churn ? 'churn' : episodes ? 'episodes' : election}: ${done.seeds} seeds from ${done.from} ok in ${done.ms} ms (${what})`,
  );
}
