/**
 * Every operating error of `@distkv/core`, in one place, and the registry
 * that every package's errors live in. Each code has a stable uppercase
 * name, unique across the workspace, and a contract (fastify's `FST_ERR_*`
 * registry is the model): what it means, whether it is *definite* (the
 * operation certainly did not take effect), whether a retry can help, and
 * the HTTP status the admin endpoint answers it with. docs/errors.md lists
 * the same contracts, and a repo test checks that both agree. Core runs in
 * one process, so all its errors are definite; later phases add indefinite
 * ones (a timeout after a write was sent may or may not have been applied).
 */
import { assert } from './assert.js';

/** What a code promises whoever catches it. */
export interface ErrorContract {
  /** What happened, in one sentence; docs/errors.md says the same. */
  readonly meaning: string;
  /** true: the operation certainly did not take effect. false: it may have. */
  readonly definite: boolean;
  /** true: sending the same request again, later (or to the leader), can succeed with nothing else changed. */
  readonly retry: boolean;
  /** The status an HTTP endpoint (the cluster's admin port) answers this error with. */
  readonly httpStatus: number;
}

// #region error-codes
export const coreErrors = {
  KEY_TOO_LARGE: { meaning: 'a key is longer than limits.keyBytesMax', definite: true, retry: false, httpStatus: 400 },
  VALUE_TOO_LARGE: { meaning: 'a value is longer than limits.valueBytesMax', definite: true, retry: false, httpStatus: 413 },
  STORE_FULL: {
    meaning: 'the write would exceed limits.keysMax or limits.dataBytesMax',
    definite: true,
    retry: false,
    httpStatus: 507,
  },
  NOT_INTEGER: {
    meaning: 'INCRBY on a value that is not a base-10 signed 64-bit integer',
    definite: true,
    retry: false,
    httpStatus: 400,
  },
  INTEGER_OVERFLOW: { meaning: 'INCRBY would leave the signed 64-bit range', definite: true, retry: false, httpStatus: 400 },
  BATCH_TOO_LARGE: {
    meaning: 'a command carries more keys than limits.batchKeysMax',
    definite: true,
    retry: false,
    httpStatus: 400,
  },
  SCAN_LIMIT: {
    meaning: 'a scan asked for more than limits.scanLimitMax entries',
    definite: true,
    retry: false,
    httpStatus: 400,
  },
  STORE_LIMIT_INVALID: {
    meaning: 'a configured store limit is not a positive integer within its hard maximum',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  COMMAND_CORRUPT: {
    meaning: 'bytes given to decodeCommand are not a valid command',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  COMMAND_VERSION: {
    meaning: 'an encoded command has a format version this build does not know',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  SNAPSHOT_CORRUPT: {
    meaning: 'a snapshot stream fails its checksums or framing',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  SNAPSHOT_VERSION: {
    meaning: 'a snapshot has a format version this build does not know',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  SNAPSHOTS_BUSY: {
    meaning: 'more snapshots are open at once than limits.snapshotsOpenMax',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  SESSION_INVALID: {
    meaning: 'a session command has an id or sequence number outside 1..2^53-1, or wraps a session command',
    definite: true,
    retry: false,
    httpStatus: 400,
  },
  SESSION_EXPIRED: {
    meaning:
      'a session command names a session the table does not hold (evicted, or never opened): not applied now; an earlier try may have been',
    definite: true,
    retry: false,
    httpStatus: 410,
  },
  SESSION_SEQ_TOO_OLD: {
    meaning:
      "a session command's sequence number is below the oldest whose result is kept: not applied now; an earlier try may have been",
    definite: true,
    retry: false,
    httpStatus: 409,
  },
  SESSION_RESULT_TOO_LARGE: {
    meaning: 'a retried session write was applied once, but its result exceeded limits.sessionResultBytesMax and was not kept',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorContract>;
// #endregion error-codes

export type CoreErrorCode = keyof typeof coreErrors;

/**
 * Every registered code, as a key. Each package's errors.ts adds its own
 * by declaration merging (`declare module '@distkv/core'`), with its name
 * as the value: a code that two packages register fails to compile
 * wherever both are seen, and `isDistkvError(err, 'TYPO')` fails too.
 */
export interface DistkvErrorRegistry extends Record<CoreErrorCode, 'core'> {}

/** A code some loaded package registered. */
export type DistkvErrorCode = keyof DistkvErrorRegistry & string;

const contracts = new Map<string, { owner: string; contract: ErrorContract }>();

/**
 * Adds a package's codes to the registry that `DistkvError` reads its
 * contract from. Registering a code that another package holds is a
 * programmer error: codes are unique across the workspace.
 */
export function registerErrors<const Table extends Record<string, ErrorContract>>(owner: string, table: Table): Table {
  for (const [code, contract] of Object.entries(table)) {
    assert(/^[A-Z][A-Z0-9_]*$/.test(code), `error code ${code} of ${owner} is uppercase words joined by _`);
    const held = contracts.get(code);
    assert(held === undefined || held.owner === owner, `error code ${code} of ${owner} is already ${held?.owner}'s`);
    assert(Number.isInteger(contract.httpStatus), `error code ${code} has an integer HTTP status`);
    assert(contract.httpStatus >= 400 && contract.httpStatus <= 599, `error code ${code} has an error HTTP status`);
    contracts.set(code, { owner, contract });
  }
  return table;
}

/** The contract of a registered code, or undefined for one no loaded package registered (say, from a newer peer). */
export function errorContract(code: string): ErrorContract | undefined {
  return contracts.get(code)?.contract;
}

/** Every registered code with its owner and contract, in registration order (docs/errors.md is checked against it). */
export function registeredErrors(): Array<{ code: DistkvErrorCode; owner: string; contract: ErrorContract }> {
  return [...contracts].map(([code, { owner, contract }]) => ({ code: code as DistkvErrorCode, owner, contract }));
}

/**
 * The base class of every operating error in distkv. Later packages define
 * their own codes and reuse this class, so callers can test
 * `err instanceof DistkvError` and switch on `err.code`, never on the message.
 */
export class DistkvError<Code extends string = string> extends Error {
  override name = 'DistkvError';
  readonly code: Code;
  /** The message without its code: what a wire reply or a JSON body carries next to the code. */
  readonly detail: string;
  /**
   * true: the operation certainly did not happen. false: it may have.
   * The code's contract says which, unless the raiser knows better (a
   * send refused before anything left is definite whatever its code).
   */
  readonly definite: boolean;

  constructor(code: Code, detail: string, options: { definite?: boolean; cause?: unknown } = {}) {
    // The code leads the message for people reading logs; programs read `code` and `detail`.
    super(`${code}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = detail;
    this.definite = options.definite ?? errorContract(code)?.definite ?? true;
  }

  /** Whether sending the same request again can succeed (the code's contract; false for an unregistered code). */
  get retryable(): boolean {
    return errorContract(this.code)?.retry ?? false;
  }

  /** The HTTP status for this error (the code's contract; 500 for an unregistered code). */
  get httpStatus(): number {
    return errorContract(this.code)?.httpStatus ?? 500;
  }
}

/** Each code's meaning alone, for callers that need only the names and their texts. */
export function meaningsOf<Table extends Record<string, ErrorContract>>(table: Table): { readonly [C in keyof Table]: string } {
  return Object.fromEntries(Object.entries(table).map(([code, c]) => [code, c.meaning])) as { [C in keyof Table]: string };
}

registerErrors('core', coreErrors);

/** Each code's meaning; the contracts are in `coreErrors`. */
export const coreErrorCodes = meaningsOf(coreErrors);

export function coreError(code: CoreErrorCode, message: string): DistkvError<CoreErrorCode> {
  return new DistkvError(code, message);
}

/** Whether `err` is a DistkvError, with `code` if given: a registered code, so a typo does not compile. */
export function isDistkvError(err: unknown): err is DistkvError;
export function isDistkvError<Code extends DistkvErrorCode>(err: unknown, code: Code): err is DistkvError<Code>;
export function isDistkvError(err: unknown, code?: string): err is DistkvError {
  return err instanceof DistkvError && (code === undefined || err.code === code);
}
