// Goal: the layering check catches every kind of forbidden dependency.
// Method: build small fake workspaces in a temp dir, one violation each,
// and run the real checker (and its CLI) on them.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLayering } from '../scripts/check-layering.mjs';
import { tempTree } from './temp-tree.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** A workspace of these files, removed after the test. */
const workspace = (files: Record<string, string>): string => tempTree('distkv-layering-', files);

function manifest(name: string, deps: Record<string, string> = {}): string {
  return JSON.stringify({ name, dependencies: deps });
}

const healthy = {
  'packages/core/package.json': manifest('@distkv/core'),
  'packages/core/src/index.ts': "export const x = 1;\nimport { y } from './y.js';\n",
  'packages/wal/package.json': manifest('@distkv/wal', { '@distkv/core': 'workspace:*' }),
  'packages/wal/src/index.ts': "import { x } from '@distkv/core';\nexport { x };\n",
};

describe('layering check', () => {
  it('accepts a workspace that follows the chain', () => {
    expect(checkLayering(workspace(healthy))).toEqual([]);
  });

  it('accepts this repository', () => {
    expect(checkLayering(repoRoot)).toEqual([]);
  });

  it('rejects an import of a later package', () => {
    const root = workspace({ ...healthy, 'packages/core/src/bad.ts': "import { Wal } from '@distkv/wal';\n" });
    expect(checkLayering(root)).toEqual([
      'packages/core/src/bad.ts: imports @distkv/wal, which is not before @distkv/core in the chain',
    ]);
  });

  it('rejects a dependency on a later package in package.json', () => {
    const root = workspace({ ...healthy, 'packages/core/package.json': manifest('@distkv/core', { '@distkv/wal': '*' }) });
    expect(checkLayering(root)).toEqual([
      'packages/core/package.json: dependencies names @distkv/wal, which is not before @distkv/core in the chain',
    ]);
  });

  it("rejects a deep import into another package's files", () => {
    const root = workspace({ ...healthy, 'packages/wal/src/deep.ts': "export * from '@distkv/core/src/store.js';\n" });
    expect(checkLayering(root)).toEqual([
      'packages/wal/src/deep.ts: imports @distkv/core/src/store.js; import @distkv/core (its entry point) instead',
    ]);
  });

  it('accepts a subpath the package exports (its ./testing kit), and only that one', () => {
    const core = JSON.stringify({
      name: '@distkv/core',
      exports: { '.': './src/index.ts', './testing': './src/testing/index.ts' },
    });
    const root = workspace({
      ...healthy,
      'packages/core/package.json': core,
      'packages/wal/test/kit.ts': "import { seededRng } from '@distkv/core/testing';\n",
      'packages/wal/test/deep.ts': "import { x } from '@distkv/core/src/testing/index.ts';\n",
    });
    expect(checkLayering(root)).toEqual([
      'packages/wal/test/deep.ts: imports @distkv/core/src/testing/index.ts; import @distkv/core (its entry point) instead',
    ]);
    const unexported = workspace({
      ...healthy,
      'packages/wal/test/kit.ts': "import { seededRng } from '@distkv/core/testing';\n",
    });
    expect(checkLayering(unexported)).toEqual([
      'packages/wal/test/kit.ts: imports @distkv/core/testing; import @distkv/core (its entry point) instead',
    ]);
  });

  it('rejects a relative path into another package', () => {
    const root = workspace({ ...healthy, 'packages/wal/test/x.test.ts': "import '../../core/src/index.js';\n" });
    expect(checkLayering(root)).toEqual([
      'packages/wal/test/x.test.ts: imports ../../core/src/index.js, a path outside packages/wal; import the package instead',
    ]);
  });

  it('rejects an undeclared import and a dynamic import of a later package', () => {
    const root = workspace({
      ...healthy,
      'packages/wal/package.json': manifest('@distkv/wal'),
      'packages/core/examples/e.ts': "const m = await import('@distkv/net');\n",
    });
    expect(checkLayering(root)).toEqual([
      'packages/core/examples/e.ts: imports @distkv/net, which is not before @distkv/core in the chain',
      'packages/wal/src/index.ts: imports @distkv/core without declaring it in package.json',
    ]);
  });

  it('rejects a package that is not in the chain, and a misnamed one', () => {
    const root = workspace({
      ...healthy,
      'packages/utils/package.json': manifest('@distkv/utils'),
      'packages/wal/package.json': manifest('wal', { '@distkv/core': '*' }),
    });
    expect(checkLayering(root)).toEqual([
      'packages/utils: not a layer of the chain core → wal → net → replication → election → cluster → cli',
      'packages/wal/package.json: name is wal, expected @distkv/wal',
    ]);
  });

  it('fails the CLI (exit 1) on a forbidden import, and passes it on a clean tree', () => {
    const script = join(repoRoot, 'scripts', 'check-layering.mjs');
    const bad = workspace({ ...healthy, 'packages/core/src/bad.ts': "import '@distkv/cli';\n" });
    const failed = spawnSync(process.execPath, [script, bad], { encoding: 'utf8' });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('imports @distkv/cli, which is not before @distkv/core');
    const passed = spawnSync(process.execPath, [script, workspace(healthy)], { encoding: 'utf8' });
    expect(passed.status).toBe(0);
  });
});
