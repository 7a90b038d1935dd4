import { resolveIntegerLimits } from '@distkv/core';
import { walError } from './errors.js';

/**
 * Every queue and batch of the log has a named maximum, validated when the
 * log opens. A limit that is hit produces a clear error, never a silent wait
 * or an unbounded buffer.
 */
// #region wal-limits
export interface WalLimits {
  /** Longest entry payload (an encoded command). */
  entryBytesMax: number;
  /** Most entries written and fsynced as one group-commit batch. */
  batchEntriesMax: number;
  /** Most record bytes in one batch (one write() call). */
  batchBytesMax: number;
  /** Most entries waiting for the next batch; more rejects with WAL_QUEUE_FULL. */
  queueEntriesMax: number;
  /** Most payload bytes waiting for the next batch. */
  queueBytesMax: number;
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes: number;
}

export const defaultWalLimits: Readonly<WalLimits> = Object.freeze({
  entryBytesMax: 64 * 1024 * 1024,
  batchEntriesMax: 16_384,
  batchBytesMax: 16 * 1024 * 1024,
  queueEntriesMax: 1_000_000,
  queueBytesMax: 1024 * 1024 * 1024,
  segmentBytes: 64 * 1024 * 1024,
});
// #endregion wal-limits

const ranges: { readonly [K in keyof WalLimits]: readonly [number, number] } = {
  entryBytesMax: [1, 512 * 1024 * 1024 + 16 * 1024 * 1024],
  batchEntriesMax: [1, 1_000_000],
  batchBytesMax: [1, 1024 * 1024 * 1024],
  queueEntriesMax: [1, 100_000_000],
  queueBytesMax: [1, 8 * 1024 * 1024 * 1024],
  segmentBytes: [4096, 4 * 1024 * 1024 * 1024],
};

export function resolveWalLimits(overrides: Partial<WalLimits> = {}): Readonly<WalLimits> {
  return resolveIntegerLimits(defaultWalLimits, ranges, overrides, (message) => walError('WAL_LIMIT_INVALID', message));
}
