#!/usr/bin/env node
// `pnpm fuzz [--runs n] [--seed s]` runs the decoder fuzz tests (test/fuzz)
// with many more fast-check runs than CI does (DISTKV_FUZZ_RUNS; default 20000,
// a quarter of that for the file-system properties). See docs/07-resilience.md.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let values;
try {
  ({ values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } } }));
} catch (err) {
  console.error(`${err.message}\nusage: pnpm fuzz [--runs n] [--seed s]`);
  process.exit(2);
}
const runs = values.runs ?? process.env.DISTKV_FUZZ_RUNS ?? '20000';
if (!/^[1-9]\d*$/.test(runs)) {
  console.error(`--runs must be a positive integer, got ${runs}`);
  process.exit(2);
}
const env = { ...process.env, DISTKV_FUZZ_RUNS: runs };
if (values.seed !== undefined) env.DISTKV_FUZZ_SEED = values.seed;
console.error(`fuzz: ${runs} runs per property`);
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const result = spawnSync(
  process.execPath,
  [vitest, 'run', '--config', 'vitest.repo.config.ts', '--testTimeout', '3600000', 'test/fuzz'],
  { cwd: root, stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
