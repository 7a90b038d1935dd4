/**
 * What both `sim` commands (this package's and @distkv/election's) do with
 * their arguments: `--seed n` replays one seed with its whole trace, `--seeds
 * N [--from S]` runs a range and stops at the first failure, printed with
 * its seed and replay command (exit 1). Bad numbers exit 2.
 */
import { formatFailure, type ScenarioResult } from './simulator.js';

/** A non-negative integer flag (`--seeds 2000`), or undefined when absent. */
export function intFlag(name: string, argv: readonly string[] = process.argv): number | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) {
    console.error(`${name} needs a non-negative integer`);
    process.exit(2);
  }
  return v;
}

/**
 * Runs the seed the arguments name (printing its trace and stats), or the
 * range they name, calling `each` for every passing result; returns how
 * many seeds passed and the milliseconds it took.
 */
export function simMain(
  run: (seed: number, traceLinesMax?: number) => ScenarioResult,
  each: (r: ScenarioResult) => void = () => undefined,
): { seeds: number; from: number; ms: number } | undefined {
  const seed = intFlag('--seed');
  if (seed !== undefined) {
    const r = run(seed, 100_000);
    for (const line of r.trace) console.log(line);
    console.log(JSON.stringify(r.stats));
    if (!r.ok) {
      console.error(formatFailure({ ...r, trace: [] }));
      process.exit(1);
    }
    console.log(`SEED=${seed} ok`);
    return undefined;
  }
  const seeds = intFlag('--seeds') ?? 1000;
  const from = intFlag('--from') ?? 0;
  const started = process.hrtime.bigint();
  for (let s = from; s < from + seeds; s++) {
    const r = run(s);
    if (!r.ok) {
      console.error(formatFailure(r));
      process.exit(1);
    }
    each(r);
  }
  return { seeds, from, ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6) };
}
