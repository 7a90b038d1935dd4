// Goal: every @distkv package works when published: it packs, passes publint
// and @arethetypeswrong/cli, and a fresh project outside the workspace can
// install the tarballs, import them, type-check against them and run the
// `distkv` command. Method: scripts/check-packages.mjs builds and packs each
// package with pnpm (publishConfig applied, workspace:* replaced); then
// `npm install` of the tarballs into temp projects (external dependencies
// such as sorted-btree come from the npm registry or npm's cache).
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPackages, packageNames, tarballManifest } from '../scripts/check-packages.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'distkv-pack-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(file: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  // npm must not inherit the settings pnpm passes to the scripts it runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return new Promise((done) => {
    execFile(file, args, { cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: `${stdout}${stderr}` }),
    );
  });
}

/** A fresh ESM project in a temp dir with the given tarballs installed. */
async function freshProject(name: string, tarballs: string[]): Promise<string> {
  const dir = join(scratch, name);
  await run('mkdir', ['-p', dir], scratch);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  const install = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs],
    dir,
  );
  expect(install.code, install.output).toBe(0);
  return dir;
}

describe('published packages', () => {
  let tarballs: Record<string, string> = {};
  let problems: string[] = [];

  beforeAll(async () => {
    ({ tarballs, problems } = await checkPackages(packageNames(), join(scratch, 'tarballs')));
  }, 240_000);

  it('every package packs and passes publint and @arethetypeswrong/cli', async () => {
    expect(problems).toEqual([]);
    expect(Object.keys(tarballs).sort()).toEqual(['cli', 'cluster', 'core', 'election', 'net', 'replication', 'wal']);
    const net = await tarballManifest(tarballs.net as string);
    expect(net.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './testing': { types: './dist/testing/index.d.ts', default: './dist/testing/index.js' },
      './package.json': './package.json',
    });
    expect(net.dependencies).toEqual({ '@distkv/core': net.version });
  });

  it('@distkv/net with its workspace dependencies installs, imports, runs and type-checks in a fresh project', async () => {
    const dir = await freshProject('uses-net', [tarballs.core, tarballs.wal, tarballs.net] as string[]);
    // Plain JavaScript that is also checked as TypeScript: the installed .d.ts files must describe it.
    const program = [
      "import { Store } from '@distkv/core';",
      "import { Client, Server } from '@distkv/net';",
      "import { MemoryBackend } from '@distkv/net/testing';",
      'const store = new Store();',
      "store.put('k', 'from core');",
      'const server = await Server.listen({ backend: new MemoryBackend(), port: 0 });',
      "const client = new Client({ host: '127.0.0.1', port: server.address.port });",
      "await client.call('SET', 'hello', 'world');",
      "const value: string | undefined = store.getString('k');",
      "console.log(value, String(await client.call('GET', 'hello')));",
      'await client.close();',
      'await server.close();',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'main.ts'), program);
    writeFileSync(join(dir, 'main.mjs'), program.replace(': string | undefined', ''));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(repoRoot, 'node_modules', '@types')],
        },
        files: ['main.ts'],
      }),
    );
    const tsc = await run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], dir);
    expect(tsc.output).toBe('');
    const node = await run(process.execPath, ['main.mjs'], dir);
    expect(node).toEqual({ code: 0, output: 'from core world\n' });
  }, 240_000);

  it('every package together: @distkv/cli imports, and its distkv command runs from dist', async () => {
    const dir = await freshProject('uses-cli', Object.values(tarballs));
    const imported = await run(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('@distkv/cli'); console.log(typeof m.buildProgram)"],
      dir,
    );
    expect(imported).toEqual({ code: 0, output: 'function\n' });
    const version = await run(join(dir, 'node_modules', '.bin', 'distkv'), ['--version'], dir);
    expect(version.code, version.output).toBe(0);
    expect(version.output).toMatch(/^\d+\.\d+\.\d+\n$/);
  }, 240_000);
});

describe('releases', () => {
  it('changeset version moves every @distkv package to one version and writes each CHANGELOG', async () => {
    // A copy of what `changeset version` reads and writes, so the repository itself is untouched.
    const dir = join(scratch, 'release');
    mkdirSync(join(dir, 'packages'), { recursive: true });
    for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset']) {
      cpSync(join(repoRoot, file), join(dir, file), { recursive: true });
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    const names = packageNames();
    for (const name of names) {
      mkdirSync(join(dir, 'packages', name));
      for (const file of ['package.json', 'CHANGELOG.md']) {
        cpSync(join(repoRoot, 'packages', name, file), join(dir, 'packages', name, file));
      }
    }
    const pending = readdirSync(join(dir, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pending.length, 'changesets waiting for a release').toBeGreaterThan(0);
    const before = JSON.parse(readFileSync(join(dir, 'packages', 'core', 'package.json'), 'utf8')).version as string;
    const cli = join(repoRoot, 'node_modules', '@changesets', 'cli', 'bin.js');
    const result = await run(process.execPath, [cli, 'version'], dir);
    expect(result.code, result.output).toBe(0);
    const versions = names.map((name) => JSON.parse(readFileSync(join(dir, 'packages', name, 'package.json'), 'utf8')).version);
    expect(new Set(versions).size, `one version for all: ${versions.join(', ')}`).toBe(1);
    expect(versions[0]).not.toBe(before);
    for (const name of names) {
      const changelog = readFileSync(join(dir, 'packages', name, 'CHANGELOG.md'), 'utf8');
      expect(changelog, `packages/${name}/CHANGELOG.md`).toContain(`## ${versions[0]}`);
    }
    expect(readdirSync(join(dir, '.changeset')).filter((f) => pending.includes(f))).toEqual([]);
  }, 120_000);
});
