import { DistkvError, defineErrors } from '@distkv/core';
import type Table from './errors.json';

/**
 * Every operating error of `@distkv/net`, in one place, each with its
 * contract (listed in docs/errors.md, checked by a test). Protocol errors
 * that a *client* caused are not thrown at all: the server answers them on
 * the wire, the way Redis does. These codes are for the caller of this
 * package's API.
 */
// #region error-codes
const defined = defineErrors<typeof Table>('net', import.meta.url); // the contracts are data: errors.json, beside this file
export const { contracts: netErrors, meanings: netErrorCodes, error: netError } = defined;
// #endregion error-codes

export type NetErrorCode = keyof typeof netErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<NetErrorCode, 'net'> {}
}

/**
 * SERVER_ERROR with the reply it wraps: `replyCode` is the reply's first
 * word (`TRYAGAIN`, `TIMEOUT`, `ERR`, …; `ERROR` on the line protocol),
 * read once where the reply is decoded, so callers branch on a field
 * rather than on the message.
 */
export class ServerError extends DistkvError<'SERVER_ERROR'> {
  readonly replyCode: string;

  constructor(reply: string) {
    super('SERVER_ERROR', reply);
    this.replyCode = /^\S*/.exec(reply)?.[0] ?? '';
  }
}

/** The error every limit table of this package (limits.ts, client-port-security.ts) throws for a bad override. */
export const netLimitError = (message: string): Error => netError('NET_LIMIT_INVALID', message);
