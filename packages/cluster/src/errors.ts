/**
 * Every operating error of `@distkv/cluster`, in one place, listed in
 * docs/errors.md (a repo test checks that both agree). Errors of the write
 * and read paths (TRYAGAIN, TIMEOUT, FORWARDS_FULL, …) are
 * `@distkv/replication`'s; the admin endpoint maps them to HTTP statuses.
 */
import { DistkvError } from '@distkv/core';

// #region error-codes
export const clusterErrorCodes = {
  CLUSTER_CONFIG_INVALID:
    'a ClusterNode option (ids, peers, ports, leader, election, read mode, limits) is missing, out of range or inconsistent',
  HTTP_BODY_TOO_LARGE: 'a REST request body is longer than httpBodyBytesMax; nothing was written (HTTP 413)',
  HTTP_NOT_FOUND: 'no admin route for this method and path (HTTP 404 or 405)',
  UNSAFE_BIND: 'a non-loopback client, admin or peer address without authentication; refused unless unsafeNoAuth',
} as const;
// #endregion error-codes

export type ClusterErrorCode = keyof typeof clusterErrorCodes;

export function clusterError(code: ClusterErrorCode, message: string): DistkvError<ClusterErrorCode> {
  return new DistkvError(code, message, { definite: true });
}
