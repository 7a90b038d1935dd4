/**
 * Every operating error of `@distkv/election`, in one place, each with its
 * contract, listed in docs/errors.md (a repo test checks that both agree).
 * Programmer errors are assertions instead. Errors of the state machine
 * itself (NOT_LEADER, READS_FULL, TRANSFER_TARGET_INVALID) are
 * `@distkv/replication`'s.
 */
import { defineErrors } from '@distkv/core';
import type Table from './errors.json';

// #region error-codes
const defined = defineErrors<typeof Table>('election', import.meta.url); // the contracts are data: errors.json, beside this file
export const { contracts: electionErrors, meanings: electionErrorCodes, error: electionError } = defined;
// #endregion error-codes

export type ElectionErrorCode = keyof typeof electionErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<ElectionErrorCode, 'election'> {}
}
