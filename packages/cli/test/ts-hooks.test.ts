// Goal: the launcher's hooks (bin/ts-hooks.mjs, a cache in front of ts-node) run TypeScript source as tsc would emit it, never
// run stale code from their cache, and report a syntax error with the file.
// Method: a temp project of two .ts modules (NodeNext-style `./b.js` import, a type-only import, an enum), run by
// a node process with the hooks registered and a temp cache dir; edit a module between runs; count cache entries.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { packageDir } from './helpers.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const b = (word: string): string => `export interface Shape { sides: number }
export enum Colour { Red = 1, Blue = 2 }
export function describe(s: Shape): string { return '${word} ' + s.sides; }
`;

/** A temp project (a.ts imports b.ts) and a runner with the hooks registered as bin/distkv.mjs does, cache in the project. */
function project(): {
  root: string;
  writeB: (text: string) => void;
  run: () => Promise<{ code: number; out: string }>;
  cached: () => number;
} {
  const root = mkdtempSync(join(tmpdir(), 'distkv-ts-hooks-'));
  roots.push(root);
  const cacheDir = join(root, 'cache');
  writeFileSync(
    join(root, 'run.mjs'),
    `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(join(packageDir, 'bin', 'ts-hooks.mjs')).href)}, {
  data: {
    cacheDir: ${JSON.stringify(cacheDir)},
    project: ${JSON.stringify(join(packageDir, 'tsconfig.json'))},
    configFiles: [${JSON.stringify(join(packageDir, 'tsconfig.json'))}],
    requireFrom: ${JSON.stringify(join(packageDir, 'package.json'))},
  },
});
await import(${JSON.stringify(pathToFileURL(join(root, 'a.ts')).href)});
`,
  );
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(root, 'a.ts'),
    `import type { Shape } from './b.js';
import { Colour, describe } from './b.js';
const s: Shape = { sides: 3 };
console.log(describe(s), Colour.Blue);
`,
  );
  return {
    root,
    writeB: (text) => writeFileSync(join(root, 'b.ts'), text),
    run: () =>
      new Promise((done) => {
        execFile(process.execPath, [join(root, 'run.mjs')], { timeout: 30_000 }, (err, stdout, stderr) =>
          done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: `${stdout}${stderr}` }),
        );
      }),
    cached: () => readdirSync(cacheDir).filter((f) => f.endsWith('.js')).length,
  };
}

describe('bin/ts-hooks.mjs', () => {
  it('runs .ts modules (./b.js means ./b.ts, type imports erased, enums emitted) and caches each file once', async () => {
    const p = project();
    p.writeB(b('sides:'));
    expect(await p.run()).toEqual({ code: 0, out: 'sides: 3 2\n' });
    expect(p.cached()).toBe(2);
    expect(await p.run()).toEqual({ code: 0, out: 'sides: 3 2\n' }); // from the cache
    expect(p.cached()).toBe(2);
  });

  it('never runs a stale transpilation: an edited file is transpiled again', async () => {
    const p = project();
    p.writeB(b('sides:'));
    expect(await p.run()).toEqual({ code: 0, out: 'sides: 3 2\n' });
    p.writeB(b('edges:'));
    expect(await p.run()).toEqual({ code: 0, out: 'edges: 3 2\n' });
    expect(p.cached()).toBe(3); // a.ts once, b.ts twice
  });

  it('reports a syntax error with the file, and caches nothing for it', async () => {
    const p = project();
    p.writeB(b('sides:'));
    expect((await p.run()).code).toBe(0);
    p.writeB('export function broken( {\n');
    const { code, out } = await p.run();
    expect(code).not.toBe(0);
    expect(out).toContain(`${join(p.root, 'b.ts')}:`);
    expect(p.cached()).toBe(2);
  });
});
