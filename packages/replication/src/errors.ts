/**
 * Every operating error of `@distkv/replication`, in one place, each with
 * its contract (meaning, definite, retry, HTTP status), listed in
 * docs/errors.md (a repo test checks that both agree). Programmer errors
 * (a broken Ready contract, an impossible log state) are assertions instead.
 */
import { DistkvError, type ErrorContract, meaningsOf, registerErrors } from '@distkv/core';

// #region error-codes
export const replicationErrors = registerErrors('replication', {
  CONFIG_INVALID: {
    meaning: 'a replication config or limit is missing, out of range or inconsistent',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  NOT_LEADER: {
    meaning: 'a proposal reached a node that is not the leader; nothing was proposed',
    definite: true,
    retry: true,
    httpStatus: 421,
  },
  PROPOSAL_TOO_LARGE: {
    meaning: 'a proposed payload is longer than limits.entryBytesMax',
    definite: true,
    retry: false,
    httpStatus: 413,
  },
  PROPOSALS_FULL: {
    meaning: 'uncommitted entries already hold limits.uncommittedBytesMax bytes; retry later',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  STATE_CORRUPT: {
    meaning: "a node's hardstate or snapshot file fails its checksum or framing",
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  PROPOSAL_DROPPED: {
    meaning: "another entry was committed at the proposal's index; it will never apply",
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  NODE_STOPPED: {
    meaning: 'the node stopped before the proposal was acknowledged; it may still apply',
    definite: false,
    retry: true,
    httpStatus: 503,
  },
  MESSAGE_CORRUPT: {
    meaning:
      'bytes from a peer are not a valid replication message (checksum, version, framing, limits, or content no correct peer sends)',
    definite: true,
    retry: false,
    httpStatus: 500,
  },
  READS_FULL: {
    meaning: 'the leader already holds limits.readsPendingMax unanswered reads; retry later',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  TRANSFER_TARGET_INVALID: {
    meaning: 'leadership can only be transferred to another voter',
    definite: true,
    retry: false,
    httpStatus: 400,
  },
  TRYAGAIN: {
    meaning: 'a write reached a node that knows no leader (or a leader that lost its role); nothing was done, retry',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
  TIMEOUT: {
    meaning: 'a write was not acknowledged within writeTimeoutMs (leader unreachable, no majority); it may still apply',
    definite: false,
    retry: true,
    httpStatus: 504,
  },
  FORWARDS_FULL: {
    meaning: 'forwardsPendingMax writes already wait for the leader, or forwardsServingMax at the leader; retry later',
    definite: true,
    retry: true,
    httpStatus: 503,
  },
} as const satisfies Record<string, ErrorContract>);
// #endregion error-codes

export type ReplicationErrorCode = keyof typeof replicationErrors;

declare module '@distkv/core' {
  interface DistkvErrorRegistry extends Record<ReplicationErrorCode, 'replication'> {}
}

/** Each code's meaning alone; the contracts are in `replicationErrors`. */
export const replicationErrorCodes = meaningsOf(replicationErrors);

/** Definite unless the code's contract says the outcome is unknown (NODE_STOPPED, TIMEOUT). */
export function replicationError(code: ReplicationErrorCode, message: string): DistkvError<ReplicationErrorCode> {
  return new DistkvError(code, message);
}
