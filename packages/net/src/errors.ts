import { DistkvError } from '@distkv/core';

/**
 * Every operating error of `@distkv/net`, in one place (listed in
 * docs/errors.md, checked by a test). Protocol errors that a *client*
 * caused are not thrown at all: the server answers them on the wire, the
 * way Redis does. These codes are for the caller of this package's API.
 */
// #region error-codes
export const netErrorCodes = {
  LIMIT_INVALID: 'a configured server, client or frame limit is not an integer within its allowed range',
  PROTOCOL_ERROR: 'bytes received do not follow the protocol (framing is lost, the connection is closed)',
  FRAME_TOO_LARGE: 'a peer frame is longer than frameBytesMax',
  CONNECTION_REFUSED: 'the client could not connect, even after its reconnect attempts',
  CONNECTION_CLOSED: 'the connection closed while a request was in flight (it may have been applied)',
  TIMEOUT: 'no reply within timeoutMs (the request may have been applied)',
  SERVER_ERROR: 'the server answered a request with an error reply',
  CLIENT_CLOSED: 'a request was made on a client after close()',
  UNSAFE_BIND: 'a non-loopback address was to be served without any password (pass --unsafe-no-auth to allow it)',
  USER_INVALID: 'a --user is not name:ro|rw:password, or names a user twice',
  TLS_CONFIG_INVALID: 'a TLS certificate, key or CA is missing or unreadable',
} as const;
// #endregion error-codes

export type NetErrorCode = keyof typeof netErrorCodes;

export function netError(
  code: NetErrorCode,
  message: string,
  options: { definite?: boolean; cause?: unknown } = {},
): DistkvError<NetErrorCode> {
  return new DistkvError(code, message, options);
}
