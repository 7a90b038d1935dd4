#!/usr/bin/env node
// `pnpm bench <name>` runs bench/<name>.ts from source with ts-node and
// --expose-gc. Every benchmark prints a table, then one JSON line last.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
if (!name || !existsSync(join(root, 'bench', `${name}.ts`))) {
  console.error(`usage: pnpm bench <name> [args]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ['--expose-gc', '--max-old-space-size=8192', '--no-warnings', '--loader', 'ts-node/esm', join('bench', `${name}.ts`), ...args],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TS_NODE_PROJECT: join(root, 'bench', 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
  },
);
process.exit(result.status ?? 1);
