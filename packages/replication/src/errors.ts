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
  MESSAGE_CORRUPT: 'bytes from a peer are not a valid replication message (checksum, version, framing or limits)',
} as const;
// #endregion error-codes

export type ReplicationErrorCode = keyof typeof replicationErrorCodes;

/** All replication errors so far are definite: they are raised before anything enters the log. */
export function replicationError(code: ReplicationErrorCode, message: string): DistkvError<ReplicationErrorCode> {
  return new DistkvError(code, message, { definite: true });
}
