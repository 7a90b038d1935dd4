import { defineLimits, type LimitsOf } from '@distkv/core';
import { walError } from './errors.js';

/**
 * Every queue and batch of the log has a named maximum, validated when the
 * log opens. A limit that is hit produces a clear error, never a silent wait
 * or an unbounded buffer. Each limit is declared once, with its default and
 * the range a user may set (core's `defineLimits`).
 */
// #region wal-limits
export const walLimitTable = {
  /** Longest entry payload (an encoded command): room for a 512 MiB value and its key. */
  entryBytesMax: { default: 64 * 1024 * 1024, min: 1, max: 512 * 1024 * 1024 + 16 * 1024 * 1024 },
  /** Most entries written and fsynced as one group-commit batch. */
  batchEntriesMax: { default: 16_384, min: 1, max: 1_000_000 },
  /** Most record bytes in one batch (one write() call). */
  batchBytesMax: { default: 16 * 1024 * 1024, min: 1, max: 1024 * 1024 * 1024 },
  /** Most entries waiting for the next batch; more rejects with WAL_QUEUE_FULL. */
  queueEntriesMax: { default: 1_000_000, min: 1, max: 100_000_000 },
  /** Most payload bytes waiting for the next batch. */
  queueBytesMax: { default: 1024 * 1024 * 1024, min: 1, max: 8 * 1024 * 1024 * 1024 },
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes: { default: 64 * 1024 * 1024, min: 4096, max: 4 * 1024 * 1024 * 1024 },
} as const;
// #endregion wal-limits

export type WalLimits = LimitsOf<typeof walLimitTable>;
export const { defaults: defaultWalLimits, resolve: resolveWalLimits } = defineLimits(walLimitTable, (message) =>
  walError('WAL_LIMIT_INVALID', message),
);
