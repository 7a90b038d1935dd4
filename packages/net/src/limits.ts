import { resolveIntegerLimits } from '@distkv/core';
import { netError } from './errors.js';

/**
 * Every size and count the server accepts from a client has a named
 * maximum, validated when the server is built. The defaults follow Redis
 * where Redis has one (proto-max-bulk-len, maxclients, timeout).
 */
// #region limits
export interface ServerLimits {
  /** Longest bulk string (one argument) in a RESP request: Redis's proto-max-bulk-len. */
  bulkBytesMax: number;
  /** Longest line: a line-protocol request, a RESP inline command, or a RESP header line. */
  lineBytesMax: number;
  /** Most arguments in one request (`*<count>`). */
  argsCountMax: number;
  /** Most connected clients; one more is told `-ERR max number of clients reached` and closed. */
  clientsMax: number;
  /** Close a connection after this long without traffic in either direction; 0 means never (Redis's `timeout 0`). */
  idleTimeoutMs: number;
  /** Most replies a connection may have queued (writes awaiting the WAL, or waiting for the socket); then it stops reading. */
  pendingRepliesMax: number;
  /** Most reply bytes waiting in a socket's buffer; a client over it is disconnected. */
  outputBytesMax: number;
  /** Longest wait for a client to read its replies (the socket to drain); then it is disconnected. */
  drainWaitMsMax: number;
  /** Most SCAN cursors remembered at once; the oldest is forgotten first. */
  scanCursorsMax: number;
}

export const defaultServerLimits: Readonly<ServerLimits> = Object.freeze({
  bulkBytesMax: 512 * 1024 * 1024,
  lineBytesMax: 64 * 1024,
  argsCountMax: 1024 * 1024,
  clientsMax: 10_000,
  idleTimeoutMs: 0,
  pendingRepliesMax: 1024,
  outputBytesMax: 1024 * 1024 * 1024,
  drainWaitMsMax: 60_000,
  scanCursorsMax: 10_000,
});
// #endregion limits

const ranges: Record<keyof ServerLimits, readonly [number, number]> = {
  bulkBytesMax: [1, 512 * 1024 * 1024],
  lineBytesMax: [16, 16 * 1024 * 1024],
  argsCountMax: [1, 16 * 1024 * 1024],
  clientsMax: [1, 1_000_000],
  idleTimeoutMs: [0, 2_147_483_647],
  pendingRepliesMax: [1, 1_000_000],
  outputBytesMax: [1024, 4 * 1024 * 1024 * 1024],
  drainWaitMsMax: [1, 2_147_483_647],
  scanCursorsMax: [1, 10_000_000],
};

export function resolveServerLimits(overrides: Partial<ServerLimits> = {}): Readonly<ServerLimits> {
  return resolveIntegerLimits(defaultServerLimits, ranges, overrides, (message) => netError('NET_LIMIT_INVALID', message));
}
