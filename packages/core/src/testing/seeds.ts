/** The run of the first seed in 0..seeds-1 that does not pass, or undefined: for tests that expect a seed search to find a bug. */
export function firstFailingRun<R extends { ok: boolean }>(seeds: number, run: (seed: number) => R): R | undefined {
  for (let seed = 0; seed < seeds; seed++) {
    const r = run(seed);
    if (!r.ok) return r;
  }
  return undefined;
}
