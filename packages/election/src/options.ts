/**
 * The options a node's operator chooses (`--leader`, `--election`,
 * `--read-mode`), turned into the RaftConfig fields that carry them out.
 * The cluster phase builds each node's RaftConfig with this.
 */
import type { NodeId, RaftConfig, ReadMode } from '@distkv/replication';
import { BullyElection, type BullyOptions } from './bully.js';
import { electionError } from './errors.js';

// #region election-options
export interface ElectionOptions {
  /** Phase 4's fixed leader; when set, nobody campaigns and `election` must be left out. */
  leader?: NodeId;
  /** Who elects when there is no fixed leader; default `raft`. */
  election?: 'raft' | 'bully';
  /** Default `read-index`; `lease` needs check-quorum, so it is Raft-only. */
  readMode?: ReadMode;
  /** Raft only; default true. */
  preVote?: boolean;
  /** Raft only; default true. */
  checkQuorum?: boolean;
  /** Bully only. */
  bully?: BullyOptions;
}
// #endregion election-options

export type ElectionConfig = Pick<RaftConfig, 'leader' | 'election' | 'preVote' | 'checkQuorum' | 'readMode'>;

/** Validates the choice and returns the RaftConfig fields for it. Throws ELECTION_CONFIG_INVALID. */
export function electionConfig(options: ElectionOptions): ElectionConfig {
  const invalid = (why: string): never => {
    throw electionError('ELECTION_CONFIG_INVALID', why);
  };
  const readMode = options.readMode ?? 'read-index';
  if (readMode !== 'read-index' && readMode !== 'lease' && readMode !== 'stale') invalid(`unknown read mode ${String(readMode)}`);
  if (options.leader !== undefined) {
    if (options.election !== undefined) invalid('--leader fixes the leader; it excludes --election');
    if (readMode === 'lease') invalid('lease reads need check-quorum, which needs elections');
    return { leader: options.leader, readMode, checkQuorum: false };
  }
  const election = options.election ?? 'raft';
  if (election === 'raft') {
    if (options.bully !== undefined) invalid('bully options given for a raft election');
    const checkQuorum = options.checkQuorum ?? true;
    if (readMode === 'lease' && !checkQuorum) invalid('lease reads need check-quorum');
    return { preVote: options.preVote ?? true, checkQuorum, readMode };
  }
  if (election !== 'bully') return invalid(`unknown election algorithm ${String(election)}`);
  if (options.preVote !== undefined || options.checkQuorum !== undefined) invalid('pre-vote and check-quorum are Raft options');
  if (readMode === 'lease') invalid('lease reads are not safe under bully: nothing stops a higher node from taking over');
  return { election: new BullyElection(options.bully), checkQuorum: false, readMode };
}
