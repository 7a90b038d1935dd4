/**
 * Every operating error of `@distkv/cluster`, in one place, each with its
 * contract, listed in docs/errors.md (a repo test checks that both agree).
 * Errors of the write and read paths (TRYAGAIN, TIMEOUT, FORWARDS_FULL, …)
 * are `@distkv/replication`'s; the admin endpoint answers every error with
 * the HTTP status its code's contract names.
 */
import { defineErrors } from '@distkv/core';
import type Table from './errors.json';

// #region error-codes
const defined = defineErrors<typeof Table>('cluster', import.meta.url); // the contracts are data: errors.json, beside this file
export const { contracts: clusterErrors, meanings: clusterErrorCodes, error: clusterError } = defined;
// #endregion error-codes

export type ClusterErrorCode = keyof typeof clusterErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<ClusterErrorCode, 'cluster'> {}
}
