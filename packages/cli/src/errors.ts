/**
 * Every operating error of `@distkv/cli`, in one place, each with its
 * contract, listed in docs/errors.md (a repo test checks that both agree).
 * The command reports the other packages' codes too; these are the ones
 * only the command raises. Its exit codes are in docs/errors.md as well.
 */
import { defineErrors } from '@distkv/core';
import type Table from './errors.json';

// #region error-codes
const defined = defineErrors<typeof Table>('cli', import.meta.url); // the contracts are data: errors.json, beside this file
export const { contracts: cliErrors, meanings: cliErrorCodes, error: cliError } = defined;
// #endregion error-codes

export type CliErrorCode = keyof typeof cliErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<CliErrorCode, 'cli'> {}
}
