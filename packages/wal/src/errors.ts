import { DistkvError, type ErrorContract, meaningsOf, registerErrors } from '@distkv/core';

/**
 * Every operating error of `@distkv/wal`, in one place, each with its
 * contract (meaning, definite, retry, HTTP status; listed in
 * docs/errors.md, checked by a test). A write error is *definite* when the
 * failed entries are certainly not in the log (the file was cut back and
 * synced); it is *indefinite* when they may be (an fsync failed after the
 * bytes were handed to the kernel).
 */
// #region error-codes
export const walErrors = registerErrors('wal', {
  DATA_DIR_LOCKED: {
    meaning: 'another live process holds the data directory (distkv.lock); nothing was read or changed (exit 2)',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  WAL_CORRUPT: {
    meaning: 'a record before the tail of the last segment fails its checksum or framing, or segments leave a gap',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  WAL_VERSION: {
    meaning: 'a segment has a format version this build does not know',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  WAL_DISK_FULL: {
    meaning: 'a write failed with ENOSPC; the batch was rejected and cut back, later writes may succeed',
    definite: true,
    retry: true,
    httpStatus: 507,
  },
  WAL_WRITE_FAILED: {
    meaning: 'a write failed (EIO or similar); the batch was rejected and cut back, later writes may succeed',
    definite: true,
    retry: true,
    httpStatus: 500,
  },
  WAL_FSYNC_FAILED: {
    meaning: 'fdatasync failed; the batch may or may not be on disk, and the log refuses further writes',
    definite: false,
    retry: false,
    httpStatus: 500,
  },
  WAL_FAILED: {
    meaning: 'the log stopped accepting writes after an earlier fsync or rollback failure; reopen it',
    definite: false,
    retry: false,
    httpStatus: 500,
  },
  WAL_CLOSED: { meaning: 'the log or durable store is closed', definite: true, retry: false, httpStatus: 503 },
  WAL_ENTRY_TOO_LARGE: {
    meaning: 'an entry payload is longer than limits.entryBytesMax',
    definite: true,
    retry: false,
    httpStatus: 413,
  },
  WAL_QUEUE_FULL: {
    meaning: 'more entries wait to be written than limits.queueEntriesMax or limits.queueBytesMax',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  WAL_RANGE: {
    meaning: 'an index is outside the log (compacted away, or after lastIndex)',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  WAL_LIMIT_INVALID: { meaning: 'a configured WAL limit or option is not valid', definite: true, retry: false, httpStatus: 500 },
  WAL_STATE_CORRUPT: {
    meaning: 'the term-and-vote state file fails its checksum or framing',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  WAL_SNAPSHOT_MISSING: {
    meaning: 'the log starts after index 1 but no valid snapshot covers the entries before it',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorContract>);
// #endregion error-codes

export type WalErrorCode = keyof typeof walErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<WalErrorCode, 'wal'> {}
}

/** Each code's meaning alone; the contracts are in `walErrors`. */
export const walErrorCodes = meaningsOf(walErrors);

export function walError(
  code: WalErrorCode,
  message: string,
  options: { definite?: boolean; cause?: unknown } = {},
): DistkvError<WalErrorCode> {
  return new DistkvError(code, message, options);
}
