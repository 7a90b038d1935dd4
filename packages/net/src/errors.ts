import { DistkvError, type ErrorContract, meaningsOf, registerErrors } from '@distkv/core';

/**
 * Every operating error of `@distkv/net`, in one place, each with its
 * contract (listed in docs/errors.md, checked by a test). Protocol errors
 * that a *client* caused are not thrown at all: the server answers them on
 * the wire, the way Redis does. These codes are for the caller of this
 * package's API.
 */
// #region error-codes
export const netErrors = registerErrors('net', {
  NET_LIMIT_INVALID: {
    meaning: 'a configured server, client or frame limit is not an integer within its allowed range',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  PROTOCOL_ERROR: {
    meaning: 'bytes received do not follow the protocol (framing is lost, the connection is closed)',
    definite: false,
    retry: false,
    httpStatus: 502,
  },
  FRAME_TOO_LARGE: { meaning: 'a peer frame is longer than frameBytesMax', definite: true, retry: false, httpStatus: 413 },
  CONNECTION_REFUSED: {
    meaning: 'the client could not connect, even after its reconnect attempts',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  CONNECTION_CLOSED: {
    meaning: 'the connection closed while a request was in flight (it may have been applied)',
    definite: false,
    retry: true,
    httpStatus: 502,
  },
  NET_TIMEOUT: {
    meaning: "no reply within the client's timeoutMs (the request may have been applied)",
    definite: false,
    retry: true,
    httpStatus: 504,
  },
  SERVER_ERROR: {
    meaning: "the server answered a request with an error reply (the reply's first word is the error's replyCode)",
    definite: true,
    retry: false,
    httpStatus: 502,
  },
  CLIENT_CLOSED: { meaning: 'a request was made on a client after close()', definite: true, retry: false, httpStatus: 500 },
  NET_UNSAFE_BIND: {
    meaning: 'a non-loopback client port was to be served without any password (pass --unsafe-no-auth to allow it)',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  USER_INVALID: {
    meaning: 'a --user is not name:ro|rw:password, or names a user twice',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  TLS_CONFIG_INVALID: {
    meaning: 'a TLS certificate, key or CA is missing or unreadable',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorContract>);
// #endregion error-codes

export type NetErrorCode = keyof typeof netErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<NetErrorCode, 'net'> {}
}

/** Each code's meaning alone; the contracts are in `netErrors`. */
export const netErrorCodes = meaningsOf(netErrors);

export function netError(
  code: NetErrorCode,
  message: string,
  options: { definite?: boolean; cause?: unknown } = {},
): DistkvError<NetErrorCode> {
  return new DistkvError(code, message, options);
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
