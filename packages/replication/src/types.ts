/**
 * The vocabulary of the replicated log: branded numbers so a term is never
 * passed where an index is expected, log entries, the state a node must
 * persist, and the messages nodes exchange.
 */

// #region branded
/** A Raft term: a logical clock that only moves forward. */
export type Term = number & { readonly __brand: 'Term' };
/** A position in the log; the first entry is 1, and 0 means "before the log". */
export type LogIndex = number & { readonly __brand: 'LogIndex' };
/** A node's stable identity within the cluster (for example `n1`). */
export type NodeId = string & { readonly __brand: 'NodeId' };
// #endregion branded

export const term = (value: number): Term => value as Term;
export const logIndex = (value: number): LogIndex => value as LogIndex;
export const nodeId = (value: string): NodeId => value as NodeId;

// #region entry
/**
 * One slot of the replicated log. `payload` is opaque to replication (an
 * encoded `@distkv/core` Command); an empty payload is the no-op entry a
 * leader appends when its term begins.
 */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly payload: Uint8Array;
}
// #endregion entry

/** What a node must have on disk before it says anything that depends on it. */
export interface HardState {
  readonly term: Term;
  /** Whom this node voted for in `term` (phase 5; always null in phase 4). */
  readonly vote: NodeId | null;
  /** Highest index known committed. Losing it is safe; it only saves work. */
  readonly commit: LogIndex;
}

/** The last entry a snapshot covers: entries up to here are in `data`, not the log. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
}

/** The application's state as of `meta.index`, as opaque bytes. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'candidate' | 'leader';

// #region messages
interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term. Any message with a higher term makes the receiver a follower. */
  readonly term: Term;
}

/** Leader → follower: "after (prevIndex, prevTerm) come these entries; I have committed up to `commit`". */
export interface MsgApp extends Envelope {
  readonly type: 'MsgApp';
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * Follower → leader. Accepted: `index` is the follower's last index matching
 * the leader. Rejected: `index` is the prevIndex that did not match and
 * (`hintIndex`, `hintTerm`) is the follower's best guess of where the logs
 * agree, so the leader skips a whole term per round trip instead of one entry.
 */
export interface MsgAppResp extends Envelope {
  readonly type: 'MsgAppResp';
  readonly reject: boolean;
  readonly index: LogIndex;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}

/** Leader → follower on ticks: "I am alive; commit up to `commit`" (never beyond what the follower matches). */
export interface MsgHeartbeat extends Envelope {
  readonly type: 'MsgHeartbeat';
  readonly commit: LogIndex;
}

export interface MsgHeartbeatResp extends Envelope {
  readonly type: 'MsgHeartbeatResp';
}

/** Leader → follower: one chunk of a snapshot, at byte `offset` of `totalBytes`. */
export interface MsgSnap extends Envelope {
  readonly type: 'MsgSnap';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly totalBytes: number;
  readonly chunk: Uint8Array;
}

/** Follower → leader: "of the snapshot at `meta`, I hold the first `offset` bytes" (or reject: start over). */
export interface MsgSnapResp extends Envelope {
  readonly type: 'MsgSnapResp';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly reject: boolean;
}

export type Message = MsgApp | MsgAppResp | MsgHeartbeat | MsgHeartbeatResp | MsgSnap | MsgSnapResp;
export type MessageType = Message['type'];
// #endregion messages
