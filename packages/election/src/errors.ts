/**
 * Every operating error of `@distkv/election`, in one place, each with its
 * contract, listed in docs/errors.md (a repo test checks that both agree).
 * Programmer errors are assertions instead. Errors of the state machine
 * itself (NOT_LEADER, READS_FULL, TRANSFER_TARGET_INVALID) are
 * `@distkv/replication`'s.
 */
import { DistkvError, type ErrorContract, meaningsOf, registerErrors } from '@distkv/core';

// #region error-codes
export const electionErrors = registerErrors('election', {
  ELECTION_CONFIG_INVALID: {
    meaning: 'an election option (algorithm, read mode, timeouts, voters) is unknown, out of range or inconsistent',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorContract>);
// #endregion error-codes

export type ElectionErrorCode = keyof typeof electionErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<ElectionErrorCode, 'election'> {}
}

/** Each code's meaning alone; the contracts are in `electionErrors`. */
export const electionErrorCodes = meaningsOf(electionErrors);

export function electionError(code: ElectionErrorCode, message: string): DistkvError<ElectionErrorCode> {
  return new DistkvError(code, message);
}
