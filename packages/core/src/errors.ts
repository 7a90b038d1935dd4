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
import { createRequire } from 'node:module';
import { assert } from './assert.js';
import type Table from './errors.json';

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

/** Core's codes: the contracts are data (errors.json, beside this file), registered at the end of this file. */
export type CoreErrorCode = keyof typeof Table;

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

/**
 * What a later package's errors.ts does with its errors.json (`url` is its
 * `import.meta.url`): read the table beside it, register it, and hand back
 * the contracts, each code's meaning, and the constructor of its errors.
 */
export function defineErrors<Table extends Record<string, ErrorContract>>(
  owner: string,
  url: string,
): {
  contracts: Table;
  meanings: { readonly [C in keyof Table]: string };
  error: (
    code: keyof Table & string,
    detail: string,
    options?: { definite?: boolean; cause?: unknown },
  ) => DistkvError<keyof Table & string>;
} {
  const table = registerErrors(owner, createRequire(url)('./errors.json') as Table);
  return {
    contracts: table,
    meanings: meaningsOf(table),
    error: (code, detail, options) => new DistkvError(code, detail, options),
  };
}

// #region error-codes
/** Core registers its own table the way every later package does. */
export const {
  contracts: coreErrors,
  meanings: coreErrorCodes,
  error: coreError,
} = defineErrors<typeof Table>('core', import.meta.url);
// #endregion error-codes

/** Whether `err` is a DistkvError, with `code` if given: a registered code, so a typo does not compile. */
export function isDistkvError(err: unknown): err is DistkvError;
export function isDistkvError<Code extends DistkvErrorCode>(err: unknown, code: Code): err is DistkvError<Code>;
export function isDistkvError(err: unknown, code?: string): err is DistkvError {
  return err instanceof DistkvError && (code === undefined || err.code === code);
}
