// `node --import ./scripts/dist-loader.mjs packages/cli/dist/main.js ...`
// runs the compiled command (after `tsc -b`): the workspace packages export
// their TypeScript source while developing, and this hook sends each
// `@distkv/<name>` import to packages/<name>/dist/index.js instead (and a
// subpath such as `@distkv/net/testing` to dist/testing/index.js). The doc
// tests use it because starting from source through ts-node costs about
// ten times as long per command.
import { register } from 'node:module';

const packages = new URL('../packages/', import.meta.url);

export async function resolve(specifier, context, next) {
  const m = /^@distkv\/([a-z]+)(?:\/([a-z]+))?$/.exec(specifier);
  if (m !== null) {
    const entry = m[2] === undefined ? 'index.js' : `${m[2]}/index.js`;
    return { url: new URL(`${m[1]}/dist/${entry}`, packages).href, shortCircuit: true };
  }
  return next(specifier, context);
}

// Imported with --import (not as a hooks module): register this file as the hooks.
if (!('distkvDistLoader' in globalThis)) {
  globalThis.distkvDistLoader = true;
  register(import.meta.url);
}
