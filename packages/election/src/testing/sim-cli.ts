/**
 * `pnpm --filter @distkv/election sim --election raft|bully --seeds N [--from S]`
 * runs N election scenarios; `--seed n` replays one and prints its trace.
 * `--read-mode lease|stale`, `--no-pre-vote`, `--no-check-quorum` and
 * `--steps N` vary it; `--naive-terms` gives Bully coordinators simply the next term;
 * `--only-applied-safety` lets a leader that lacks committed entries run, to see what it does with them. Exit code 1 on the first failure, printed with its
 * seed and replay command. For bully a failure is the expected outcome.
 * `--churn` runs the leader-churn generator instead (Raft, no clock; see churn.ts), and
 * `--episodes` the Figure-8-shaped one (episodes.ts); both take `--unsafe-commit-previous-term`.
 */
import type { ReadMode } from '@distkv/replication';
import { formatFailure } from '@distkv/replication/testing';
import { runLeaderChurn } from './churn.js';
import { runLeaderEpisodes } from './episodes.js';
import { type ElectionAlgorithm, type ElectionScenarioOptions, runElectionScenario } from './scenarios.js';

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) {
    console.error(`${name} needs a non-negative integer`);
    process.exit(2);
  }
  return v;
}

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
const seed = flag('--seed');
const seeds = flag('--seeds') ?? 1000;
const from = flag('--from') ?? 0;
const steps = flag('--steps');
const variant: Omit<ElectionScenarioOptions, 'seed'> = {
  election,
  ...(steps !== undefined ? { stepsMax: steps } : {}),
  ...(readMode !== undefined ? { readMode } : {}),
  ...(process.argv.includes('--no-pre-vote') ? { preVote: false } : {}),
  ...(process.argv.includes('--no-check-quorum') ? { checkQuorum: false } : {}),
  ...(process.argv.includes('--only-applied-safety') ? { checkLogsHoldCommitted: false } : {}),
  ...(process.argv.includes('--naive-terms') ? { bully: { termStriping: false } } : {}),
  ...(process.argv.includes('--unsafe-commit-previous-term') ? { unsafe: { commitPreviousTermEntries: true } } : {}),
};

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

if (seed !== undefined) {
  const r = run({ ...variant, seed, traceLinesMax: 100_000 });
  for (const line of r.trace) console.log(line);
  console.log(JSON.stringify(r.stats));
  if (!r.ok) {
    console.error(formatFailure({ ...r, trace: [] }));
    process.exit(1);
  }
  console.log(`SEED=${seed} ok`);
} else {
  const started = process.hrtime.bigint();
  let committed = 0;
  let electedAfterTicksMax = 0;
  let leaderTerms = 0;
  for (let s = from; s < from + seeds; s++) {
    const r = run({ ...variant, seed: s });
    committed += r.stats.committed;
    leaderTerms += r.stats.leaderTerms;
    electedAfterTicksMax = Math.max(electedAfterTicksMax, r.stats.electedAfterTicks);
    if (!r.ok) {
      console.error(formatFailure(r));
      process.exit(1);
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const what =
    churn || episodes
      ? `${leaderTerms} leaders elected in total`
      : `${committed} entries committed; a leader within ${electedAfterTicksMax} ticks of healing in every seed`;
  console.log(
    `${churn ? 'churn' : episodes ? 'episodes' : election}: ${seeds} seeds from ${from} ok in ${Math.round(ms)} ms (${what})`,
  );
}
