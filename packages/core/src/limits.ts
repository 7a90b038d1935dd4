import { coreError } from './errors.js';
import { defineLimits, type LimitsOf } from './limit-spec.js';

/**
 * Every size in the store has a named maximum. They are checked once when
 * a store is built (`resolveLimits`) and on every operation that could
 * cross them. Nodes of one cluster must share these values, because a
 * command that one node refuses and another applies would split their state.
 */
// #region limits
export const storeLimitTable = {
  /** Longest key. Redis allows 512 MiB; etcd's whole request is 1.5 MiB. A key and an inline value share one 4 MiB arena chunk (table.ts). */
  keyBytesMax: { default: 64 * 1024, min: 1, max: 1024 * 1024 },
  /** Longest value: Redis's proto-max-bulk-len. */
  valueBytesMax: { default: 512 * 1024 * 1024, min: 1, max: 512 * 1024 * 1024 },
  /** Most keys in one store (the sorted index is a JavaScript B+ tree). */
  keysMax: { default: 16_000_000, min: 1, max: 100_000_000 },
  /** Most key+value bytes held in total (a maxmemory for the payload). The arena addresses 32 GiB and compaction keeps chunks at least 1/4 live. */
  dataBytesMax: { default: 4 * 1024 * 1024 * 1024, min: 1, max: 7 * 1024 * 1024 * 1024 },
  /** Most keys one command may touch (MPUT, DEL k1 k2 ...). */
  batchKeysMax: { default: 100_000, min: 1, max: 10_000_000 },
  /** Most entries one scan may return. */
  scanLimitMax: { default: 100_000, min: 1, max: 10_000_000 },
  /** Most snapshots streaming at once (each holds copy-on-write state). */
  snapshotsOpenMax: { default: 4, min: 1, max: 64 },
  /** Most client sessions kept (session.ts); opening one more evicts the least recently used. */
  sessionsMax: { default: 10_000, min: 1, max: 1_000_000 },
  /** Results kept per session: how many numbered writes a client may have in flight. */
  sessionResultsMax: { default: 16, min: 1, max: 1024 },
  /** A result larger than this (encoded) is not kept; a retry learns SESSION_RESULT_TOO_LARGE. */
  sessionResultBytesMax: { default: 4096, min: 64, max: 1024 * 1024 },
  /**
   * Most bytes the whole session table holds, counted as a snapshot encodes
   * it; crossing it evicts the least recently used sessions. At least one
   * full session (`sessionBytesMax`), so the session in use always fits.
   * 10k sessions of small results (~1 KiB each) fit; full ones (64 KiB each)
   * are capped at ~1,000.
   */
  sessionTableBytesMax: { default: 64 * 1024 * 1024, min: 1, max: 16 * 1024 * 1024 * 1024 },
} as const;
// #endregion limits

export type StoreLimits = LimitsOf<typeof storeLimitTable>;

const storeLimits = defineLimits(storeLimitTable, (message) => coreError('STORE_LIMIT_INVALID', message));

export const defaultStoreLimits: Readonly<StoreLimits> = storeLimits.defaults;

/** The largest one session's snapshot block can be under these limits (session.ts encodes it). */
export function sessionBytesMax(limits: Readonly<StoreLimits>): number {
  // A kept result is at most sessionResultBytesMax, or a SESSION_RESULT_TOO_LARGE marker (< 1 KiB).
  return 20 + limits.sessionResultsMax * (12 + Math.max(limits.sessionResultBytesMax, 1024));
}

export function resolveLimits(overrides: Partial<StoreLimits> = {}): Readonly<StoreLimits> {
  const limits = storeLimits.resolve(overrides);
  // Otherwise a session's own results could evict it while it is being used.
  if (limits.sessionTableBytesMax < sessionBytesMax(limits))
    throw coreError(
      'STORE_LIMIT_INVALID',
      `sessionTableBytesMax must hold one full session (sessionBytesMax = ${sessionBytesMax(limits)} bytes for sessionResultsMax and sessionResultBytesMax), got ${limits.sessionTableBytesMax}`,
    );
  return limits;
}
