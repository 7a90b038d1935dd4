/**
 * Every operating error of `@distkv/cli`, in one place, each with its
 * contract, listed in docs/errors.md (a repo test checks that both agree).
 * The command reports the other packages' codes too; these are the ones
 * only the command raises. Its exit codes are in docs/errors.md as well.
 */
import { type ErrorContract, meaningsOf, registerErrors } from '@distkv/core';

// #region error-codes
export const cliErrors = registerErrors('cli', {
  CLI_CONFIG_INVALID: {
    meaning:
      'a `server` setting (flag, DISTKV_* variable or config file) is unknown, malformed or out of range; every problem is listed (exit 2)',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorContract>);
// #endregion error-codes

export type CliErrorCode = keyof typeof cliErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<CliErrorCode, 'cli'> {}
}

/** Each code's meaning alone; the contracts are in `cliErrors`. */
export const cliErrorCodes = meaningsOf(cliErrors);
