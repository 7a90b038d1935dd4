/**
 * The vocabulary of the replicated log: branded numbers so a term is never
 * passed where an index is expected, log entries, the state a node must
 * persist, and the messages nodes exchange.
 */

import type { ConfState } from './membership.js';

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
  /** Whom this node voted for in `term`, or null. Persisted before the vote is announced (§5.2). A fixed leader votes for itself. */
  readonly vote: NodeId | null;
  /** Highest index known committed. Losing it is safe; it only saves work. */
  readonly commit: LogIndex;
}

/** The last entry a snapshot covers: entries up to here are in `data`, not the log. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  /**
   * The members in force at `index` (membership, chapter 5): a node that installs the
   * snapshot takes them. Absent: the members the node was configured with
   * (a snapshot from before membership changes).
   */
  readonly conf?: ConfState;
}

/** The application's state as of `meta.index`, as opaque bytes. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** `pre-candidate`: asking whether it could win (pre-vote, thesis §9.6) without touching its term. */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

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

/**
 * Leader → follower on ticks: "I am alive; commit up to `commit`" (never
 * beyond what the follower matches). `seq` (phase 5) numbers the leader's
 * heartbeat rounds; the follower echoes it, so a ReadIndex or a lease only
 * counts answers to rounds sent after the read arrived. 0: not numbered.
 */
export interface MsgHeartbeat extends Envelope {
  readonly type: 'MsgHeartbeat';
  readonly commit: LogIndex;
  readonly seq?: number;
}

export interface MsgHeartbeatResp extends Envelope {
  readonly type: 'MsgHeartbeatResp';
  readonly seq?: number;
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

// #region vote-messages
/**
 * Candidate → voter (§5.2). `term` is the candidate's new term; for a
 * pre-vote (`MsgPreVote`, thesis §9.6) it is the term the candidate *would*
 * take, and nobody's term changes. (`lastIndex`, `lastTerm`) describe the
 * candidate's log for the up-to-date check (§5.4.1). `transfer`: the
 * leader asked for this election (TimeoutNow), so voters that still hear
 * from that leader vote anyway.
 */
export interface MsgVote extends Envelope {
  readonly type: 'MsgVote' | 'MsgPreVote';
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  readonly transfer: boolean;
}

/** Voter → candidate: granted or not, in `term` (a pre-vote answer carries the term it was asked about). */
export interface MsgVoteResp extends Envelope {
  readonly type: 'MsgVoteResp' | 'MsgPreVoteResp';
  readonly reject: boolean;
}

/** Leader → its chosen successor (thesis §3.10): "campaign now, without waiting for a timeout". */
export interface MsgTimeoutNow extends Envelope {
  readonly type: 'MsgTimeoutNow';
}

/**
 * A message that belongs to a pluggable election policy (for example the
 * Bully algorithm's ELECTION / ANSWER / COORDINATOR in `@distkv/election`).
 * Replication carries it and hands it to the policy; it reads only `term`.
 */
export interface MsgPolicy extends Envelope {
  readonly type: 'MsgPolicy';
  readonly kind: string;
}
// #endregion vote-messages

export type Message =
  | MsgApp
  | MsgAppResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgSnapResp
  | MsgVote
  | MsgVoteResp
  | MsgTimeoutNow
  | MsgPolicy;
export type MessageType = Message['type'];
// #endregion messages
