import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDistkvError } from '@distkv/core';
import { mulberry32 } from '@distkv/core/testing';
import { afterEach } from 'vitest';
import { walErrorCodes } from '../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wal-test-'));
  dirs.push(dir);
  return dir;
}

/** A seeded PRNG (mulberry32), so a failing case replays from its seed. */
export const rng = mulberry32;

export function payloadOf(index: number): Buffer {
  return Buffer.from(`entry-${index}-${'y'.repeat((index * 7) % 50)}`);
}

/** True when `err` is one of the documented @distkv/wal errors. */
export function isDocumentedWalError(err: unknown): boolean {
  return isDistkvError(err) && Object.hasOwn(walErrorCodes, err.code);
}
