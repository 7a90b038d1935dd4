/**
 * Every operating error of `@distkv/cluster`, in one place, each with its
 * contract, listed in docs/errors.md (a repo test checks that both agree).
 * Errors of the write and read paths (TRYAGAIN, TIMEOUT, FORWARDS_FULL, …)
 * are `@distkv/replication`'s; the admin endpoint answers every error with
 * the HTTP status its code's contract names.
 */
import { DistkvError, type ErrorContract, meaningsOf, registerErrors } from '@distkv/core';

// #region error-codes
export const clusterErrors = registerErrors('cluster', {
  CLUSTER_CONFIG_INVALID: {
    meaning:
      'a ClusterNode option (ids, peers, ports, leader, election, read mode, limits) is missing, out of range or inconsistent',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  HTTP_BODY_TOO_LARGE: {
    meaning: 'a REST request body is longer than httpBodyBytesMax; nothing was written',
    definite: true,
    retry: false,
    httpStatus: 413,
  },
  HTTP_NOT_FOUND: { meaning: 'no admin route for this path', definite: true, retry: false, httpStatus: 404 },
  HTTP_METHOD_NOT_ALLOWED: {
    meaning: 'an admin route exists for this path, but not for this method (the Allow header lists those it has)',
    definite: true,
    retry: false,
    httpStatus: 405,
  },
  HTTP_KEY_NOT_FOUND: {
    meaning: 'GET or DELETE /v1/kv/:key on a key the store does not hold',
    definite: true,
    retry: false,
    httpStatus: 404,
  },
  HTTP_INTERNAL_ERROR: {
    meaning: 'the admin endpoint failed with an error that has no registered code (a bug); a write may have happened',
    definite: false,
    retry: false,
    httpStatus: 500,
  },
  NOAUTH: {
    meaning: 'an admin request that needs a user came without HTTP Basic credentials',
    definite: true,
    retry: false,
    httpStatus: 401,
  },
  WRONGPASS: {
    meaning: 'HTTP Basic credentials on an admin request name no user with that password',
    definite: true,
    retry: false,
    httpStatus: 401,
  },
  NOPERM: { meaning: 'a read-only user asked the admin endpoint to write', definite: true, retry: false, httpStatus: 403 },
  CLUSTER_UNSAFE_BIND: {
    meaning: 'a non-loopback client, admin or peer address without authentication; refused unless unsafeNoAuth',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorContract>);
// #endregion error-codes

export type ClusterErrorCode = keyof typeof clusterErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<ClusterErrorCode, 'cluster'> {}
}

/** Each code's meaning alone; the contracts are in `clusterErrors`. */
export const clusterErrorCodes = meaningsOf(clusterErrors);

export function clusterError(code: ClusterErrorCode, message: string): DistkvError<ClusterErrorCode> {
  return new DistkvError(code, message);
}
