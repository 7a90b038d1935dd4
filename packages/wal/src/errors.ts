import { DistkvError } from '@distkv/core';

/**
 * Every operating error of `@distkv/wal`, in one place. Each has a stable
 * uppercase `code` (listed in docs/errors.md, checked by a test). A write
 * error is *definite* when the failed entries are certainly not in the log
 * (the file was cut back and synced); it is *indefinite* when they may be
 * (an fsync failed after the bytes were handed to the kernel).
 */
// #region error-codes
export const walErrorCodes = {
  WAL_CORRUPT: 'a record before the tail of the last segment fails its checksum or framing, or segments leave a gap',
  WAL_VERSION: 'a segment has a format version this build does not know',
  WAL_DISK_FULL: 'a write failed with ENOSPC; the batch was rejected and cut back, later writes may succeed',
  WAL_WRITE_FAILED: 'a write failed (EIO or similar); the batch was rejected and cut back, later writes may succeed',
  WAL_FSYNC_FAILED: 'fdatasync failed; the batch may or may not be on disk, and the log refuses further writes',
  WAL_FAILED: 'the log stopped accepting writes after an earlier fsync or rollback failure; reopen it',
  WAL_CLOSED: 'the log or durable store is closed',
  WAL_ENTRY_TOO_LARGE: 'an entry payload is longer than limits.entryBytesMax',
  WAL_QUEUE_FULL: 'more entries wait to be written than limits.queueEntriesMax or limits.queueBytesMax',
  WAL_RANGE: 'an index is outside the log (compacted away, or after lastIndex)',
  WAL_LIMIT_INVALID: 'a configured WAL limit or option is not valid',
  WAL_STATE_CORRUPT: 'the term-and-vote state file fails its checksum or framing',
  WAL_SNAPSHOT_MISSING: 'the log starts after index 1 but no valid snapshot covers the entries before it',
} as const;
// #endregion error-codes

export type WalErrorCode = keyof typeof walErrorCodes;

export function walError(
  code: WalErrorCode,
  message: string,
  options: { definite?: boolean; cause?: unknown } = {},
): DistkvError<WalErrorCode> {
  return new DistkvError(code, message, options);
}
