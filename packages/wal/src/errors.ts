import { defineErrors } from '@distkv/core';
import type Table from './errors.json';

/**
 * Every operating error of `@distkv/wal`, in one place, each with its
 * contract (meaning, definite, retry, HTTP status; listed in
 * docs/errors.md, checked by a test). A write error is *definite* when the
 * failed entries are certainly not in the log (the file was cut back and
 * synced); it is *indefinite* when they may be (an fsync failed after the
 * bytes were handed to the kernel).
 */
// #region error-codes
const defined = defineErrors<typeof Table>('wal', import.meta.url); // the contracts are data: errors.json, beside this file
export const { contracts: walErrors, meanings: walErrorCodes, error: walError } = defined;
// #endregion error-codes

export type WalErrorCode = keyof typeof walErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<WalErrorCode, 'wal'> {}
}
