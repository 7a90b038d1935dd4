/**
 * `pnpm sim --seeds N [--from S]` runs N scenarios; `pnpm sim --seed n`
 * replays one and prints its trace. `--buggify-send-before-persist` and
 * `--unsafe-commit-previous-term` run the deliberately broken variants;
 * `--steps N` makes each scenario longer (default 200). The leader is fixed (phase 4); elections
 * run in `@distkv/election`'s own `sim` (`--election raft|bully`). Exit code 1 on the first
 * failure, which is printed with its seed and replay command.
 */
import { formatFailure, runScenario, type ScenarioOptions } from './simulator.js';

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

const seed = flag('--seed');
const seeds = flag('--seeds') ?? 1000;
const from = flag('--from') ?? 0;
const steps = flag('--steps');
const variant: Omit<ScenarioOptions, 'seed'> = {
  ...(steps !== undefined ? { stepsMax: steps } : {}),
  ...(process.argv.includes('--buggify-send-before-persist') ? { buggify: { sendBeforePersist: true } } : {}),
  ...(process.argv.includes('--unsafe-commit-previous-term') ? { unsafe: { commitPreviousTermEntries: true } } : {}),
};

if (process.argv.includes('--election')) {
  console.error('elections live in @distkv/election: pnpm --filter @distkv/election sim --election raft|bully');
  process.exit(2);
}

if (seed !== undefined) {
  const r = runScenario({ ...variant, seed, traceLinesMax: 100_000 });
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
  for (let s = from; s < from + seeds; s++) {
    const r = runScenario({ ...variant, seed: s });
    committed += r.stats.committed;
    if (!r.ok) {
      console.error(formatFailure(r));
      process.exit(1);
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`${seeds} seeds from ${from} ok in ${Math.round(ms)} ms (${committed} entries committed in total)`);
}
