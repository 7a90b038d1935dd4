/**
 * How a replication node is configured, with every limit named, defaulted
 * and validated when the node is built (TigerBeetle: put a limit on
 * everything). Invalid values raise CONFIG_INVALID.
 */
import { replicationError } from './errors.js';
import type { ElectionPolicy } from './raft.js';
import type { Rng } from './rng.js';
import type { LogIndex, NodeId } from './types.js';

// #region limits
export interface ReplicationLimits {
  /** Most entries in one MsgApp. */
  appendEntriesMax: number;
  /** Most payload bytes in one MsgApp (a single larger entry is still sent alone). */
  appendBytesMax: number;
  /** Most MsgApps with entries sent to one follower and not yet acknowledged. */
  inflightAppendsMax: number;
  /** Most bytes of snapshot in one MsgSnap. */
  snapshotChunkBytesMax: number;
  /** Largest snapshot a follower accepts; a bigger one is refused. */
  snapshotBytesMax: number;
  /** Largest payload `propose` accepts. */
  entryBytesMax: number;
  /** Most payload bytes the leader holds appended but not committed; `propose` fails beyond it. */
  uncommittedBytesMax: number;
  /** Most voters in a cluster. */
  votersMax: number;
  /** Most ReadIndex requests a leader holds unanswered; `readIndex` fails with READS_FULL beyond it. */
  readsPendingMax: number;
}

export const defaultReplicationLimits: Readonly<ReplicationLimits> = Object.freeze({
  appendEntriesMax: 256,
  appendBytesMax: 1024 * 1024,
  inflightAppendsMax: 64,
  snapshotChunkBytesMax: 1024 * 1024,
  snapshotBytesMax: 1024 * 1024 * 1024,
  entryBytesMax: 4 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  votersMax: 9,
  readsPendingMax: 4096,
});

const hardMax: Readonly<ReplicationLimits> = Object.freeze({
  appendEntriesMax: 1_000_000,
  appendBytesMax: 1024 * 1024 * 1024,
  inflightAppendsMax: 65_536,
  snapshotChunkBytesMax: 1024 * 1024 * 1024,
  snapshotBytesMax: 2 ** 52,
  entryBytesMax: 1024 * 1024 * 1024,
  uncommittedBytesMax: 2 ** 52,
  votersMax: 99,
  readsPendingMax: 1_000_000,
});
// #endregion limits

export type ReplicationMode = 'sync' | 'async';

/**
 * How `readIndex` confirms that a read may be served (thesis §6.4):
 * - `read-index`: the leader records its commit index and confirms it is
 *   still leader with a round of heartbeats answered by a majority.
 * - `lease`: no round trip while the leader holds a lease: a majority
 *   answered a heartbeat sent less than `electionTimeoutTicks -
 *   leaseClockDriftTicks` ticks ago, and those voters promised (check-quorum)
 *   not to vote for anyone else for `electionTimeoutTicks` of their own
 *   ticks. Safe only if tick rates differ by less than the drift allowance.
 * - `stale`: any node answers at once with its applied index; may be stale.
 */
export type ReadMode = 'read-index' | 'lease' | 'stale';

export interface RaftConfig {
  /** This node. */
  id: NodeId;
  /** Every voting member, this node included. */
  voters: readonly NodeId[];
  /**
   * Phase 4: the leader named by configuration; it takes a fresh term each
   * time it starts and nobody campaigns. Leave it out (phase 5) and the
   * voters elect a leader.
   */
  leader?: NodeId | null;
  /**
   * Who decides leadership when `leader` is not set: Raft's own elections
   * (the default), or a pluggable policy such as `@distkv/election`'s
   * BullyElection. One policy object per node.
   */
  election?: ElectionPolicy;
  /** Thesis §9.6: ask before campaigning, so a rejoining node does not disrupt a healthy leader. Default true. */
  preVote?: boolean;
  /**
   * Thesis §6.2: a leader that has not heard from a majority within an
   * election timeout steps down, and a follower that heard from a leader
   * within an election timeout ignores vote requests. Default true when
   * electing with Raft; off with a fixed leader or a policy.
   */
  checkQuorum?: boolean;
  /** How `readIndex` is answered; default `read-index`. `lease` requires checkQuorum. */
  readMode?: ReadMode;
  /** Lease reads: ticks of clock drift allowed between any two nodes during one election timeout. Default 1. */
  leaseClockDriftTicks?: number;
  /** Randomness for election timeouts; default a seeded Rng derived from `id` (deterministic). */
  rng?: Rng;
  /** Leader sends heartbeats every this many ticks. */
  heartbeatIntervalTicks?: number;
  /** A follower that hears nothing for a random [1, 2) multiple of this many ticks campaigns. */
  electionTimeoutTicks?: number;
  /** Index the application has already applied (its snapshot's index) when the node is built. */
  applied?: LogIndex;
  limits?: Partial<ReplicationLimits>;
  /**
   * Deliberately broken variants, for proving that the simulator's checker
   * bites. Never set outside tests.
   */
  unsafe?: {
    /** Figure 8: commit an entry of an earlier term once a majority holds it. */
    commitPreviousTermEntries?: boolean;
  };
}

export interface ResolvedConfig {
  id: NodeId;
  voters: readonly NodeId[];
  /** The configured leader, or null when the voters elect one. */
  leader: NodeId | null;
  election: ElectionPolicy | undefined;
  preVote: boolean;
  checkQuorum: boolean;
  readMode: ReadMode;
  leaseClockDriftTicks: number;
  heartbeatIntervalTicks: number;
  electionTimeoutTicks: number;
  applied: LogIndex;
  limits: Readonly<ReplicationLimits>;
  unsafe: { commitPreviousTermEntries: boolean };
}

function positiveInt(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw replicationError('CONFIG_INVALID', `${name} must be an integer in [1, ${max}], got ${value}`);
  }
  return value;
}

export function resolveConfig(config: RaftConfig): ResolvedConfig {
  const limits = { ...defaultReplicationLimits, ...config.limits };
  for (const key of Object.keys(hardMax) as Array<keyof ReplicationLimits>) {
    positiveInt(`limits.${key}`, limits[key], hardMax[key]);
  }
  if (limits.entryBytesMax > limits.uncommittedBytesMax) {
    throw replicationError('CONFIG_INVALID', 'limits.entryBytesMax must not exceed limits.uncommittedBytesMax');
  }
  const voters = [...config.voters];
  if (voters.length === 0 || voters.length > limits.votersMax) {
    throw replicationError('CONFIG_INVALID', `voters must hold 1..${limits.votersMax} ids, got ${voters.length}`);
  }
  if (new Set(voters).size !== voters.length) throw replicationError('CONFIG_INVALID', 'voters repeat an id');
  if (!voters.includes(config.id)) throw replicationError('CONFIG_INVALID', `id ${config.id} is not among the voters`);
  const leader = config.leader ?? null;
  if (leader !== null && !voters.includes(leader))
    throw replicationError('CONFIG_INVALID', `leader ${leader} is not among the voters`);
  if (leader !== null && config.election !== undefined)
    throw replicationError('CONFIG_INVALID', 'a fixed leader and an election policy exclude each other');
  const heartbeatIntervalTicks = positiveInt('heartbeatIntervalTicks', config.heartbeatIntervalTicks ?? 1, 1_000_000);
  const electionTimeoutTicks = positiveInt('electionTimeoutTicks', config.electionTimeoutTicks ?? 10, 1_000_000);
  if (electionTimeoutTicks <= heartbeatIntervalTicks) {
    throw replicationError('CONFIG_INVALID', 'electionTimeoutTicks must exceed heartbeatIntervalTicks');
  }
  const checkQuorum = config.checkQuorum ?? (leader === null && config.election === undefined);
  if (checkQuorum && leader !== null) throw replicationError('CONFIG_INVALID', 'checkQuorum needs elections (no fixed leader)');
  const readMode = config.readMode ?? 'read-index';
  if (readMode !== 'read-index' && readMode !== 'lease' && readMode !== 'stale')
    throw replicationError('CONFIG_INVALID', `readMode must be read-index, lease or stale, got ${String(readMode)}`);
  if (readMode === 'lease' && !checkQuorum) throw replicationError('CONFIG_INVALID', 'readMode lease requires checkQuorum');
  const leaseClockDriftTicks = config.leaseClockDriftTicks ?? 1;
  if (!Number.isSafeInteger(leaseClockDriftTicks) || leaseClockDriftTicks < 0 || leaseClockDriftTicks >= electionTimeoutTicks)
    throw replicationError('CONFIG_INVALID', 'leaseClockDriftTicks must be an integer in [0, electionTimeoutTicks)');
  const applied = config.applied ?? (0 as LogIndex);
  if (!Number.isSafeInteger(applied) || applied < 0)
    throw replicationError('CONFIG_INVALID', `applied must be >= 0, got ${applied}`);
  return {
    id: config.id,
    voters,
    leader,
    election: config.election,
    preVote: config.preVote ?? true,
    checkQuorum,
    readMode,
    leaseClockDriftTicks,
    heartbeatIntervalTicks,
    electionTimeoutTicks,
    applied,
    limits: Object.freeze(limits),
    unsafe: { commitPreviousTermEntries: config.unsafe?.commitPreviousTermEntries ?? false },
  };
}
