/**
 * How a replication node is configured, with every limit named, defaulted
 * and validated when the node is built (TigerBeetle: put a limit on
 * everything). Invalid values raise CONFIG_INVALID.
 */

import type { ElectionFactory } from './election-seam.js';
import { replicationError } from './errors.js';
import { ADDRESS_BYTES_MAX } from './membership.js';
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
  /**
   * Most snapshot chunks sent to one follower since it last answered one;
   * so at most this times snapshotChunkBytesMax bytes of a transfer wait
   * in that peer's queue. A transfer that reaches it at a retry is
   * abandoned and begun again when the follower next answers.
   */
  snapshotChunksUnansweredMax: number;
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
  /**
   * Compaction keeps this many entries before the snapshot's index (etcd's
   * SnapshotCatchUpEntries), so a follower that missed only a few entries
   * gets them by AppendEntries, not the whole store by snapshot. 0: none.
   * Kept by the driver (and by the simulator only when set).
   */
  snapshotCatchUpEntries: number;
  /** ... and at most this many payload bytes of them. 0: none. */
  snapshotCatchUpBytes: number;
  /**
   * A learner counts as caught up, and may be promoted to voter, when its
   * log matches the leader's to within this many entries (etcd: "can only
   * promote a learner member which is in sync with leader").
   */
  learnerCatchUpEntriesMax: number;
}

export const defaultReplicationLimits: Readonly<ReplicationLimits> = Object.freeze({
  appendEntriesMax: 256,
  appendBytesMax: 1024 * 1024,
  inflightAppendsMax: 64,
  snapshotChunkBytesMax: 1024 * 1024,
  snapshotChunksUnansweredMax: 4,
  snapshotBytesMax: 1024 * 1024 * 1024,
  entryBytesMax: 4 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  votersMax: 9,
  readsPendingMax: 4096,
  snapshotCatchUpEntries: 5000,
  snapshotCatchUpBytes: 64 * 1024 * 1024,
  learnerCatchUpEntriesMax: 1000,
});

const hardMax: Readonly<ReplicationLimits> = Object.freeze({
  appendEntriesMax: 1_000_000,
  appendBytesMax: 1024 * 1024 * 1024,
  inflightAppendsMax: 65_536,
  snapshotChunkBytesMax: 1024 * 1024 * 1024,
  snapshotChunksUnansweredMax: 1024,
  snapshotBytesMax: 2 ** 52,
  entryBytesMax: 1024 * 1024 * 1024,
  uncommittedBytesMax: 2 ** 52,
  votersMax: 99,
  readsPendingMax: 1_000_000,
  snapshotCatchUpEntries: 10_000_000,
  snapshotCatchUpBytes: 2 ** 52,
  learnerCatchUpEntriesMax: 10_000_000,
});

/** Limits that may be 0 (the feature off); every other one is at least 1. */
const mayBeZero: ReadonlySet<keyof ReplicationLimits> = new Set([
  'snapshotCatchUpEntries',
  'snapshotCatchUpBytes',
  'learnerCatchUpEntriesMax',
]);
// #endregion limits

export type ReplicationMode = 'sync' | 'async';

/**
 * How `readIndex` confirms that a read may be served (thesis §6.4):
 * - `read-index`: the leader records its commit index and confirms it is
 *   still leader with a round of heartbeats answered by a majority.
 * - `lease`: no round trip while the election says the leader holds a
 *   lease (`ElectionPolicy.leaseHolds`; `@distkv/election`'s Raft with
 *   check-quorum keeps one). Safe only under the clock assumption the
 *   election documents.
 * - `stale`: any node answers at once with its applied index; may be stale.
 */
export type ReadMode = 'read-index' | 'lease' | 'stale';

export interface RaftConfig {
  /** This node. */
  id: NodeId;
  /**
   * Every voting member, this node included, when the cluster is created
   * (membership, chapter 5: later, the configuration in the log wins).
   */
  voters: readonly NodeId[];
  /** Members that receive the log without voting (membership, chapter 5); none by default. */
  learners?: readonly NodeId[];
  /**
   * Where the members' peers reach them (`host:port`), when the cluster is
   * created: carried in the configuration (ConfState.addresses) so that the
   * first membership change tells every node, a joining one included. The
   * state machine never dials them. Only members; none by default.
   */
  addresses?: Readonly<Record<string, string>>;
  /**
   * This node is joining a cluster it is not yet a member of: it starts
   * with no vote and learns the members from the leader's log or snapshot.
   */
  join?: boolean;
  /**
   * Phase 4: the leader named by configuration; it takes a fresh term each
   * time it starts and nobody campaigns. Give either `leader` or `election`.
   */
  leader?: NodeId | null;
  /**
   * Phase 5: who decides leadership when no leader is configured — an
   * `ElectionFactory` from `@distkv/election` (Raft's elections, or the
   * Bully algorithm), called once per node with the node's `RaftHandle`.
   */
  election?: ElectionFactory;
  /** How `readIndex` is answered; default `read-index`. `lease` needs an election that keeps leases. */
  readMode?: ReadMode;
  /** Leader sends heartbeats every this many ticks. */
  heartbeatIntervalTicks?: number;
  /** The election's clock: a Raft follower that hears nothing for a random [1, 2) multiple of this many ticks campaigns. */
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
    /** Send a fixed leader's appends before its own persist (Ready.earlyMessages), as only an elected leader may. */
    earlySendWithFixedLeader?: boolean;
    /** Propose a membership change before an entry of the leader's term has committed (the 2015 single-server change bug). */
    confChangeBeforeTermCommit?: boolean;
  };
}

export interface ResolvedConfig {
  id: NodeId;
  voters: readonly NodeId[];
  learners: readonly NodeId[];
  addresses: Readonly<Record<string, string>>;
  join: boolean;
  /** The configured leader, or null when the voters elect one. */
  leader: NodeId | null;
  election: ElectionFactory | undefined;
  readMode: ReadMode;
  heartbeatIntervalTicks: number;
  electionTimeoutTicks: number;
  applied: LogIndex;
  limits: Readonly<ReplicationLimits>;
  unsafe: { commitPreviousTermEntries: boolean; earlySendWithFixedLeader: boolean; confChangeBeforeTermCommit: boolean };
}

function positiveInt(name: string, value: number, max: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw replicationError('CONFIG_INVALID', `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** The limits with their defaults, each checked against its bounds; CONFIG_INVALID otherwise. */
export function resolveLimits(partial: Partial<ReplicationLimits> = {}): Readonly<ReplicationLimits> {
  const limits = { ...defaultReplicationLimits, ...partial };
  for (const key of Object.keys(hardMax) as Array<keyof ReplicationLimits>) {
    positiveInt(`limits.${key}`, limits[key], hardMax[key], mayBeZero.has(key) ? 0 : 1);
  }
  if (limits.entryBytesMax > limits.uncommittedBytesMax) {
    throw replicationError('CONFIG_INVALID', 'limits.entryBytesMax must not exceed limits.uncommittedBytesMax');
  }
  return Object.freeze(limits);
}

export function resolveConfig(config: RaftConfig): ResolvedConfig {
  const limits = resolveLimits(config.limits);
  const voters = [...config.voters];
  const learners = [...(config.learners ?? [])];
  const join = config.join ?? false;
  if ((voters.length === 0 && !join) || voters.length > limits.votersMax) {
    throw replicationError('CONFIG_INVALID', `voters must hold 1..${limits.votersMax} ids, got ${voters.length}`);
  }
  if (new Set([...voters, ...learners]).size !== voters.length + learners.length)
    throw replicationError('CONFIG_INVALID', 'voters and learners repeat an id');
  if (!join && !voters.includes(config.id) && !learners.includes(config.id))
    throw replicationError('CONFIG_INVALID', `id ${config.id} is not among the voters or learners`);
  const addresses = { ...(config.addresses ?? {}) };
  for (const [id, address] of Object.entries(addresses)) {
    if (!voters.includes(id as NodeId) && !learners.includes(id as NodeId))
      throw replicationError('CONFIG_INVALID', `addresses names ${id}, which is not a member`);
    const bytes = Buffer.byteLength(address, 'utf8');
    if (bytes === 0 || bytes > ADDRESS_BYTES_MAX)
      throw replicationError('CONFIG_INVALID', `the address of ${id} must hold 1..${ADDRESS_BYTES_MAX} bytes, got ${bytes}`);
  }
  if (join && config.leader !== undefined && config.leader !== null)
    throw replicationError('CONFIG_INVALID', 'a joining node needs an election, not a fixed leader');
  const leader = config.leader ?? null;
  if (leader !== null && !voters.includes(leader))
    throw replicationError('CONFIG_INVALID', `leader ${leader} is not among the voters`);
  if (leader !== null && config.election !== undefined)
    throw replicationError('CONFIG_INVALID', 'a fixed leader and an election policy exclude each other');
  if (leader === null && config.election === undefined)
    throw replicationError('CONFIG_INVALID', 'name a leader (phase 4) or give an election from @distkv/election (phase 5)');
  const heartbeatIntervalTicks = positiveInt('heartbeatIntervalTicks', config.heartbeatIntervalTicks ?? 1, 1_000_000);
  const electionTimeoutTicks = positiveInt('electionTimeoutTicks', config.electionTimeoutTicks ?? 10, 1_000_000);
  if (electionTimeoutTicks <= heartbeatIntervalTicks) {
    throw replicationError('CONFIG_INVALID', 'electionTimeoutTicks must exceed heartbeatIntervalTicks');
  }
  const readMode = config.readMode ?? 'read-index';
  if (readMode !== 'read-index' && readMode !== 'lease' && readMode !== 'stale')
    throw replicationError('CONFIG_INVALID', `readMode must be read-index, lease or stale, got ${String(readMode)}`);
  if (readMode === 'lease' && leader !== null)
    throw replicationError('CONFIG_INVALID', 'readMode lease needs an election that keeps leases, not a fixed leader');
  const applied = config.applied ?? (0 as LogIndex);
  if (!Number.isSafeInteger(applied) || applied < 0)
    throw replicationError('CONFIG_INVALID', `applied must be >= 0, got ${applied}`);
  return {
    id: config.id,
    voters,
    learners,
    addresses,
    join,
    leader,
    election: config.election,
    readMode,
    heartbeatIntervalTicks,
    electionTimeoutTicks,
    applied,
    limits,
    unsafe: {
      commitPreviousTermEntries: config.unsafe?.commitPreviousTermEntries ?? false,
      earlySendWithFixedLeader: config.unsafe?.earlySendWithFixedLeader ?? false,
      confChangeBeforeTermCommit: config.unsafe?.confChangeBeforeTermCommit ?? false,
    },
  };
}
