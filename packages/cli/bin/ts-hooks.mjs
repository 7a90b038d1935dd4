// Module hooks that run distkv's TypeScript source without a build step,
// registered by bin/distkv.mjs: a cache in front of ts-node. Each .ts file is
// transpiled once by ts-node (transpile-only, with the package's tsconfig:
// types stripped, nothing checked, `pnpm check` does that) and the result
// kept in node_modules/.cache/distkv-ts/, keyed by a hash of the source, its
// path, the tsconfig files and the ts-node and TypeScript versions; an edited
// file gets a new key, so the cache never needs clearing. A start with a warm
// cache never loads ts-node or the compiler, which was most of a server's
// start (about 3 s and 100 MB; `pnpm bench start` measures it).
//
// Resolution follows TypeScript's NodeNext rules, which the sources are
// written for: a relative `./x.js` from a .ts file means `./x.ts` when that
// exists. Workspace packages export `./src/index.ts`, which Node resolves
// itself; only loading needs us.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set by initialize(): where transpiled files are kept, the tsconfig ts-node uses, what the keys include. */
let cacheDir = '';
let project = '';
let requireFrom = '';
let keyPrefix = '';
let service;

export function initialize(data) {
  cacheDir = data.cacheDir;
  project = data.project;
  requireFrom = data.requireFrom;
  // Everything the output depends on besides the source, read without loading ts-node or the compiler.
  const require = createRequire(requireFrom);
  const version = (name) => JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  const configs = data.configFiles.map((f) => readFileSync(f, 'utf8')).join('\0');
  keyPrefix = `${version('ts-node')}\0${version('typescript')}\0${configs}\0`;
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent?.endsWith('.ts') && specifier.endsWith('.js') && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const candidate = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256').update(`${keyPrefix}${path}\0`).update(source).digest('hex').slice(0, 32);
  const cached = join(cacheDir, `${key}.js`);
  if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  const output = transpile(source, path);
  try {
    mkdirSync(cacheDir, { recursive: true });
    // Written aside and renamed: another process may be reading the same entry.
    const aside = `${cached}.${process.pid}`;
    writeFileSync(aside, output);
    renameSync(aside, cached);
  } catch {
    // A read-only checkout still runs; it transpiles at every start.
  }
  return { format: 'module', source: output, shortCircuit: true };
}

function transpile(source, fileName) {
  // ts-node's own compiler service, the same one its ESM loader uses; created on the first cache miss only.
  service ??= createRequire(requireFrom)('ts-node').create({ project, transpileOnly: true });
  try {
    return service.compile(source, fileName);
  } catch (err) {
    // ts-node's TSError does not survive the trip from the hooks thread; a plain error with the text does.
    throw new SyntaxError(`${fileName}: ${err?.diagnosticText ?? err?.message ?? String(err)}`);
  }
}
