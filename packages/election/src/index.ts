/**
 * @distkv/election — phase 5 of distkv: who leads. Raft's elections live
 * in `@distkv/replication`'s RaftNode (as in etcd: votes and terms are the
 * state replication fences with); this package is their public face —
 * options, the Bully algorithm as a pluggable policy, and the simulator's
 * election scenarios. See docs/05-election.md.
 */
export { BullyElection, type BullyMessageKind, type BullyOptions, bullyPriority } from './bully.js';
export { type ElectionErrorCode, electionError, electionErrorCodes } from './errors.js';
export {
  type ElectionConfig,
  type ElectionOptions,
  electionConfig,
} from './options.js';
export * from './testing/index.js';
