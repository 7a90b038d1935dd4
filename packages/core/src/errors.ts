/**
 * Every operating error of `@distkv/core`, in one place. Each has a stable
 * uppercase `code` (listed in docs/errors.md, checked by a test) and says
 * whether it is *definite*: a definite error means the operation certainly
 * did not take effect. Core runs in one process, so all its errors are
 * definite; later phases add indefinite ones (a timeout after a write was
 * sent may or may not have been applied).
 */

// #region error-codes
export const coreErrorCodes = {
  KEY_TOO_LARGE: 'a key is longer than limits.keyBytesMax',
  VALUE_TOO_LARGE: 'a value is longer than limits.valueBytesMax',
  STORE_FULL: 'the write would exceed limits.keysMax or limits.dataBytesMax',
  NOT_INTEGER: 'INCRBY on a value that is not a base-10 signed 64-bit integer',
  INTEGER_OVERFLOW: 'INCRBY would leave the signed 64-bit range',
  BATCH_TOO_LARGE: 'a command carries more keys than limits.batchKeysMax',
  SCAN_LIMIT: 'a scan asked for more than limits.scanLimitMax entries',
  LIMIT_INVALID: 'a configured limit is not a positive integer within its hard maximum',
  COMMAND_CORRUPT: 'bytes given to decodeCommand are not a valid command',
  COMMAND_VERSION: 'an encoded command has a format version this build does not know',
  SNAPSHOT_CORRUPT: 'a snapshot stream fails its checksums or framing',
  SNAPSHOT_VERSION: 'a snapshot has a format version this build does not know',
  SNAPSHOTS_BUSY: 'more snapshots are open at once than limits.snapshotsOpenMax',
  SESSION_INVALID: 'a session command has an id or sequence number outside 1..2^53-1, or wraps a session command',
  SESSION_EXPIRED:
    'a session command names a session the table does not hold (evicted, or never opened): not applied now; an earlier try may have been',
  SESSION_SEQ_TOO_OLD:
    "a session command's sequence number is below the oldest whose result is kept: not applied now; an earlier try may have been",
  SESSION_RESULT_TOO_LARGE:
    'a retried session write was applied once, but its result exceeded limits.sessionResultBytesMax and was not kept',
} as const;
// #endregion error-codes

export type CoreErrorCode = keyof typeof coreErrorCodes;

/**
 * The base class of every operating error in distkv. Later packages define
 * their own codes and reuse this class, so callers can test
 * `err instanceof DistkvError` and switch on `err.code`.
 */
export class DistkvError<Code extends string = string> extends Error {
  override name = 'DistkvError';
  readonly code: Code;
  /** true: the operation certainly did not happen. false: it may have. */
  readonly definite: boolean;

  constructor(code: Code, message: string, options: { definite?: boolean; cause?: unknown } = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.definite = options.definite ?? true;
  }
}

export function coreError(code: CoreErrorCode, message: string): DistkvError<CoreErrorCode> {
  return new DistkvError(code, message);
}

export function isDistkvError(err: unknown, code?: string): err is DistkvError {
  return err instanceof DistkvError && (code === undefined || err.code === code);
}
