/**
 * `pnpm sim --seeds N [--from S]` runs N scenarios; `pnpm sim --seed n`
 * replays one and prints its trace. `--buggify-send-before-persist` and
 * `--unsafe-commit-previous-term` and `--unsafe-early-send-fixed-leader` run the deliberately broken variants;
 * `--steps N` makes each scenario longer (default 200). The leader is fixed (phase 4); elections
 * run in `@distkv/election`'s own `sim` (`--election raft|bully`). Exit code 1 on the first
 * failure, which is printed with its seed and replay command.
 */
import { intFlag, simMain } from './sim-main.js';
import { runScenario, type ScenarioOptions } from './simulator.js';

const steps = intFlag('--steps');
const variant: Omit<ScenarioOptions, 'seed'> = {
  ...(steps !== undefined ? { stepsMax: steps } : {}),
  ...(process.argv.includes('--buggify-send-before-persist') ? { buggify: { sendBeforePersist: true } } : {}),
  ...(process.argv.includes('--unsafe-commit-previous-term') ? { unsafe: { commitPreviousTermEntries: true } } : {}),
  ...(process.argv.includes('--unsafe-early-send-fixed-leader') ? { unsafe: { earlySendWithFixedLeader: true } } : {}),
};

if (process.argv.includes('--election')) {
  console.error('elections live in @distkv/election: pnpm --filter @distkv/election sim --election raft|bully');
  process.exit(2);
}

let committed = 0;
const done = simMain(
  (seed, traceLinesMax) => runScenario({ ...variant, seed, ...(traceLinesMax !== undefined ? { traceLinesMax } : {}) }),
  (r) => {
    committed += r.stats.committed;
  },
);
if (done !== undefined) {
  console.log(`${done.seeds} seeds from ${done.from} ok in ${done.ms} ms (${committed} entries committed in total)`);
}
