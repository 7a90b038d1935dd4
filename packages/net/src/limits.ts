import { defineLimits, type LimitsOf } from '@distkv/core';
import { netLimitError } from './errors.js';

/**
 * Every size and count the server accepts from a client has a named
 * maximum, validated when the server is built. The defaults follow Redis
 * where Redis has one (proto-max-bulk-len, maxclients, timeout). Each limit
 * is declared once, with its default and the range a user may set.
 */
// #region limits
export const serverLimitTable = {
  /** Longest bulk string (one argument) in a RESP request: Redis's proto-max-bulk-len. */
  bulkBytesMax: { default: 512 * 1024 * 1024, min: 1, max: 512 * 1024 * 1024 },
  /** Longest line: a line-protocol request, a RESP inline command, or a RESP header line. */
  lineBytesMax: { default: 64 * 1024, min: 16, max: 16 * 1024 * 1024 },
  /** Most arguments in one request (`*<count>`). */
  argsCountMax: { default: 1024 * 1024, min: 1, max: 16 * 1024 * 1024 },
  /** Most connected clients; one more is told `-ERR max number of clients reached` and closed. */
  clientsMax: { default: 10_000, min: 1, max: 1_000_000 },
  /** Close a connection after this long without traffic in either direction; 0 means never (Redis's `timeout 0`). */
  idleTimeoutMs: { default: 0, min: 0, max: 2_147_483_647 },
  /** Most replies a connection may have queued (writes awaiting the WAL, or waiting for the socket); then it stops reading. */
  pendingRepliesMax: { default: 1024, min: 1, max: 1_000_000 },
  /** Most reply bytes waiting in a socket's buffer; a client over it is disconnected. */
  outputBytesMax: { default: 1024 * 1024 * 1024, min: 1024, max: 4 * 1024 * 1024 * 1024 },
  /** Longest wait for a client to read its replies (the socket to drain); then it is disconnected. */
  drainWaitMsMax: { default: 60_000, min: 1, max: 2_147_483_647 },
  /** Most SCAN cursors remembered at once; the oldest is forgotten first. */
  scanCursorsMax: { default: 10_000, min: 1, max: 10_000_000 },
} as const;
// #endregion limits

export type ServerLimits = LimitsOf<typeof serverLimitTable>;
export const { defaults: defaultServerLimits, resolve: resolveServerLimits } = defineLimits(serverLimitTable, netLimitError);
