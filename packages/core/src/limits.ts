import { coreError } from './errors.js';

/**
 * Every size in the store has a named maximum. They are checked once when
 * a store is built (`resolveLimits`) and on every operation that could
 * cross them. Nodes of one cluster must share these values, because a
 * command that one node refuses and another applies would split their state.
 */
// #region limits
export interface StoreLimits {
  /** Longest key. Redis allows 512 MiB; etcd's whole request is 1.5 MiB. */
  keyBytesMax: number;
  /** Longest value: Redis's proto-max-bulk-len. */
  valueBytesMax: number;
  /** Most keys in one store (the sorted index is a JavaScript B+ tree). */
  keysMax: number;
  /** Most key+value bytes held in total (a maxmemory for the payload). */
  dataBytesMax: number;
  /** Most keys one command may touch (MPUT, DEL k1 k2 ...). */
  batchKeysMax: number;
  /** Most entries one scan may return. */
  scanLimitMax: number;
  /** Most snapshots streaming at once (each holds copy-on-write state). */
  snapshotsOpenMax: number;
  /** Most client sessions kept (session.ts); opening one more evicts the least recently used. */
  sessionsMax: number;
  /** Results kept per session: how many numbered writes a client may have in flight. */
  sessionResultsMax: number;
  /** A result larger than this (encoded) is not kept; a retry learns SESSION_RESULT_TOO_LARGE. */
  sessionResultBytesMax: number;
  /**
   * Most bytes the whole session table holds, counted as a snapshot encodes
   * it; crossing it evicts the least recently used sessions. At least one
   * full session (`sessionBytesMax`), so the session in use always fits.
   */
  sessionTableBytesMax: number;
}

export const defaultStoreLimits: Readonly<StoreLimits> = Object.freeze({
  keyBytesMax: 64 * 1024,
  valueBytesMax: 512 * 1024 * 1024,
  keysMax: 16_000_000,
  dataBytesMax: 4 * 1024 * 1024 * 1024,
  batchKeysMax: 100_000,
  scanLimitMax: 100_000,
  snapshotsOpenMax: 4,
  sessionsMax: 10_000,
  sessionResultsMax: 16,
  sessionResultBytesMax: 4096,
  // 10k sessions of small results (~1 KiB each) fit; full ones (64 KiB each) are capped at ~1,000.
  sessionTableBytesMax: 64 * 1024 * 1024,
});
// #endregion limits

/**
 * Merges `overrides` into `defaults` and checks that each value is a safe
 * integer within its `[low, high]` range, throwing `fail(message)` for the
 * first that is not. Every package resolves its own limits through this,
 * with its own error code.
 */
export function resolveIntegerLimits<T extends { [K in keyof T]: number }>(
  defaults: Readonly<T>,
  ranges: { readonly [K in keyof T]: readonly [low: number, high: number] },
  overrides: Partial<T>,
  fail: (message: string) => Error,
): Readonly<T> {
  const limits: T = { ...defaults, ...overrides };
  for (const name of Object.keys(ranges) as Array<keyof T & string>) {
    const value = limits[name];
    const [low, high] = ranges[name];
    if (!Number.isSafeInteger(value) || value < low || value > high) {
      throw fail(`${name} must be an integer from ${low} to ${high}, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}

/** A limit may be lowered freely (to 1) but never raised past these. */
const ranges: { readonly [K in keyof StoreLimits]: readonly [number, number] } = {
  // A key and an inline value share one 4 MiB arena chunk (see table.ts).
  keyBytesMax: [1, 1024 * 1024],
  valueBytesMax: [1, 512 * 1024 * 1024],
  keysMax: [1, 100_000_000],
  // The arena addresses 32 GiB; compaction keeps chunks at least 1/4 live.
  dataBytesMax: [1, 7 * 1024 * 1024 * 1024],
  batchKeysMax: [1, 10_000_000],
  scanLimitMax: [1, 10_000_000],
  snapshotsOpenMax: [1, 64],
  sessionsMax: [1, 1_000_000],
  sessionResultsMax: [1, 1024],
  sessionResultBytesMax: [64, 1024 * 1024],
  sessionTableBytesMax: [1, 16 * 1024 * 1024 * 1024],
};

/** The largest one session's snapshot block can be under these limits (session.ts encodes it). */
export function sessionBytesMax(limits: Readonly<StoreLimits>): number {
  // A kept result is at most sessionResultBytesMax, or a SESSION_RESULT_TOO_LARGE marker (< 1 KiB).
  return 20 + limits.sessionResultsMax * (12 + Math.max(limits.sessionResultBytesMax, 1024));
}

export function resolveLimits(overrides: Partial<StoreLimits> = {}): Readonly<StoreLimits> {
  const fail = (message: string): Error => coreError('STORE_LIMIT_INVALID', message);
  const limits = resolveIntegerLimits(defaultStoreLimits, ranges, overrides, fail);
  // Otherwise a session's own results could evict it while it is being used.
  if (limits.sessionTableBytesMax < sessionBytesMax(limits))
    throw fail(
      `sessionTableBytesMax must hold one full session (sessionBytesMax = ${sessionBytesMax(limits)} bytes for sessionResultsMax and sessionResultBytesMax), got ${limits.sessionTableBytesMax}`,
    );
  return limits;
}
