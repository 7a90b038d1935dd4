/**
 * Every operating error of `@distkv/election`, in one place, listed in
 * docs/errors.md (a repo test checks that both agree). Programmer errors
 * are assertions instead. Errors of the state machine itself (NOT_LEADER,
 * READS_FULL, TRANSFER_TARGET_INVALID) are `@distkv/replication`'s.
 */
import { DistkvError } from '@distkv/core';

// #region error-codes
export const electionErrorCodes = {
  ELECTION_CONFIG_INVALID: 'an election option (algorithm, read mode, timeouts, voters) is unknown, out of range or inconsistent',
} as const;
// #endregion error-codes

export type ElectionErrorCode = keyof typeof electionErrorCodes;

export function electionError(code: ElectionErrorCode, message: string): DistkvError<ElectionErrorCode> {
  return new DistkvError(code, message, { definite: true });
}
