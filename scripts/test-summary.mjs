#!/usr/bin/env node
// Adds up the JSON reports that each vitest run wrote (.vitest/results.json
// in every package and at the root) and prints one closing line,
// "tests: N passed, N failed, N skipped". Exits 1 when a test failed or
// when no test ran at all, so a CI run that tested nothing is red.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reports = [join(root, '.vitest', 'results.json')];
for (const pkg of readdirSync(join(root, 'packages'))) reports.push(join(root, 'packages', pkg, '.vitest', 'results.json'));
let passed = 0;
let failed = 0;
let skipped = 0;
for (const report of reports) {
  if (!existsSync(report)) continue;
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
