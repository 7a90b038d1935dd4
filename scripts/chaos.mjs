#!/usr/bin/env node
// `pnpm chaos [flags]` runs test/chaos/main.ts from source with ts-node
// (transpile-only, like scripts/bench.mjs): a real local cluster under a
// nemesis, checked for linearizability. See docs/07-resilience.md.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = spawnSync(
  process.execPath,
  ['--no-warnings', '--loader', 'ts-node/esm', join('test', 'chaos', 'main.ts'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TS_NODE_PROJECT: join(root, 'bench', 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
  },
);
process.exit(result.status ?? 1);
