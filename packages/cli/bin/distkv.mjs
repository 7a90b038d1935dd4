#!/usr/bin/env node
// The `distkv` command. distkv runs from its TypeScript source (a tutorial
// checkout has no build step), so this launcher registers ts-node's ESM
// loader in this very process (node:module register(), Node >= 20.6) and
// imports src/main.ts. One process, not a re-spawned child: signals such as
// Ctrl-C reach the server once, which its graceful shutdown relies on.
import { existsSync, realpathSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Through a node_modules/.bin symlink, import.meta.url is already the real
// path (Node resolves the main module's symlinks); realpath makes it certain.
const packageDir = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
// Installed from npm (no tsconfig.json, no ts-node): run the compiled dist/ instead.
if (!existsSync(join(packageDir, 'tsconfig.json'))) {
  await import(pathToFileURL(join(packageDir, 'dist', 'main.js')).href);
} else {
  process.env.TS_NODE_PROJECT ??= join(packageDir, 'tsconfig.json');
  process.env.TS_NODE_TRANSPILE_ONLY ??= 'true';
  // Resolve ts-node from this package, whatever the caller's working directory.
  const loader = pathToFileURL(createRequire(join(packageDir, 'package.json')).resolve('ts-node/esm')).href;
  register(loader, pathToFileURL(`${packageDir}/`));
  await import(pathToFileURL(join(packageDir, 'src', 'main.ts')).href);
}
