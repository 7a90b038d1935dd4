/**
 * @distkv/election — phase 5 of distkv: who leads. Raft's elections
 * (RequestVote with the up-to-date check, randomised timeouts, pre-vote,
 * check-quorum, leadership transfer, leader leases) and the seed's Bully
 * algorithm, both plugged into `@distkv/replication`'s RaftNode through
 * its election seam (`RaftHandle`, `ElectionPolicy`); the operator's
 * options; and the simulator's election scenarios (`./testing`).
 * See docs/05-election.md.
 */
export {
  BullyElection,
  type BullyMessageKind,
  type BullyOptions,
  bullyElection,
  bullyPriority,
} from './bully.js';
export { type ElectionErrorCode, electionError, electionErrorCodes } from './errors.js';
export {
  type ElectionConfig,
  type ElectionOptions,
  electionConfig,
} from './options.js';
export {
  LEASE_CLOCK_DRIFT_TICKS_DEFAULT,
  RaftElection,
  type RaftElectionOptions,
  raftElection,
  raftElectionOf,
} from './raft-election.js';
