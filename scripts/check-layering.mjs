#!/usr/bin/env node
// The layering rule of ARCHITECTURE.md, enforced: a package may depend on and
// import only packages before it in the chain, and only through their entry
// point (or a subpath its manifest exports, such as `./testing`).
// `node scripts/check-layering.mjs [root]` prints every violation and
// exits 1 when there is one. Exported for the test in test/layering.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// #region chain
export const CHAIN = ['core', 'wal', 'net', 'replication', 'election', 'cluster', 'cli'];
// #endregion chain

const SOURCE_FILE = /\.(?:[cm]?ts|[cm]?js|tsx)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', 'coverage']);
// import x from 'y' / export * from 'y' / import 'y' / import('y') / require('y')
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (SOURCE_FILE.test(name) && !name.endsWith('.d.ts')) yield path;
  }
}

/**
 * The subpaths a package's manifest exports besides its entry point (for
 * example `./testing`, its test tools): importing one of those is using the
 * package's public surface, not reaching into its files.
 */
function exportedSubpaths(packagesDir, dir) {
  const manifestPath = join(packagesDir, dir, 'package.json');
  if (!existsSync(manifestPath)) return new Set();
  const exports = JSON.parse(readFileSync(manifestPath, 'utf8')).exports;
  if (exports === null || typeof exports !== 'object') return new Set();
  return new Set(Object.keys(exports).filter((key) => key !== '.' && key !== './package.json'));
}

/** Returns a list of human-readable violations; empty means the layering holds. */
export function checkLayering(root) {
  const violations = [];
  const packagesDir = join(root, 'packages');
  if (!existsSync(packagesDir)) return violations;
  for (const dir of readdirSync(packagesDir).sort()) {
    const pkgDir = join(packagesDir, dir);
    const manifestPath = join(pkgDir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const rank = CHAIN.indexOf(dir);
    if (rank < 0) {
      violations.push(`packages/${dir}: not a layer of the chain ${CHAIN.join(' → ')}`);
      continue;
    }
    if (manifest.name !== `@distkv/${dir}`) {
      violations.push(`packages/${dir}/package.json: name is ${manifest.name}, expected @distkv/${dir}`);
    }
    const declared = new Set();
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        if (!dep.startsWith('@distkv/')) continue;
        declared.add(dep);
        const depRank = CHAIN.indexOf(dep.slice('@distkv/'.length));
        if (depRank < 0 || depRank >= rank) {
          violations.push(`packages/${dir}/package.json: ${field} names ${dep}, which is not before @distkv/${dir} in the chain`);
        }
      }
    }
    for (const file of sourceFiles(pkgDir)) {
      const text = readFileSync(file, 'utf8');
      const where = relative(root, file);
      for (const match of text.matchAll(SPECIFIER)) {
        const spec = match[2];
        if (spec.startsWith('@distkv/')) {
          const [, name, ...rest] = spec.split('/');
          const target = `@distkv/${name}`;
          if (rest.length > 0 && !exportedSubpaths(packagesDir, name).has(`./${rest.join('/')}`)) {
            violations.push(`${where}: imports ${spec}; import ${target} (its entry point) instead`);
          }
          if (name === dir) continue; // a package may name itself (examples read like user code)
          const depRank = CHAIN.indexOf(name);
          if (depRank < 0 || depRank >= rank) {
            violations.push(`${where}: imports ${target}, which is not before @distkv/${dir} in the chain`);
          } else if (!declared.has(target)) {
            violations.push(`${where}: imports ${target} without declaring it in package.json`);
          }
        } else if (spec.startsWith('.')) {
          const resolved = resolve(dirname(file), spec);
          if (resolved !== pkgDir && !resolved.startsWith(pkgDir + sep)) {
            violations.push(`${where}: imports ${spec}, a path outside packages/${dir}; import the package instead`);
          }
        }
      }
    }
  }
  return violations;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = checkLayering(root);
  for (const v of violations) console.error(`layering: ${v}`);
  if (violations.length > 0) {
    console.error(`layering: ${violations.length} violation(s); the chain is ${CHAIN.join(' → ')}`);
    process.exit(1);
  }
  console.log(`layering: ok (${CHAIN.join(' → ')})`);
}
