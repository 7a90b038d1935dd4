/**
 * Every operating error of `@distkv/replication`, in one place, each with
 * its contract (meaning, definite, retry, HTTP status), listed in
 * docs/errors.md (a repo test checks that both agree). Programmer errors
 * (a broken Ready contract, an impossible log state) are assertions instead.
 */
import { defineErrors } from '@distkv/core';
import type Table from './errors.json';

// #region error-codes
const defined = defineErrors<typeof Table>('replication', import.meta.url); // the contracts are data: errors.json, beside this file
export const { contracts: replicationErrors, meanings: replicationErrorCodes, error: replicationError } = defined;
// #endregion error-codes

export type ReplicationErrorCode = keyof typeof replicationErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<ReplicationErrorCode, 'replication'> {}
}
