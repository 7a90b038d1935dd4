// Module hooks that run distkv's TypeScript source without a build step,
// registered by bin/distkv.mjs. Each .ts file is transpiled once (types
// stripped, nothing checked: `pnpm check` does that) and the result kept in
// node_modules/.cache/distkv-ts/, keyed by a hash of the source, the
// compiler version and the options below; an edited file gets a new key, so
// the cache never needs clearing. A start with a warm cache never loads the
// TypeScript compiler at all, which is most of what ts-node cost (about
// 2.5 s and 120 MB of a server's start; `pnpm bench start` measures it).
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

/** Set by initialize(): where transpiled files are kept, and how to find the compiler. */
let cacheDir = '';
let requireFrom = '';
let compiler;
let compilerVersion = '';

// #region transpile-options
// What `tsc` would emit for these sources (tsconfig.base.json: ES2022, NodeNext,
// verbatimModuleSyntax), one file at a time; the inline source map keeps stack
// traces on .ts lines when the process runs with source maps enabled.
const OPTIONS = {
  target: 'ES2022',
  module: 'ESNext',
  verbatimModuleSyntax: true,
  inlineSourceMap: true,
  inlineSources: false,
};
// #endregion transpile-options

export function initialize(data) {
  cacheDir = data.cacheDir;
  requireFrom = data.requireFrom;
  // The compiler's version is part of every key, read without loading the compiler.
  const require = createRequire(requireFrom);
  compilerVersion = JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')).version;
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
  const key = createHash('sha256')
    .update(`${compilerVersion}\0${JSON.stringify(OPTIONS)}\0${path}\0`)
    .update(source)
    .digest('hex')
    .slice(0, 32);
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
  compiler ??= createRequire(requireFrom)('typescript');
  const ts = compiler;
  const compilerOptions = {
    ...OPTIONS,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
  };
  const result = ts.transpileModule(source, { compilerOptions, fileName, reportDiagnostics: true });
  const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
    throw new SyntaxError(`${fileName}: ${text}`);
  }
  return result.outputText;
}
