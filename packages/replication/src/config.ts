/**
 * How a replication node is configured, with every limit named, defaulted
 * and validated when the node is built (TigerBeetle: put a limit on
 * everything). Invalid values raise CONFIG_INVALID.
 */
import { replicationError } from './errors.js';
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
});
// #endregion limits

export type ReplicationMode = 'sync' | 'async';

export interface RaftConfig {
  /** This node. */
  id: NodeId;
  /** Every voting member, this node included. */
  voters: readonly NodeId[];
  /** Phase 4: the leader is named by configuration; phase 5 elects one instead. */
  leader: NodeId;
  /** Leader sends heartbeats every this many ticks. */
  heartbeatIntervalTicks?: number;
  /** A follower that hears nothing for this many ticks considers the leader silent (phase 5 campaigns). */
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
  leader: NodeId;
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
  if (!voters.includes(config.leader))
    throw replicationError('CONFIG_INVALID', `leader ${config.leader} is not among the voters`);
  const heartbeatIntervalTicks = positiveInt('heartbeatIntervalTicks', config.heartbeatIntervalTicks ?? 1, 1_000_000);
  const electionTimeoutTicks = positiveInt('electionTimeoutTicks', config.electionTimeoutTicks ?? 10, 1_000_000);
  if (electionTimeoutTicks <= heartbeatIntervalTicks) {
    throw replicationError('CONFIG_INVALID', 'electionTimeoutTicks must exceed heartbeatIntervalTicks');
  }
  const applied = config.applied ?? (0 as LogIndex);
  if (!Number.isSafeInteger(applied) || applied < 0)
    throw replicationError('CONFIG_INVALID', `applied must be >= 0, got ${applied}`);
  return {
    id: config.id,
    voters,
    leader: config.leader,
    heartbeatIntervalTicks,
    electionTimeoutTicks,
    applied,
    limits: Object.freeze(limits),
    unsafe: { commitPreviousTermEntries: config.unsafe?.commitPreviousTermEntries ?? false },
  };
}
