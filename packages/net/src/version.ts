import { readFileSync } from 'node:fs';
import { assert } from '@distkv/core';

/**
 * The version INFO reports as `distkv_version`: this package's own, read
 * from its package.json, so a release (changesets bumps package.json) can
 * never leave a stale constant behind. `../package.json` is the package's
 * manifest both from `src/` (development) and from `dist/` (published).
 */
export const DISTKV_VERSION: string = readVersion(new URL('../package.json', import.meta.url));

function readVersion(manifest: URL): string {
  const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
  const version = (parsed as { version?: unknown }).version;
  assert(typeof version === 'string', `${manifest.pathname}: version is not a string`);
  assert(version !== '', `${manifest.pathname}: version is empty`);
  return version;
}
