/**
 * Every operating error of `@distkv/replication`, in one place, listed in
 * docs/errors.md (a repo test checks that both agree). Programmer errors
 * (a broken Ready contract, an impossible log state) are assertions instead.
 */
import { DistkvError } from '@distkv/core';

// #region error-codes
export const replicationErrorCodes = {
  CONFIG_INVALID: 'a replication config or limit is missing, out of range or inconsistent',
  NOT_LEADER: 'a proposal reached a node that is not the leader; nothing was proposed',
  PROPOSAL_TOO_LARGE: 'a proposed payload is longer than limits.entryBytesMax',
  PROPOSALS_FULL: 'uncommitted entries already hold limits.uncommittedBytesMax bytes; retry later',
  STATE_CORRUPT: "a node's hardstate or snapshot file fails its checksum or framing",
  PROPOSAL_DROPPED: "another entry was committed at the proposal's index; it will never apply",
  NODE_STOPPED: 'the node stopped before the proposal was acknowledged; it may still apply',
  MESSAGE_CORRUPT: 'bytes from a peer are not a valid replication message (checksum, version, framing or limits)',
  READS_FULL: 'the leader already holds limits.readsPendingMax unanswered reads; retry later',
  TRANSFER_TARGET_INVALID: 'leadership can only be transferred to another voter',
  TRYAGAIN: 'a write reached a node that knows no leader (or a leader that lost its role); nothing was done, retry',
  TIMEOUT: 'a write was not acknowledged within writeTimeoutMs (leader unreachable, no majority); it may still apply',
  FORWARDS_FULL: 'forwardsPendingMax writes already wait for the leader, or forwardsServingMax at the leader; retry later',
} as const;
// #endregion error-codes

export type ReplicationErrorCode = keyof typeof replicationErrorCodes;

/** Errors after which the operation may still have happened. */
const indefinite: ReadonlySet<ReplicationErrorCode> = new Set(['NODE_STOPPED', 'TIMEOUT']);

export function replicationError(code: ReplicationErrorCode, message: string): DistkvError<ReplicationErrorCode> {
  return new DistkvError(code, message, { definite: !indefinite.has(code) });
}
