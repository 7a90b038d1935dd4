#!/usr/bin/env node
// The `distkv` command. distkv runs from its TypeScript source (a tutorial
// checkout has no build step), so this launcher registers module hooks that
// put a cache in front of ts-node (bin/ts-hooks.mjs) in this very process
// (node:module register(), Node >= 20.6) and imports src/main.ts. One process, not a re-spawned child: signals such as
// Ctrl-C reach the server once, which its graceful shutdown relies on.
import { existsSync, realpathSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Through a node_modules/.bin symlink, import.meta.url is already the real
// path (Node resolves the main module's symlinks); realpath makes it certain.
const packageDir = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
// A launcher setting, not a server one: consumed here, so `server` does not refuse it as an unknown DISTKV_*.
const loaderChoice = process.env.DISTKV_LOADER;
delete process.env.DISTKV_LOADER;
const main = (dir, file) => import(pathToFileURL(join(packageDir, dir, file)).href);

if (!existsSync(join(packageDir, 'tsconfig.json'))) {
  // Installed from npm (no tsconfig.json, no sources to strip): run the compiled dist/.
  await main('dist', 'main.js');
} else if (loaderChoice === 'ts-node') {
  // ts-node's ESM loader without the cache, as the launcher ran before ts-hooks.mjs: kept to measure against (`pnpm bench start`).
  process.env.TS_NODE_PROJECT ??= join(packageDir, 'tsconfig.json');
  process.env.TS_NODE_TRANSPILE_ONLY ??= 'true';
  // Resolve ts-node from this package, whatever the caller's working directory.
  const loader = pathToFileURL(createRequire(join(packageDir, 'package.json')).resolve('ts-node/esm')).href;
  register(loader, pathToFileURL(`${packageDir}/`));
  await main('src', 'main.ts');
} else {
  // ts-node behind a cache (bin/ts-hooks.mjs): each source version is transpiled once; stack traces point into the .ts files.
  process.setSourceMapsEnabled(true);
  register(pathToFileURL(join(packageDir, 'bin', 'ts-hooks.mjs')), {
    data: {
      cacheDir: join(packageDir, 'node_modules', '.cache', 'distkv-ts'),
      project: join(packageDir, 'tsconfig.json'),
      configFiles: [join(packageDir, 'tsconfig.json'), join(packageDir, '..', '..', 'tsconfig.base.json')],
      requireFrom: join(packageDir, 'package.json'),
    },
  });
  await main('src', 'main.ts');
}
