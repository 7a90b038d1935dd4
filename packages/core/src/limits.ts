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
}

export const defaultStoreLimits: Readonly<StoreLimits> = Object.freeze({
  keyBytesMax: 64 * 1024,
  valueBytesMax: 512 * 1024 * 1024,
  keysMax: 16_000_000,
  dataBytesMax: 4 * 1024 * 1024 * 1024,
  batchKeysMax: 100_000,
  scanLimitMax: 100_000,
  snapshotsOpenMax: 4,
});
// #endregion limits

/** Hard ceilings: a limit may be lowered freely but never raised past these. */
const hardMax: Readonly<StoreLimits> = Object.freeze({
  // A key and an inline value share one 4 MiB arena chunk (see table.ts).
  keyBytesMax: 1024 * 1024,
  valueBytesMax: 512 * 1024 * 1024,
  keysMax: 100_000_000,
  // The arena addresses 32 GiB; compaction keeps chunks at least 1/4 live.
  dataBytesMax: 7 * 1024 * 1024 * 1024,
  batchKeysMax: 10_000_000,
  scanLimitMax: 10_000_000,
  snapshotsOpenMax: 64,
});

export function resolveLimits(overrides: Partial<StoreLimits> = {}): Readonly<StoreLimits> {
  const limits = { ...defaultStoreLimits, ...overrides };
  for (const name of Object.keys(defaultStoreLimits) as (keyof StoreLimits)[]) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1 || value > hardMax[name]) {
      throw coreError('LIMIT_INVALID', `${name} must be an integer from 1 to ${hardMax[name]}, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}
