/**
 * The seam an election plugs into. Phase 4's RaftNode replicates a log
 * under a leader named by configuration; phase 5 (`@distkv/election`)
 * decides who leads — Raft's own elections or the seed's Bully algorithm —
 * through the two types here and nothing else:
 *
 * - `RaftHandle`: what an election may see of a node (its term, vote,
 *   role, the last entry of its log) and the only ways it may change it
 *   (become follower, pre-candidate, candidate or leader; grant a vote;
 *   send an election message). Each method keeps Raft's invariants and
 *   asserts them: terms never go back, one vote per term, a vote is in the
 *   hard state persisted before the answer leaves.
 * - `ElectionPolicy`: the hooks the node calls — every tick, for every
 *   election message, whenever its role changes, when it hears its leader,
 *   when a voter answers it as leader.
 *
 * The election never holds the RaftNode itself (etcd keeps `raft` private
 * behind `RawNode` for the same reason): state belongs to its owner.
 * Pure like the node: no timers, no I/O, randomness injected.
 */
import type { LogIndex, MsgPolicy, MsgTimeoutNow, MsgVote, MsgVoteResp, NodeId, Role, Term } from './types.js';

/** The messages that belong to an election; RaftNode carries them and hands each to its policy. */
export type ElectionMessage = MsgVote | MsgVoteResp | MsgTimeoutNow | MsgPolicy;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An election message to send: `from` is this node; `term` defaults to the node's current term. */
export type OutgoingElectionMessage = DistributiveOmit<ElectionMessage, 'from' | 'term'>;

// #region follow-reason
/**
 * Why a node became a follower, or stopped campaigning:
 * - `higher-term`: a message of a later term arrived (`by` sent it);
 * - `check-quorum`: a leader that heard from no majority within an election timeout (thesis §6.2);
 * - `transfer`: the voter it handed leadership to campaigns (thesis §3.10);
 * - `election-lost`: a majority refused its (pre-)vote;
 * - `leader-of-term`: a (pre-)candidate heard from the leader of its term, or a policy announced one (Bully);
 * - `lacks-committed-entries`: a leader whose log lacks entries a follower committed (only without Raft's vote check);
 * - `removed`: a leader whose removal from the members has committed (membership, chapter 5);
 * - `election`: the election policy decided, without saying why.
 */
export type FollowReason =
  | 'higher-term'
  | 'check-quorum'
  | 'transfer'
  | 'election-lost'
  | 'leader-of-term'
  | 'lacks-committed-entries'
  | 'removed'
  | 'election';
// #endregion follow-reason

// #region raft-handle
/** What an election may read of a node, and the only ways it may change it. */
export interface RaftHandle {
  readonly id: NodeId;
  /** Every voting member in the configuration in force (it changes with membership: read it each time). A learner is not among them. */
  readonly voters: readonly NodeId[];
  /** Votes needed to win: a majority of the voters. */
  readonly quorum: number;
  /** The node's configured election timeout, in ticks (RaftConfig.electionTimeoutTicks). */
  readonly electionTimeoutTicks: number;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly role: Role;
  readonly leader: NodeId | null;
  /** Ticks this node has lived: the clock leases are measured on. */
  readonly ticks: number;
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  /** Leader only: how far `voter`'s log is known to match this one (undefined otherwise). */
  matchIndex(voter: NodeId): LogIndex | undefined;
  /** See RaftNode.lacksCommittedEntries: a policy without a log check (Bully) must not lead while true. */
  lacksCommittedEntries(): boolean;

  /**
   * Follow `leader` (or nobody) in `term`, which is never below the current
   * term. `reason` and `by` (who caused it) only reach the node's events
   * (Ready.events), for the operator's log; default `election`.
   */
  becomeFollower(term: Term, leader: NodeId | null, reason?: FollowReason, by?: NodeId): void;
  /** Thesis §9.6: ask whether a majority would vote, without changing the term. */
  becomePreCandidate(): void;
  /** §5.2: take the next term and vote for itself (persisted before any MsgVote leaves). */
  becomeCandidate(): void;
  /** §5.2: a candidate that won a majority of votes leads its term. */
  becomeLeader(): void;
  /** For a policy that decides without votes (Bully): take term `next` (default the next one) and lead it. */
  leadNewTerm(next?: Term): void;
  /** §5.2: vote for `candidate` in the current term (in Ready.hardState, persisted before the answer is sent). */
  grantVote(candidate: NodeId): void;
  /** Sends an election message, in the current term unless `term` says otherwise (a pre-vote asks about term + 1). */
  send(message: OutgoingElectionMessage, term?: Term): void;
  /** Leader: send `voter` the entries it lacks now, even an empty append (a transfer brings its target up to date). */
  sendAppend(voter: NodeId): void;
}
// #endregion raft-handle

// #region election-policy
/**
 * Who leads, decided by a plugged-in algorithm. The node owns terms, the
 * log and replication; the policy decides when this node campaigns, how
 * it votes, and when a leader must step down, through its `RaftHandle`.
 */
export interface ElectionPolicy {
  readonly name: string;
  /** Its rules hold while the members change (membership, chapter 5): a policy without it keeps the members it started with. */
  readonly supportsMembership?: boolean;
  /** Called once, when the node has been built as a follower. */
  start(): void;
  /** Every tick. As leader it runs before the heartbeat, and may step the node down (check-quorum). */
  tick(): void;
  /** An election message from a voter; terms have not been compared yet — that is the policy's call. */
  step(m: ElectionMessage): void;
  /** The node has just become follower, pre-candidate, candidate or leader (also at start). */
  roleChanged(): void;
  /** As follower: a message from the leader of its term arrived (MsgApp, MsgHeartbeat, MsgSnap). */
  leaderHeard(): void;
  /** As leader: a voter's answer (MsgAppResp, MsgHeartbeatResp, MsgSnapResp) has been handled. */
  voterAnswered(from: NodeId, type: 'MsgAppResp' | 'MsgHeartbeatResp' | 'MsgSnapResp'): void;
  /** As leader: the voter leadership is being handed to, or null. Proposals and reads wait while it is set. */
  transferee(): NodeId | null;
  /** Thesis §3.10: hand leadership to `voter` (a voter, not this node; the node checked). Optional. */
  transferLeadership?(voter: NodeId): void;
  /**
   * Lease reads (thesis §6.4.1), optional: the heartbeat round sent at
   * tick `sentTick` was answered by `from`.
   */
  heartbeatRoundAcked?(from: NodeId, sentTick: number): void;
  /** Lease reads: true while this leader may answer a read without a round of heartbeats. */
  leaseHolds?(): boolean;
}

/** Builds a node's policy around its handle; RaftConfig.election takes one per node. */
export type ElectionFactory = (node: RaftHandle) => ElectionPolicy;
// #endregion election-policy
