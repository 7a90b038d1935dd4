/**
 * The options a node's operator chooses (`--leader`, `--election`,
 * `--read-mode`), turned into the RaftConfig fields that carry them out:
 * a fixed leader (phase 4), or an `ElectionFactory` (Raft or Bully). The
 * cluster phase builds each node's configuration with this, so the rules
 * of which combinations can work live in one place.
 */
import type { ElectionFactory, NodeId, ReadMode, Rng } from '@distkv/replication';
import { type BullyOptions, bullyElection } from './bully.js';
import { electionError } from './errors.js';
import { raftElection } from './raft-election.js';

// #region election-options
export interface ElectionOptions {
  /** Phase 4's fixed leader; when set, nobody campaigns and `election` must be left out. */
  leader?: NodeId;
  /** Who elects when there is no fixed leader; default `raft`. */
  election?: 'raft' | 'bully';
  /** Left out: the driver's default (`read-index` when electing, `stale` with a fixed leader). `lease` is Raft-only. */
  readMode?: ReadMode;
  /** Raft only; default true. */
  preVote?: boolean;
  /** Raft only; default true. */
  checkQuorum?: boolean;
  /** Raft only: randomness for election timeouts (default: derived from the node's id). */
  rng?: Rng;
  /** Bully only. */
  bully?: BullyOptions;
}
// #endregion election-options

export interface ElectionConfig {
  leader?: NodeId;
  election?: ElectionFactory;
  readMode?: ReadMode;
}

/** Validates the choice and returns the RaftConfig fields for it. Throws ELECTION_CONFIG_INVALID. */
export function electionConfig(options: ElectionOptions): ElectionConfig {
  const invalid = (why: string): never => {
    throw electionError('ELECTION_CONFIG_INVALID', why);
  };
  const { readMode } = options;
  if (readMode !== undefined && readMode !== 'read-index' && readMode !== 'lease' && readMode !== 'stale')
    invalid(`unknown read mode ${String(readMode)}`);
  const reads = readMode === undefined ? {} : { readMode };
  if (options.leader !== undefined) {
    if (options.election !== undefined) invalid('--leader fixes the leader; it excludes --election');
    if (readMode === 'lease') invalid('lease reads need check-quorum, which needs elections');
    if (options.preVote !== undefined || options.checkQuorum !== undefined) invalid('pre-vote and check-quorum need elections');
    return { leader: options.leader, ...reads };
  }
  const election = options.election ?? 'raft';
  if (election === 'raft') {
    if (options.bully !== undefined) invalid('bully options given for a raft election');
    const checkQuorum = options.checkQuorum ?? true;
    if (readMode === 'lease' && !checkQuorum) invalid('lease reads need check-quorum');
    const raft = {
      preVote: options.preVote ?? true,
      checkQuorum,
      ...(options.rng !== undefined ? { rng: options.rng } : {}),
    };
    return { election: raftElection(raft), ...reads };
  }
  if (election !== 'bully') return invalid(`unknown election algorithm ${String(election)}`);
  if (options.preVote !== undefined || options.checkQuorum !== undefined) invalid('pre-vote and check-quorum are Raft options');
  if (readMode === 'lease') invalid('lease reads are not safe under bully: nothing stops a higher node from taking over');
  return { election: bullyElection(options.bully), ...reads };
}
