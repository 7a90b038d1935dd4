#!/usr/bin/env node
// Packages must work when published, not only inside this workspace. While
// developing, each package exports its TypeScript source (`./src/index.ts`);
// `pnpm pack`/`pnpm publish` apply `publishConfig` instead, so the tarball
// points `exports`, `main` and `types` at `dist/` (built by `tsc -b`), and
// `workspace:*` dependencies become real versions.
//
// For each package this script builds, packs with pnpm, and checks the
// tarball with publint (package.json fields point at files that exist, in
// the right format) and @arethetypeswrong/cli (types resolve for node10,
// node16 and bundlers). ESM only is a choice: "CJS resolves to ESM" (a
// require() needs a dynamic import) is accepted, nothing else is.
//
// `node scripts/check-packages.mjs [core net ...]` (all packages when none
// are named); `--keep <dir>` leaves the tarballs in <dir>.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorkspace } from './build-workspace.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ATTW_IGNORED_RULES = ['cjs-resolves-to-esm'];

function run(file, args, options = {}) {
  return new Promise((done) => {
    execFile(file, args, { timeout: 180_000, maxBuffer: 16 * 1024 * 1024, ...options }, (err, stdout, stderr) =>
      done({ ok: err === null, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/** Every workspace package's directory name, in layer order where possible. */
export function packageNames() {
  return readdirSync(join(root, 'packages')).filter((p) => {
    try {
      return JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')).name.startsWith('@distkv/');
    } catch {
      return false;
    }
  });
}

/** `tsc -b` over the workspace: every package's dist/ (a no-op when up to date). */
export function buildAll() {
  return buildWorkspace(root);
}

/** Packs packages/<name> with pnpm (publishConfig applied) into dir; returns the tarball's path. */
export async function pack(name, dir) {
  // Under `pnpm run`, the pnpm that runs us (CI starts it through npx); else the one on PATH.
  const execPathKey = 'npm_execpath';
  const pnpm = process.env[execPathKey]?.includes('pnpm') ? process.env[execPathKey] : undefined;
  const [file, args] = pnpm?.endsWith('.cjs') || pnpm?.endsWith('.js') ? [process.execPath, [pnpm]] : ['pnpm', []];
  const result = await run(file, [...args, 'pack', '--pack-destination', dir], { cwd: join(root, 'packages', name) });
  const tarball = /(\S+\.tgz)\s*$/.exec(result.output)?.[1];
  if (!result.ok || tarball === undefined) throw new Error(`pnpm pack of ${name} failed:\n${result.output}`);
  return resolve(join(root, 'packages', name), tarball);
}

/** publint and attw on one tarball; returns the problems found. */
export async function lintTarball(name, tarball) {
  const problems = [];
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const buffer = readFileSync(tarball);
  const lint = await publint({
    pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) },
    level: 'suggestion',
    strict: true,
  });
  for (const message of lint.messages) {
    problems.push(`${name}: publint ${message.type}: ${formatMessage(message, lint.pkg) ?? message.code}`);
  }
  const attw = await run(
    process.execPath,
    [
      join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'),
      tarball,
      '--format',
      'ascii',
      '--ignore-rules',
      ...ATTW_IGNORED_RULES,
    ],
    { cwd: root, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  if (!attw.ok) problems.push(`${name}: @arethetypeswrong/cli:\n${attw.output}`);
  const manifest = await tarballManifest(tarball);
  if (JSON.stringify(manifest).includes('workspace:'))
    problems.push(`${name}: the packed package.json still has workspace: ranges`);
  return problems;
}

/** The package.json inside a tarball. */
export async function tarballManifest(tarball) {
  const result = await run('tar', ['-xzOf', tarball, 'package/package.json']);
  if (!result.ok) throw new Error(`cannot read package.json from ${tarball}: ${result.output}`);
  return JSON.parse(result.output);
}

/** Builds, packs and lints the named packages (two at a time); returns all problems. */
export async function checkPackages(names = packageNames(), dir = mkdtempSync(join(tmpdir(), 'distkv-pack-'))) {
  await buildAll();
  mkdirSync(dir, { recursive: true });
  const problems = [];
  const tarballs = {};
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      tarballs[name] = await pack(name, dir);
      problems.push(...(await lintTarball(name, tarballs[name])));
    }
  };
  await Promise.all([worker(), worker()]);
  return { problems, tarballs, dir };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const keep = args.includes('--keep') ? resolve(args[args.indexOf('--keep') + 1]) : undefined;
  const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--keep');
  const { problems, tarballs, dir } = await checkPackages(names.length > 0 ? names : packageNames(), keep);
  if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  for (const p of problems) console.error(`packages: ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log(`packages: ok (${Object.keys(tarballs).join(', ')} pack, and pass publint and attw)`);
}
