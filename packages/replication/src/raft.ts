/**
 * The Raft replication state machine, pure: no sockets, no timers, no disk.
 * Inputs are `step(message)`, `tick()` and `propose(payload)`; every effect
 * leaves as data in a `Ready`, which the driver carries out in the order
 * documented on `Ready` and then acknowledges with `advance()`.
 *
 * Roles and terms are complete (any message with a higher term makes a node
 * a follower; stale terms are refused). With a configured leader (phase 4)
 * nobody campaigns: the configured leader takes a fresh term each time it
 * starts. Who leads otherwise is not decided here: an `ElectionPolicy`
 * (phase 5, `@distkv/election`: Raft's elections or the Bully algorithm)
 * plugs in through the seam in `election-seam.ts`, a narrow `RaftHandle`
 * whose methods keep the invariants. Nothing outside this class assigns
 * its fields.
 *
 * ReadIndex (thesis §6.4) lives here, not in the election: it is a round
 * of the heartbeats this file already sends, answered by the followers
 * this file already tracks, and it works under a fixed leader too. Only
 * the lease that lets a leader skip that round is the election's, since
 * it rests on check-quorum's promise not to vote.
 */
import { assert } from '@distkv/core';
import type { RaftConfig, ResolvedConfig } from './config.js';
import { resolveConfig } from './config.js';
import type { ElectionMessage, ElectionPolicy, FollowReason, OutgoingElectionMessage, RaftHandle } from './election-seam.js';
import { replicationError } from './errors.js';
import {
  applyConfChange,
  type ConfChange,
  type ConfState,
  confChangeProblem,
  confState,
  decodeConfEntry,
  encodeConfEntry,
  isConfPayload,
  isMember,
} from './membership.js';
import { Progress, type ProgressState } from './progress.js';
import { RaftLog } from './raft-log.js';
import type { LogStorage } from './storage.js';
import type {
  Entry,
  HardState,
  LogIndex,
  Message,
  MsgApp,
  MsgAppResp,
  MsgHeartbeat,
  MsgHeartbeatResp,
  MsgSnap,
  MsgSnapResp,
  NodeId,
  Role,
  Snapshot,
  SnapshotMeta,
  Term,
} from './types.js';

/** A read that may now be served: once the application has applied `index`, local state is linearizable for it. */
export interface ReadState {
  readonly id: string;
  readonly index: LogIndex;
}

// #region ready
/**
 * Everything the state machine wants done, handed to the driver. Carry it
 * out in this order, then call `advance(ready)`:
 *
 * 0. SEND `earlyMessages` first: an elected leader's appends, which may
 *    leave before its own persist (empty with a fixed leader; chapter 5).
 * 1. PERSIST, then sync: `snapshot` (replaces the whole log), then
 *    `entries` (drop any stored entry at or after entries[0].index, then
 *    append), then `hardState`. Nothing below may happen before the sync
 *    returns: messages promise that these bytes are durable.
 * 2. SEND `messages` (any order; the network may lose or reorder them anyway).
 * 3. APPLY: if `snapshot` is set, restore the application from it; then
 *    apply `committedEntries` in order.
 * 4. ACKNOWLEDGE clients: `async` mode may acknowledge this leader's
 *    proposals up to `leaderDurableIndex` as soon as step 1 is done;
 *    `sync` mode acknowledges a proposal when it appears, with the same
 *    term, in `committedEntries` and has been applied.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  /**
   * An elected leader's MsgApps and heartbeats of its current term, once
   * its term and vote are durable: they may leave before step 1 (thesis
   * §10.2.1), so the followers' fsyncs run alongside the leader's own.
   * The leader still counts itself toward a majority only after its own
   * persist (advance). Always empty with a leader fixed by configuration,
   * whose term never changes: one that crashed before its fsync would come
   * back and write different entries at the same index and term.
   */
  readonly earlyMessages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  /** Leader only: after step 1, its own log is durable up to here (async acknowledgement point). */
  readonly leaderDurableIndex: LogIndex | undefined;
  /** Set when the role or the known leader changed. */
  readonly softState: SoftState | undefined;
  /**
   * 5. READ: reads confirmed since the last Ready (`readIndex`). Serve each
   * once `index` is applied. A read missing here when the node stops
   * leading (softState) never will be: fail it as retryable.
   */
  readonly readStates: readonly ReadState[];
  /** What happened since the last Ready, for the driver's log (see RaftEvent); nothing to carry out. */
  readonly events: readonly RaftEvent[];
}
// #endregion ready

// #region raft-events
/**
 * What the node did, reported in `Ready.events` so the driver can log it
 * (the node itself does no I/O). Each names the term, and where it matters
 * the index.
 */
export type RaftEvent =
  /** It campaigns: a pre-vote asks about `term` without taking it; an election takes it. */
  | { readonly type: 'campaign'; readonly term: Term; readonly preVote: boolean; readonly lastIndex: LogIndex }
  /** It leads `term`; its no-op of the term is at `index`. */
  | { readonly type: 'lead'; readonly term: Term; readonly index: LogIndex }
  /** It became a follower (from `previousRole` in `previousTerm`), and why. */
  | {
      readonly type: 'follow';
      readonly term: Term;
      readonly previousRole: Role;
      readonly previousTerm: Term;
      readonly reason: FollowReason;
      /** Who caused it, when one node did (the sender of the higher term, the leader heard). */
      readonly by: NodeId | null;
    }
  /** The leader it knows changed (null: none known), with its role now. */
  | { readonly type: 'leader'; readonly term: Term; readonly leader: NodeId | null; readonly role: Role }
  /** As leader: `to` needs compacted entries, so a transfer of the snapshot at `index` begins. */
  | {
      readonly type: 'snapshot-send';
      readonly term: Term;
      readonly to: NodeId;
      readonly index: LogIndex;
      readonly snapshotTerm: Term;
      readonly bytes: number;
      /** The entry the follower needed next. */
      readonly next: LogIndex;
    }
  /** A membership change was appended at `index` and is in force on this node from now (membership, chapter 5). */
  | {
      readonly type: 'conf';
      readonly term: Term;
      readonly index: LogIndex;
      readonly change: ConfChange;
      readonly conf: ConfState;
    }
  /** The change at `index` that removed this node has committed: it is no longer a member. */
  | { readonly type: 'removed'; readonly term: Term; readonly index: LogIndex };

/** Most events held for the next Ready; beyond it the oldest are dropped (a driver that never asks). */
export const RAFT_EVENTS_MAX = 1024;
// #endregion raft-events

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
}

export interface ProgressStatus {
  match: LogIndex;
  next: LogIndex;
  state: ProgressState;
  inflights: number;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: Term;
  leader: NodeId | null;
  commit: LogIndex;
  applied: LogIndex;
  firstIndex: LogIndex;
  lastIndex: LogIndex;
  /** Leader only: what it knows of each member (voters and learners), itself included. */
  progress: Map<NodeId, ProgressStatus> | undefined;
  /** The members in force (the latest configuration in the log) and the index of the entry that set it (0: the initial one). */
  conf: ConfState;
  confIndex: LogIndex;
  /** Messages dropped because no correct peer would send them (from itself, from a non-voter, a second leader of this term). */
  droppedMessages: number;
}

export interface Proposal {
  readonly index: LogIndex;
  readonly term: Term;
}

export class RaftNode {
  readonly id: NodeId;
  readonly config: ResolvedConfig;
  readonly log: RaftLog;
  #term: Term;
  #vote: NodeId | null;
  #role: Role = 'follower';
  #leader: NodeId | null = null;
  /** Leader only: what it knows of each voter's log, itself included. */
  #progress = new Map<NodeId, Progress>();
  /** Leader: ticks since the last heartbeat. */
  #heartbeatElapsedTicks = 0;
  /** Who leads when no leader is configured (phase 5); undefined under a fixed leader. */
  readonly #election: ElectionPolicy | undefined;
  /** Ticks this node has lived; the clock of heartbeat rounds (and of the election's leases). */
  #ticks = 0;
  /** Leader: heartbeat rounds are numbered; the tick each recent round left. */
  #roundSeq = 0;
  #roundSentTick = new Map<number, number>();
  /** Leader: reads waiting for its first entry of this term to commit (§6.4 step 1). */
  #readsAwaitingCommit: string[] = [];
  /** Leader: reads waiting for a heartbeat round to be answered by a majority, oldest first. */
  #readsPending: { id: string; index: LogIndex; seq: number; acks: Set<NodeId> }[] = [];
  #readStates: ReadState[] = [];
  #events: RaftEvent[] = [];
  #messages: Message[] = [];
  #uncommittedBytes = 0;
  /** Leader: index of the no-op its leadership began with; only later entries count in #uncommittedBytes. */
  #leadershipStartIndex = 0 as LogIndex;
  #prevHardState: HardState;
  #prevSoftState: SoftState;
  #readyOutstanding = false;
  /** Leader: proposals were appended, or the commit index moved, since the last ready(); #flushAppends tells the followers. */
  #appendsDue = false;
  #commitDue = false;
  /** The last committed entry handed to the driver to apply (by ready() or takeCommitted()). */
  #handedOut = 0 as LogIndex;
  /** The outstanding Ready installs a snapshot: nothing applies until it is done. */
  #outstandingSnapshot = false;
  /**
   * The highest commit index a follower reported beyond this node's log
   * while it led (0: none). Only a leader elected without Raft's
   * up-to-date check (Bully) can lack committed entries; see
   * `lacksCommittedEntries`.
   */
  #commitAheadIndex = 0 as LogIndex;
  /** Messages dropped because no correct peer sends them (see `#dropReason`). */
  #droppedMessages = 0;
  /** Leader: the voter it sent MsgTimeoutNow in this term (a transfer), so its step-down says `transfer`. */
  #timeoutNowSent: { to: NodeId; term: Term } | null = null;
  // #region conf-fields
  /** The members as of the snapshot the log starts after (or as configured). */
  #confBase: { index: LogIndex; conf: ConfState };
  /** Every configuration entry in the log after the snapshot, in order: the last one is in force (thesis §4.1). */
  #confLog: { index: LogIndex; term: Term; change: ConfChange; conf: ConfState }[] = [];
  /** The removal of this node has committed and been reported (Ready.events). */
  #removedReported = false;
  // #endregion conf-fields
  /** Follower: the snapshot being received, chunk by chunk. */
  #incoming: { meta: SnapshotMeta; totalBytes: number; chunks: Uint8Array[]; receivedBytes: number } | undefined;

  constructor(config: RaftConfig, storage: LogStorage) {
    this.config = resolveConfig(config);
    this.id = this.config.id;
    const hs = storage.initialState();
    this.log = new RaftLog(storage, hs.commit, this.config.applied);
    // A crash can keep a Ready's entries and lose its hard state (a torn
    // write), leaving entries of a term the node does not remember. The
    // current term is never below the last entry's (the simulator found
    // this: seed 3485 of a 20,000-seed run, a restarted leader reused its term).
    const lastTerm = this.log.lastTerm();
    this.#term = Math.max(hs.term, lastTerm) as Term;
    this.#vote = lastTerm > hs.term ? null : hs.vote;
    this.#prevHardState = hs;
    this.#prevSoftState = { role: 'follower', leader: null };
    const snap = storage.snapshot().meta;
    this.#confBase = {
      index: snap.index,
      conf: snap.conf ?? confState(this.config.voters, this.config.learners, [], this.config.addresses),
    };
    this.#scanConf(
      this.log.slice(
        (snap.index + 1) as LogIndex,
        (this.log.lastIndex() + 1) as LogIndex,
        Number.MAX_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER,
      ),
      false,
    );
    this.#election = config.election?.(this.#handle());
    if (this.config.readMode === 'lease' && this.#election?.leaseHolds === undefined) {
      throw replicationError('CONFIG_INVALID', 'readMode lease needs an election that keeps leases (Raft with check-quorum)');
    }
    this.#becomeFollower(this.#term, null);
    // #region fixed-leader
    // Phase 4: the configured leader starts a fresh term every time it
    // starts, as if it had won an election. Its first Ready persists the
    // new term before any message of that term is sent, so two incarnations
    // never share a term, and entries it lost in a crash (never sent, since
    // persist comes before send) cannot be confused with new ones.
    if (this.config.leader === this.id) this.#leadFixedTerm();
    // #endregion fixed-leader
    this.#election?.start();
  }

  get term(): Term {
    return this.#term;
  }

  get vote(): NodeId | null {
    return this.#vote;
  }

  get role(): Role {
    return this.#role;
  }

  get leader(): NodeId | null {
    return this.#leader;
  }

  /** The members in force: the latest configuration in this node's log, committed or not (thesis §4.1). */
  get conf(): ConfState {
    return this.#confLog[this.#confLog.length - 1]?.conf ?? this.#confBase.conf;
  }

  /** The members in force at `index` (at least the snapshot's): what a snapshot taken there must carry. */
  confAt(index: LogIndex): ConfState {
    let conf = this.#confBase.conf;
    for (const c of this.#confLog) {
      if (c.index > index) break;
      conf = c.conf;
    }
    return conf;
  }

  /** The election policy this node was built with (phase 5), for tools that drive it by hand; undefined under a fixed leader. */
  get election(): ElectionPolicy | undefined {
    return this.#election;
  }

  // ---- inputs ---------------------------------------------------------------

  /** One unit of logical time. The driver decides how long a tick is. */
  // #region tick
  tick(): void {
    this.#ticks++;
    if (this.#role === 'leader') this.#heartbeatElapsedTicks++;
    // The election's clock first: it may campaign, or step a leader down (check-quorum).
    this.#election?.tick();
    if (this.#role === 'leader' && this.#heartbeatElapsedTicks >= this.config.heartbeatIntervalTicks) {
      this.#heartbeatElapsedTicks = 0;
      this.#broadcastHeartbeat(true);
      this.#maybeAutoPromote();
    }
  }
  // #endregion tick

  /** Appends `payload` to the leader's log. Throws NOT_LEADER, PROPOSAL_TOO_LARGE or PROPOSALS_FULL (all definite). */
  propose(payload: Uint8Array): Proposal {
    this.#checkCanPropose();
    if (isConfPayload(payload)) {
      throw replicationError(
        'CONF_CHANGE_INVALID',
        'a payload starting with byte 0xC0 is a membership change: use proposeConfChange',
      );
    }
    return this.#appendProposal(payload);
  }

  #checkCanPropose(): void {
    if (this.#role !== 'leader') throw this.#notLeader();
    const transferee = this.#election?.transferee() ?? null;
    if (transferee !== null) {
      throw replicationError('NOT_LEADER', `node ${this.id} is handing leadership to ${transferee}`);
    }
  }

  #appendProposal(payload: Uint8Array): Proposal {
    const { entryBytesMax, uncommittedBytesMax } = this.config.limits;
    if (payload.byteLength > entryBytesMax) {
      throw replicationError(
        'PROPOSAL_TOO_LARGE',
        `payload of ${payload.byteLength} bytes exceeds limits.entryBytesMax = ${entryBytesMax}`,
      );
    }
    if (this.#uncommittedBytes + payload.byteLength > uncommittedBytesMax) {
      throw replicationError(
        'PROPOSALS_FULL',
        `${this.#uncommittedBytes} uncommitted bytes; limits.uncommittedBytesMax = ${uncommittedBytesMax}`,
      );
    }
    const entry: Entry = { term: this.#term, index: (this.log.lastIndex() + 1) as LogIndex, payload };
    this.log.append([entry]);
    this.#scanConf([entry]);
    this.#uncommittedBytes += payload.byteLength;
    // Sent at the next ready(), with every proposal made until then: one
    // MsgApp per follower per Ready, not one per proposal (issue 18).
    this.#appendsDue = true;
    return { index: entry.index, term: entry.term };
  }

  // #region step
  /** Handles one message from a peer. Messages from stale terms are refused. */
  step(m: Message): void {
    assert(m.to === this.id, `message for ${m.to} stepped into ${this.id}`);
    // What a peer sends is input, not code: a message no correct peer sends is dropped, never asserted on.
    // A member hears only members; a node that is not one (joining, or removed) hears whoever leads.
    const conf = this.conf;
    // One exception: the TimeoutNow of this term's leader, which hands over as its own removal commits.
    const handover = m.type === 'MsgTimeoutNow' && m.term === this.#term && m.from === this.#leader;
    // And a leader's appends, heartbeats and snapshots, whoever sends them: a member whose log ends in
    // a change that never committed (a deposed leader's removal of the node that leads now) must hear
    // the leader that cuts it, or it never would (the simulator's membership nemesis, seed 15). Only
    // an elected leader sends them, and the term checks below hold for them as for any other.
    const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
    if (m.from === this.id || (isMember(conf, this.id) && !isMember(conf, m.from) && !handover && !fromLeader)) {
      this.#droppedMessages++;
      return;
    }
    if (isElectionMessage(m)) {
      // The election compares terms itself (a pre-vote must not change them).
      if (this.#election === undefined)
        this.#droppedMessages++; // phase 4: nobody campaigns
      else this.#election.step(m);
      return;
    }
    if (m.term > this.#term) {
      this.#becomeFollower(m.term, fromLeader ? m.from : null, 'higher-term', m.from);
    } else if (m.term < this.#term) {
      // A stale leader learns the current term from the reply and steps down.
      if (fromLeader) {
        this.#send({
          type: 'MsgAppResp',
          to: m.from,
          reject: true,
          index: 0 as LogIndex,
          hintIndex: 0 as LogIndex,
          hintTerm: 0 as Term,
        });
      }
      return;
    }
    switch (this.#role) {
      case 'leader':
        this.#stepLeader(m);
        break;
      case 'pre-candidate':
      case 'candidate':
        // A leader exists for this term: stop campaigning.
        if (fromLeader) {
          this.#becomeFollower(m.term, m.from, 'leader-of-term', m.from);
          this.#stepFollower(m);
        }
        break;
      case 'follower':
        this.#stepFollower(m);
        break;
    }
    this.#checkRemoved();
  }
  // #endregion step

  // ---- outputs ---------------------------------------------------------------

  hasReady(): boolean {
    if (this.#readyOutstanding) return false;
    return (
      this.#appendsDue ||
      this.#commitDue ||
      this.#messages.length > 0 ||
      this.log.unstableEntries.length > 0 ||
      this.log.unstableSnapshot !== undefined ||
      !sameHardState(this.#hardState(), this.#prevHardState) ||
      !sameSoftState(this.#softState(), this.#prevSoftState) ||
      this.log.committed > this.log.applied ||
      this.#readStates.length > 0
    );
  }

  ready(): Ready {
    assert(!this.#readyOutstanding, 'advance() the previous Ready before asking for another');
    if (this.#appendsDue || this.#commitDue) this.#flushAppends();
    const committedEntries = this.log.nextCommitted(this.config.limits.appendBytesMax);
    const handedOut = committedEntries[committedEntries.length - 1];
    if (handedOut !== undefined) this.#handedOut = handedOut.index;
    const hs = this.#hardState();
    const { early, late } = this.#splitEarly(hs);
    const ss = this.#softState();
    const entries = [...this.log.unstableEntries];
    const last = entries[entries.length - 1];
    const rd: Ready = {
      hardState: sameHardState(hs, this.#prevHardState) ? undefined : hs,
      snapshot: this.log.unstableSnapshot,
      entries,
      messages: late,
      earlyMessages: early,
      committedEntries,
      leaderDurableIndex: this.#role === 'leader' && last !== undefined ? last.index : undefined,
      softState: sameSoftState(ss, this.#prevSoftState) ? undefined : ss,
      readStates: this.#readStates,
      events: this.#events,
    };
    if (ss.leader !== this.#prevSoftState.leader) {
      this.#events.push({ type: 'leader', term: this.#term, leader: ss.leader, role: ss.role });
    }
    this.#messages = [];
    this.#readStates = [];
    this.#events = [];
    this.#prevHardState = hs;
    this.#prevSoftState = ss;
    this.#readyOutstanding = true;
    this.#outstandingSnapshot = rd.snapshot !== undefined;
    return rd;
  }

  // #region split-early
  /** Which of this Ready's messages may leave before its persist: see Ready.earlyMessages. */
  #splitEarly(hs: HardState): { early: Message[]; late: Message[] } {
    const termDurable = hs.term === this.#prevHardState.term && hs.vote === this.#prevHardState.vote;
    const elected = this.#election !== undefined || this.config.unsafe.earlySendWithFixedLeader;
    if (!elected || this.#role !== 'leader' || !termDurable) return { early: [], late: this.#messages };
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of this.#messages) {
      if ((m.type === 'MsgApp' || m.type === 'MsgHeartbeat') && m.term === this.#term) early.push(m);
      else late.push(m);
    }
    return { early, late };
  }
  // #endregion split-early

  // #region take-committed
  /**
   * Leader: entries committed since the outstanding Ready was taken (while
   * the driver persists it), to apply now rather than after that persist
   * and the next Ready: a client's reply then waits for the round trip
   * that commits its write, not also for the leader's next fsync. Committed
   * means durable on a majority, so applying in memory needs nothing more
   * (the pump already applies a Ready's committed entries before its own
   * persist). They count as applied at once. Never while a snapshot is
   * being installed, since entries apply only on top of it.
   */
  takeCommitted(): Entry[] {
    if (this.#role !== 'leader' || this.#outstandingSnapshot || this.log.unstableSnapshot !== undefined) return [];
    const from = (Math.max(this.log.applied, this.#handedOut) + 1) as LogIndex;
    if (from > this.log.committed) return [];
    const { appendBytesMax } = this.config.limits;
    const entries = this.log.slice(from, (this.log.committed + 1) as LogIndex, Number.MAX_SAFE_INTEGER, appendBytesMax);
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      this.#handedOut = last.index;
      this.log.appliedTo(last.index);
    }
    return entries;
  }
  // #endregion take-committed

  /** The driver has carried out `rd` (persisted, sent, applied). */
  advance(rd: Ready): void {
    assert(this.#readyOutstanding, 'advance() without an outstanding Ready');
    this.#readyOutstanding = false;
    if (rd.snapshot !== undefined) {
      this.log.stableSnapTo(rd.snapshot.meta.index);
      this.log.appliedTo(rd.snapshot.meta.index);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      this.log.stableTo(last.index, last.term);
      // The leader counts itself toward a majority only once its own copy is durable.
      const self = this.#progress.get(this.id);
      if (
        this.#role === 'leader' &&
        self !== undefined &&
        last.term === this.#term &&
        this.log.matchTerm(last.index, last.term)
      ) {
        if (self.maybeUpdate(last.index) && this.#maybeCommit()) this.#commitDue = true;
      }
    }
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied !== undefined) this.log.appliedTo(applied.index);
    this.#checkRemoved();
  }

  status(): Status {
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (this.#role === 'leader') {
      progress = new Map();
      for (const [id, pr] of this.#progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, inflights: pr.inflights.length });
      }
    }
    return {
      id: this.id,
      role: this.#role,
      term: this.#term,
      leader: this.#leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      progress,
      conf: this.conf,
      confIndex: this.#confLog[this.#confLog.length - 1]?.index ?? this.#confBase.index,
      droppedMessages: this.#droppedMessages,
    };
  }

  // ---- roles -------------------------------------------------------------------

  #becomeFollower(t: Term, leader: NodeId | null, reason: FollowReason = 'election', by: NodeId | null = null): void {
    assert(t >= this.#term, 'terms never go back');
    // #region transfer-reason
    // A leader that sent TimeoutNow in its term is deposed by its target's campaign for the next term,
    // whichever message of that term arrives first: the target's vote request, its first append as
    // leader (the request lost), or a follower's answer. Any of them says `transfer`, by the target.
    const sent = this.#timeoutNowSent;
    if (
      reason === 'higher-term' &&
      this.#role === 'leader' &&
      sent !== null &&
      sent.term === this.#term &&
      t === this.#term + 1
    ) {
      reason = 'transfer';
      by = sent.to;
    }
    // #endregion transfer-reason
    if (t > this.#term || this.#role !== 'follower') {
      this.#event({ type: 'follow', term: t, previousRole: this.#role, previousTerm: this.#term, reason, by });
    }
    if (t > this.#term) {
      this.#term = t;
      this.#vote = null;
    }
    this.#resetRoleState();
    this.#role = 'follower';
    this.#leader = leader;
    this.#election?.roleChanged();
  }

  #event(e: RaftEvent): void {
    if (this.#events.length >= RAFT_EVENTS_MAX) this.#events.shift();
    this.#events.push(e);
  }

  #resetRoleState(): void {
    this.#timeoutNowSent = null;
    this.#progress = new Map();
    this.#uncommittedBytes = 0;
    this.#heartbeatElapsedTicks = 0;
    this.#roundSentTick.clear();
    this.#readsAwaitingCommit = [];
    this.#readsPending = [];
  }

  #quorum(): number {
    return Math.floor(this.conf.voters.length / 2) + 1;
  }

  #isVoter(id: NodeId): boolean {
    return this.conf.voters.includes(id);
  }

  #notLeader(): Error {
    return replicationError('NOT_LEADER', `node ${this.id} is a ${this.#role}; the leader is ${this.#leader ?? 'unknown'}`);
  }

  // #region handle
  /**
   * The election's view of this node (see election-seam.ts). Every change
   * goes through a method here, which checks the rule it keeps.
   */
  #handle(): RaftHandle {
    const node = this;
    return {
      id: this.id,
      get voters() {
        return node.conf.voters;
      },
      get quorum() {
        return node.#quorum();
      },
      electionTimeoutTicks: this.config.electionTimeoutTicks,
      get term() {
        return node.#term;
      },
      get vote() {
        return node.#vote;
      },
      get role() {
        return node.#role;
      },
      get leader() {
        return node.#leader;
      },
      get ticks() {
        return node.#ticks;
      },
      get lastIndex() {
        return node.log.lastIndex();
      },
      get lastTerm() {
        return node.log.lastTerm();
      },
      matchIndex: (voter) => (this.#role === 'leader' ? this.#progress.get(voter)?.match : undefined),
      lacksCommittedEntries: () => this.lacksCommittedEntries(),
      becomeFollower: (t, leader, reason, by) => this.#becomeFollower(t, leader, reason, by ?? null),
      becomePreCandidate: () => {
        assert(this.#role !== 'leader', 'a leader does not campaign');
        this.#event({ type: 'campaign', term: (this.#term + 1) as Term, preVote: true, lastIndex: this.log.lastIndex() });
        this.#resetRoleState();
        this.#role = 'pre-candidate';
        this.#leader = null;
        this.#election?.roleChanged();
      },
      becomeCandidate: () => {
        assert(this.#role !== 'leader', 'a leader does not campaign');
        this.#resetRoleState();
        this.#term = (this.#term + 1) as Term;
        this.#event({ type: 'campaign', term: this.#term, preVote: false, lastIndex: this.log.lastIndex() });
        this.#vote = this.id; // persisted (Ready.hardState) before the MsgVotes leave
        this.#role = 'candidate';
        this.#leader = null;
        this.#election?.roleChanged();
      },
      becomeLeader: () => {
        assert(this.#role === 'candidate', 'only a candidate wins an election');
        assert(this.#vote === this.id, 'a candidate voted for itself');
        this.#becomeLeader();
      },
      leadNewTerm: (next = (this.#term + 1) as Term) => {
        assert(this.#role !== 'leader', 'already leading');
        assert(next > this.#term, 'a new term is above the current one');
        this.#term = next;
        this.#vote = this.id;
        this.#becomeLeader();
      },
      grantVote: (candidate) => {
        assert(this.#vote === null || this.#vote === candidate, 'one vote per term');
        assert(
          candidate !== this.id && (isMember(this.conf, candidate) || !isMember(this.conf, this.id)),
          'a vote goes to another member',
        );
        this.#vote = candidate; // in Ready.hardState, persisted before the answer is sent
      },
      send: (m, t = this.#term) => this.#sendElection(m, t),
      sendAppend: (voter) => {
        assert(this.#role === 'leader', 'only a leader appends');
        this.#sendAppend(voter, true);
      },
    };
  }
  // #endregion handle

  #sendElection(m: OutgoingElectionMessage, t: Term): void {
    // A member talks to members; a node that is not one (joining, removed) answers whoever asked it.
    assert(
      m.to !== this.id && (isMember(this.conf, m.to) || !isMember(this.conf, this.id)),
      'election messages go to other members',
    );
    assert(t >= this.#term, 'an election message is never in a past term (a pre-vote asks about a later one)');
    this.#messages.push({ ...m, from: this.id, term: t } as Message);
    if (m.type === 'MsgTimeoutNow' && this.#role === 'leader') this.#timeoutNowSent = { to: m.to, term: this.#term };
  }

  // #region lacks-committed
  /**
   * True while a follower has reported a commit index beyond this node's
   * log (as leader) and this node has not yet committed that far: its log
   * lacks committed entries, so it must not lead. An election policy without
   * a log check (Bully) consults this before claiming leadership.
   */
  lacksCommittedEntries(): boolean {
    if (this.#commitAheadIndex === 0) return false;
    if (this.log.committed >= this.#commitAheadIndex) this.#commitAheadIndex = 0 as LogIndex;
    return this.#commitAheadIndex !== 0;
  }
  // #endregion lacks-committed

  // #region propose-conf-change
  /**
   * Proposes one membership change (single-server changes, thesis §4.2).
   * It takes effect on each node when appended, so one at a time: a second
   * change waits until the first commits. And not before this leader has
   * committed an entry of its own term, its no-op: Ongaro's 2015 fix to
   * single-server changes, without which a leader elected under an old
   * configuration can propose a change that a leader of the previous term,
   * elected by a disjoint majority, overwrites (see membership_2015.txt).
   * Throws NOT_LEADER, CONF_CHANGE_PENDING, CONF_CHANGE_INVALID or
   * LEARNER_NOT_CAUGHT_UP (all definite).
   */
  proposeConfChange(change: ConfChange): Proposal {
    this.checkConfChange(change);
    let payload: Uint8Array;
    try {
      payload = encodeConfEntry({ change, conf: applyConfChange(this.conf, change) });
    } catch (err) {
      throw replicationError('CONF_CHANGE_INVALID', `node id ${JSON.stringify(change.node)}: ${(err as Error).message}`);
    }
    return this.#appendProposal(payload);
  }

  /** Throws what proposeConfChange would refuse `change` with now; proposes nothing. */
  checkConfChange(change: ConfChange): void {
    this.#checkCanPropose();
    if (this.#election?.supportsMembership !== true) {
      throw replicationError(
        'CONF_CHANGE_INVALID',
        "membership changes need Raft's elections (chapter 5): a fixed leader and Bully keep the members they start with",
      );
    }
    const pending = this.#confLog[this.#confLog.length - 1];
    if (pending !== undefined && pending.index > this.log.committed) {
      throw replicationError('CONF_CHANGE_PENDING', `the membership change at index ${pending.index} has not committed yet`);
    }
    if (this.log.term(this.log.committed) !== this.#term && !this.config.unsafe.confChangeBeforeTermCommit) {
      throw replicationError('CONF_CHANGE_PENDING', `leader ${this.id} has not yet committed an entry of its term ${this.#term}`);
    }
    const problem = confChangeProblem(this.conf, change, this.config.limits.votersMax);
    if (problem !== undefined) throw replicationError('CONF_CHANGE_INVALID', problem);
    if (change.type === 'promote') {
      const lag = this.log.lastIndex() - (this.#progress.get(change.node)?.match ?? 0);
      const max = this.config.limits.learnerCatchUpEntriesMax;
      if (lag > max) {
        throw replicationError(
          'LEARNER_NOT_CAUGHT_UP',
          `learner ${change.node} is ${lag} entries behind; limits.learnerCatchUpEntriesMax = ${max}`,
        );
      }
    }
  }
  // #endregion propose-conf-change

  // #region auto-promote
  /** Leader, at each heartbeat: a learner that joined (autoPromote) becomes a voter once it is caught up. */
  #maybeAutoPromote(): void {
    for (const node of this.conf.autoPromote) {
      const pr = this.#progress.get(node);
      if (pr === undefined || pr.match === 0) continue;
      if (this.log.lastIndex() - pr.match > this.config.limits.learnerCatchUpEntriesMax) continue;
      try {
        this.proposeConfChange({ type: 'promote', node });
      } catch {
        // Not now (a change pending, the term's first entry not committed, proposals full): the next heartbeat tries again.
      }
      return;
    }
  }
  // #endregion auto-promote

  // #region scan-conf
  /**
   * Notes the configuration entries among `entries`, just appended: each is
   * in force from now (thesis §4.1), committed or not. Entries at or before
   * the last one noted are already known (log matching: the same index and
   * term hold the same entry).
   */
  #scanConf(entries: readonly Entry[], report = true): void {
    // Changes the log compacted away fold into the base, so the list stays as short as the log.
    const snapshotIndex = this.log.snapshot().meta.index;
    while (this.#confLog.length > 0 && (this.#confLog[0]?.index ?? 0) <= snapshotIndex) {
      const c = this.#confLog.shift() as { index: LogIndex; conf: ConfState };
      this.#confBase = { index: c.index, conf: c.conf };
    }
    let known = this.#confLog[this.#confLog.length - 1]?.index ?? this.#confBase.index;
    for (const e of entries) {
      if (e.index <= known || !isConfPayload(e.payload)) continue;
      known = e.index;
      const decoded = decodeConfEntry(e.payload);
      if (decoded === undefined) continue; // not a change this version knows: a no-op on every node alike
      // The configuration the entry states, which a member could also compute (and a joining node cannot).
      const { change, conf } = decoded;
      this.#confLog.push({ index: e.index, term: e.term, change, conf });
      if (report) this.#event({ type: 'conf', term: this.#term, index: e.index, change, conf });
    }
    // A member just added is sent from the entry that added it (it probes back from there).
    if (this.#role === 'leader') this.#trackMembers(known);
  }

  /** A follower's log was cut back (a conflicting leader's entries replaced the tail): the configurations cut with it are gone. */
  #dropTruncatedConf(): void {
    for (;;) {
      const last = this.#confLog[this.#confLog.length - 1];
      // Committed entries are never cut (and may be compacted away, so their term is no longer known).
      if (last === undefined || last.index <= this.log.committed || this.log.term(last.index) === last.term) return;
      this.#confLog.pop();
    }
  }

  /** Leader: progress for every member (a new one probes from `next`), and none for a node that left. */
  #trackMembers(next = (this.log.lastIndex() + 1) as LogIndex): void {
    const conf = this.conf;
    for (const id of [...conf.voters, ...conf.learners]) {
      if (!this.#progress.has(id))
        this.#progress.set(id, new Progress(0 as LogIndex, next, this.config.limits.inflightAppendsMax));
    }
    for (const id of [...this.#progress.keys()]) if (id !== this.id && !isMember(conf, id)) this.#progress.delete(id);
  }

  /**
   * Once the change that removed this node commits: a leader steps down
   * (thesis §4.2.2: until then it replicates, without counting itself), and
   * every removed node reports it once.
   */
  #checkRemoved(): void {
    if (this.#removedReported || isMember(this.conf, this.id)) return;
    const removal = this.#confLog[this.#confLog.length - 1];
    // Only the entry that removes this node: a node still catching up as it joins reads earlier changes too.
    if (removal === undefined || removal.change.type !== 'remove' || removal.change.node !== this.id) return;
    if (removal.index > this.log.committed) return;
    this.#removedReported = true;
    this.#event({ type: 'removed', term: this.#term, index: removal.index });
    if (this.#role !== 'leader') return;
    // Hand over at once (thesis §3.10) to the voter whose log is longest,
    // rather than leave the others to wait out an election timeout (and
    // their check-quorum lease): a TimeoutNow campaign is voted for anyway.
    let successor: NodeId | undefined;
    let best = -1;
    for (const v of this.conf.voters) {
      const match = this.#progress.get(v)?.match ?? 0;
      if (match > best) {
        best = match;
        successor = v;
      }
    }
    if (successor !== undefined && best === this.log.lastIndex())
      this.#sendElection({ type: 'MsgTimeoutNow', to: successor }, this.#term);
    this.#becomeFollower(this.#term, null, 'removed');
  }
  // #endregion scan-conf

  // #region transfer
  /**
   * Thesis §3.10: hand leadership to `to`, if the election supports it
   * (`@distkv/election`'s Raft does; a fixed leader and Bully do not).
   * Throws NOT_LEADER or TRANSFER_TARGET_INVALID.
   */
  transferLeadership(to: NodeId): void {
    if (this.#role !== 'leader') throw this.#notLeader();
    const election = this.#election;
    if (to === this.id || !this.#isVoter(to) || election?.transferLeadership === undefined) {
      throw replicationError('TRANSFER_TARGET_INVALID', `cannot transfer leadership from ${this.id} to ${to}`);
    }
    election.transferLeadership(to);
  }
  // #endregion transfer

  // #region read-index
  /**
   * Thesis §6.4, ReadIndex: a linearizable read without writing to the log.
   * The leader (1) waits until an entry of its own term has committed, so
   * its commit index is at least every acknowledged write; (2) records that
   * commit index; (3) confirms it is still leader with a heartbeat round a
   * majority answers; then it reports `{ id, index }` in `Ready.readStates`
   * and the driver serves the read once it has applied `index`. With
   * `readMode: 'lease'` step 3 is skipped while the election's lease holds;
   * with `'stale'` any node answers with what it has applied. Throws
   * NOT_LEADER or READS_FULL (both definite).
   */
  readIndex(id: string): void {
    if (this.config.readMode === 'stale') {
      this.#readStates.push({ id, index: this.log.applied });
      return;
    }
    if (this.#role !== 'leader' || (this.#election?.transferee() ?? null) !== null) throw this.#notLeader();
    if (this.#readsAwaitingCommit.length + this.#readsPending.length >= this.config.limits.readsPendingMax) {
      throw replicationError('READS_FULL', `${this.config.limits.readsPendingMax} reads already wait for confirmation`);
    }
    if (this.log.term(this.log.committed) !== this.#term) {
      this.#readsAwaitingCommit.push(id);
      return;
    }
    this.#confirmReads([id]);
  }

  #confirmReads(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const index = this.log.committed;
    if (this.#quorum() === 1 && this.#isVoter(this.id)) {
      for (const id of ids) this.#readStates.push({ id, index });
      return;
    }
    if (this.config.readMode === 'lease' && this.#election?.leaseHolds?.() === true) {
      for (const id of ids) this.#readStates.push({ id, index });
      return;
    }
    const seq = this.#roundSeq + 1;
    const acks = new Set<NodeId>(this.#isVoter(this.id) ? [this.id] : []);
    for (const id of ids) this.#readsPending.push({ id, index, seq, acks: new Set(acks) });
    this.#broadcastHeartbeat(false);
  }

  #handleRoundAck(from: NodeId, seq: number): void {
    if (!this.#isVoter(from)) return; // a learner's answer confirms nothing
    const sentTick = this.#roundSentTick.get(seq);
    if (sentTick !== undefined) this.#election?.heartbeatRoundAcked?.(from, sentTick);
    // An answer to round `seq` vouches for every read registered before that round left.
    for (const r of this.#readsPending) if (r.seq <= seq) r.acks.add(from);
    let released = 0;
    while (released < this.#readsPending.length && (this.#readsPending[released]?.acks.size ?? 0) >= this.#quorum()) {
      const r = this.#readsPending[released] as { id: string; index: LogIndex };
      this.#readStates.push({ id: r.id, index: r.index });
      released++;
    }
    if (released > 0) this.#readsPending = this.#readsPending.slice(released);
  }
  // #endregion read-index

  /** Phase 4's stand-in for winning an election: take the next term and lead it. */
  #leadFixedTerm(): void {
    assert(this.config.leader === this.id, 'only the configured leader leads in phase 4');
    this.#term = (this.#term + 1) as Term;
    this.#vote = this.id;
    this.#becomeLeader();
  }

  // #region become-leader
  #becomeLeader(): void {
    assert(this.#role !== 'leader', 'already leading');
    this.#resetRoleState();
    this.#role = 'leader';
    this.#leader = this.id;
    this.#election?.roleChanged();
    this.#incoming = undefined;
    const last = this.log.lastIndex();
    const stableLast = (this.log.unstableOffset - 1) as LogIndex;
    this.#progress = new Map();
    this.#trackMembers(); // every member, in the configuration's order
    const self = new Progress(0 as LogIndex, (last + 1) as LogIndex, this.config.limits.inflightAppendsMax);
    self.match = Math.min(stableLast, last) as LogIndex;
    self.becomeReplicate();
    this.#progress.set(this.id, self);
    // An entry of the new term: once it commits, so does everything before
    // it (§5.4.2), including entries of earlier terms that only a count of
    // replicas would never make safe to commit.
    this.log.append([{ term: this.#term, index: (last + 1) as LogIndex, payload: new Uint8Array(0) }]);
    this.#event({ type: 'lead', term: this.#term, index: (last + 1) as LogIndex });
    this.#leadershipStartIndex = (last + 1) as LogIndex;
    this.#uncommittedBytes = 0;
    this.#broadcastAppend();
  }
  // #endregion become-leader

  // ---- leader --------------------------------------------------------------------

  #stepLeader(m: Message): void {
    const pr = this.#progress.get(m.from);
    if (pr === undefined) return; // not a member
    switch (m.type) {
      case 'MsgAppResp':
        this.#handleAppendResponse(m, pr);
        break;
      case 'MsgHeartbeatResp':
        this.#heartbeatResponse(m);
        pr.probeSent = false;
        if (pr.state === 'replicate' && pr.inflights.length >= pr.inflightAppendsMax) pr.inflights = pr.inflights.slice(1);
        if (pr.match < this.log.lastIndex()) this.#sendAppend(m.from, true);
        break;
      case 'MsgSnapResp':
        this.#handleSnapshotResponse(m, pr);
        break;
      default:
        // Another leader in this term (MsgApp, MsgHeartbeat, MsgSnap): impossible with Raft's votes
        // or Bully's striped terms, so the simulator's safety check reports it; here it is dropped.
        this.#droppedMessages++;
        return;
    }
    // Check-quorum counts the voters that answered (a learner's answer is not a vote of confidence); a transfer waits for its target to catch up.
    if (this.#role === 'leader' && this.#isVoter(m.from)) this.#election?.voterAnswered(m.from, m.type);
  }

  // #region append-response
  #handleAppendResponse(m: MsgAppResp, pr: Progress): void {
    if (this.#lacksWhatFollowerCommitted(m)) return; // it stepped down (only without an up-to-date check: chapter 5)
    if (m.reject) {
      // Fast backtracking: skip every entry of a term the follower cannot match.
      let hint = m.hintIndex;
      if (m.hintTerm > 0) hint = this.log.findConflictByTerm(m.hintIndex, m.hintTerm);
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.#sendAppend(m.from, false);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    const updated = pr.maybeUpdate(m.index);
    if (pr.state === 'snapshot') {
      const pending = pr.pendingSnapshot;
      if (pending !== undefined && m.index >= pending.snapshot.meta.index) {
        // The follower holds the snapshot. If the leader compacted again
        // meanwhile, probing finds out and starts the newer snapshot.
        pr.becomeProbe();
        if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
      } else if (!updated) {
        return;
      }
    } else if (pr.state === 'probe') {
      if (!updated && pr.match !== m.index) return; // a stale acknowledgement
      pr.becomeReplicate();
    } else {
      if (!updated) return;
      pr.freeInflightsUpTo(m.index);
    }
    if (this.#maybeCommit()) {
      this.#commitDue = true; // told to every follower at the next ready()
    } else if (wasPaused || pr.state === 'probe') {
      // It was waiting on this answer: tell it at least the commit index, which it may have missed.
      this.#sendAppend(m.from, wasPaused);
    }
    // Fill the window: at most inflightAppendsMax iterations, since each send takes a slot.
    while (pr.state === 'replicate' && this.#sendAppend(m.from, false)) {}
  }
  // #endregion append-response

  // #region lacks-what-follower-committed
  /** True, having stepped down, when the answer shows that a follower committed entries this leader lacks. */
  #lacksWhatFollowerCommitted(m: MsgAppResp): boolean {
    let aheadIndex: LogIndex;
    if (!m.reject && m.index > this.log.lastIndex()) {
      // The follower answered an append below its commit index with that
      // index (as etcd's raft does), and it is beyond this leader's log: the
      // follower committed entries this leader never had. Raft's up-to-date
      // check makes that impossible; a Bully leader can get here. Its match
      // must never pass its own log (the next append would have no prevTerm).
      aheadIndex = m.index;
    } else if (m.reject && m.hintIndex > m.index) {
      // The follower committed other entries than this leader's up to
      // hintIndex (see #appendBelowCommit).
      aheadIndex = m.hintIndex;
    } else {
      return false;
    }
    // It cannot lead correctly: it steps down and reports it (`lacksCommittedEntries`)
    // until a leader brings its commit index there, replacing its conflicting entries.
    if (aheadIndex > this.#commitAheadIndex) this.#commitAheadIndex = aheadIndex;
    this.#becomeFollower(this.#term, null, 'lacks-committed-entries', m.from);
    return true;
  }
  // #endregion lacks-what-follower-committed

  #heartbeatResponse(m: MsgHeartbeatResp): void {
    if (m.seq !== undefined && m.seq > 0) this.#handleRoundAck(m.from, m.seq);
  }

  #handleSnapshotResponse(m: MsgSnapResp, pr: Progress): void {
    const pending = pr.pendingSnapshot;
    if (pr.state !== 'snapshot' || pending === undefined) return;
    if (pending.snapshot.meta.index !== m.meta.index || pending.snapshot.meta.term !== m.meta.term) return;
    pending.chunksUnanswered = 0;
    if (m.reject) {
      // The follower refused it (too large for its limits): fall back to probing and try again later.
      pr.becomeProbe();
      return;
    }
    // Stop-and-wait: the next chunk leaves when the previous one is acknowledged.
    // Duplicated or stale acknowledgements do not move it, so they send nothing.
    if (m.offset <= pending.ackedOffset) return;
    pending.ackedOffset = m.offset;
    if (m.offset < pending.snapshot.data.byteLength) this.#sendSnapshotChunk(m.from, pr);
  }

  // #region commit
  /**
   * The commit index moves to the highest index a majority holds durably —
   * but only if that entry is of the current term (§5.4.2, Figure 8): an
   * entry of an earlier term held by a majority can still be overwritten
   * by a leader that never had it. Entries before it commit with it.
   */
  #maybeCommit(): boolean {
    const matches = this.conf.voters.map((v) => this.#progress.get(v)?.match ?? (0 as LogIndex)).sort((a, b) => b - a);
    const quorumMatch = matches[Math.floor(matches.length / 2)] as LogIndex;
    if (quorumMatch <= this.log.committed) return false;
    if (this.log.term(quorumMatch) !== this.#term && !this.config.unsafe.commitPreviousTermEntries) return false;
    const before = this.log.committed;
    this.log.commitTo(quorumMatch);
    for (const e of this.log.slice(
      (before + 1) as LogIndex,
      (quorumMatch + 1) as LogIndex,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    )) {
      if (e.index > this.#leadershipStartIndex) this.#uncommittedBytes -= e.payload.byteLength;
    }
    assert(this.#uncommittedBytes >= 0, 'uncommitted bytes never go negative');
    if (this.#readsAwaitingCommit.length > 0 && this.log.term(this.log.committed) === this.#term) {
      const ids = this.#readsAwaitingCommit;
      this.#readsAwaitingCommit = [];
      this.#confirmReads(ids);
    }
    return true;
  }
  // #endregion commit

  // #region flush-appends
  /**
   * At each ready(), the leader sends what proposals and commits since the
   * last one left due, together: to each follower what it was not sent
   * already (by an answer meanwhile), filling its window of
   * inflightAppendsMax messages, and when there is nothing new but the
   * commit index moved past what it was told, one empty MsgApp that
   * carries it. So a batch of
   * proposals costs one MsgApp per follower, and the commit notice rides on
   * the next entries instead of a message of its own.
   */
  #flushAppends(): void {
    const commitDue = this.#commitDue;
    this.#appendsDue = false;
    this.#commitDue = false;
    if (this.#role !== 'leader') return;
    for (const [id, pr] of this.#progress) {
      if (id === this.id) continue;
      let sent = 0;
      while (sent < this.config.limits.inflightAppendsMax && this.#sendAppend(id, false)) sent++;
      if (sent === 0 && commitDue && pr.commitSent < this.log.committed) this.#sendAppend(id, true);
    }
  }
  // #endregion flush-appends

  #broadcastAppend(): void {
    for (const id of this.#progress.keys()) if (id !== this.id) this.#sendAppend(id, true);
  }

  /**
   * `onTimer`: the heartbeat interval elapsed. Only then are stalled
   * snapshot transfers retried: a ReadIndex round leaves per read batch, and
   * retrying on each one restarted a transfer faster than a chunk's round
   * trip (issue 17: the follower never finished while the leader sent a
   * chunk per read batch).
   */
  #broadcastHeartbeat(onTimer: boolean): void {
    // Rounds are numbered only when someone counts the answers: pending reads, or a lease.
    let seq = 0;
    if (this.#readsPending.length > 0 || this.config.readMode === 'lease') {
      seq = ++this.#roundSeq;
      this.#roundSentTick.set(seq, this.#ticks);
      // Bounded: rounds older than an election timeout can no longer extend a lease.
      for (const [s, at] of this.#roundSentTick) {
        if (this.#ticks - at < this.config.electionTimeoutTicks) break;
        this.#roundSentTick.delete(s);
      }
    }
    for (const [id, pr] of this.#progress) {
      if (id === this.id) continue;
      // A probe waits at most one heartbeat interval for its answer.
      pr.probeSent = false;
      const commit = Math.min(pr.match, this.log.committed) as LogIndex;
      this.#send(seq > 0 ? { type: 'MsgHeartbeat', to: id, commit, seq } : { type: 'MsgHeartbeat', to: id, commit });
      if (onTimer && pr.state === 'snapshot') this.#retrySnapshot(id, pr);
    }
  }

  // #region send-append
  /** Sends the follower what it lacks, within the flow-control limits. Returns whether a message left. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.#progress.get(to);
    assert(pr !== undefined, `no progress for ${to}`);
    if (pr.isPaused()) return false;
    const prevIndex = (pr.next - 1) as LogIndex;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) {
      // What the follower needs next was compacted away: send a snapshot
      // instead — the one still being installed, if any (it covers only
      // committed entries, so it may leave before it is durable here).
      const snapshot = this.log.snapshot();
      assert(snapshot.meta.index >= prevIndex, 'a compacted entry is covered by the snapshot');
      this.#event({
        type: 'snapshot-send',
        term: this.#term,
        to,
        index: snapshot.meta.index,
        snapshotTerm: snapshot.meta.term,
        bytes: snapshot.data.byteLength,
        next: pr.next,
      });
      pr.becomeSnapshot(snapshot);
      this.#sendSnapshotChunk(to, pr);
      return false;
    }
    const { appendEntriesMax, appendBytesMax } = this.config.limits;
    const entries = this.log.slice(pr.next, (this.log.lastIndex() + 1) as LogIndex, appendEntriesMax, appendBytesMax);
    const last = entries[entries.length - 1];
    if (last === undefined && !sendIfEmpty) return false;
    this.#send({ type: 'MsgApp', to, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.commitSent = this.log.committed;
    if (pr.state === 'replicate') {
      if (last !== undefined) pr.sentEntries(last.index);
    } else {
      pr.probeSent = true;
    }
    return last !== undefined;
  }
  // #endregion send-append

  /**
   * A heartbeat interval without progress means a chunk or its answer was
   * lost: resend from what the follower acknowledged. Two in a row mean the
   * follower may have restarted and forgotten its chunks: start over.
   */
  #retrySnapshot(to: NodeId, pr: Progress): void {
    const pending = pr.pendingSnapshot;
    assert(pending !== undefined, 'snapshot state has a pending snapshot');
    if (pending.ackedOffset !== pending.ackedAtLastHeartbeat) {
      pending.ackedAtLastHeartbeat = pending.ackedOffset;
      pending.stalledHeartbeats = 0;
      return;
    }
    if (pending.chunksUnanswered >= this.config.limits.snapshotChunksUnansweredMax) {
      // Unreachable, or its queue is full: stop adding to it. The next answer
      // from it (a heartbeat's) finds it lagging and begins a new transfer,
      // which resumes where the follower's copy stands.
      pr.becomeProbe();
      return;
    }
    pending.stalledHeartbeats++;
    if (pending.stalledHeartbeats >= 2) {
      pending.ackedOffset = 0;
      pending.ackedAtLastHeartbeat = 0;
      pending.stalledHeartbeats = 0;
    }
    this.#sendSnapshotChunk(to, pr);
  }

  #sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const pending = pr.pendingSnapshot;
    assert(pending !== undefined, 'sending a snapshot chunk without a pending snapshot');
    const { data, meta } = pending.snapshot;
    if (pending.chunksUnanswered >= this.config.limits.snapshotChunksUnansweredMax) return;
    pending.chunksUnanswered++;
    const offset = pending.ackedOffset;
    const chunk = data.subarray(offset, offset + this.config.limits.snapshotChunkBytesMax);
    pending.sentOffset = offset + chunk.byteLength;
    this.#send({ type: 'MsgSnap', to, meta, offset, totalBytes: data.byteLength, chunk });
  }

  // ---- follower ---------------------------------------------------------------------

  #stepFollower(m: Message): void {
    if (m.type !== 'MsgApp' && m.type !== 'MsgHeartbeat' && m.type !== 'MsgSnap') return; // replies to a leadership this node no longer holds
    this.#leader = m.from;
    this.#election?.leaderHeard();
    switch (m.type) {
      case 'MsgApp':
        this.#handleAppendEntries(m);
        break;
      case 'MsgHeartbeat':
        this.#handleHeartbeat(m);
        break;
      case 'MsgSnap':
        this.#handleSnapshotChunk(m);
        break;
    }
  }

  // #region handle-append
  #handleAppendEntries(m: MsgApp): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to the commit index already matches the leader (see #appendBelowCommit).
      this.#appendBelowCommit(m);
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      // Consistency check passed: the logs agree up to prevIndex (§5.3).
      const lastNew = this.log.maybeAppend(m.prevIndex, m.entries);
      this.#dropTruncatedConf();
      this.#scanConf(m.entries);
      this.log.commitTo(Math.min(m.commit, lastNew) as LogIndex);
      this.#acceptAppend(m.from, lastNew);
      return;
    }
    // Reject, with a hint: the last index at or below prevIndex whose term
    // is not above prevTerm. Entries after it cannot match.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()) as LogIndex, m.prevTerm);
    const hintTerm = this.log.term(hintIndex) ?? (0 as Term);
    this.#send({ type: 'MsgAppResp', to: m.from, reject: true, index: m.prevIndex, hintIndex, hintTerm });
  }
  // #endregion handle-append

  // #region append-below-commit
  #appendBelowCommit(m: MsgApp): void {
    const committed = this.log.committed;
    if (this.#conflictsWithCommitted(m)) {
      // The leader holds other entries where this node committed: only a
      // leader elected without the up-to-date check (Bully) can. Answering
      // "matched up to the commit index" would let it count this node for
      // entries it does not hold and commit a divergent log, which no
      // later leader can repair. A reject whose hint lies above the
      // rejected index says it; the leader steps down (see
      // #lacksWhatFollowerCommitted).
      this.#send({ type: 'MsgAppResp', to: m.from, reject: true, index: m.prevIndex, hintIndex: committed, hintTerm: 0 as Term });
      return;
    }
    this.#acceptAppend(m.from, committed);
  }
  // #endregion append-below-commit

  /** An append whose prevTerm or entries disagree with this node's committed (and not compacted) entries. */
  #conflictsWithCommitted(m: MsgApp): boolean {
    const committed = this.log.committed;
    const prevTerm = this.log.term(m.prevIndex);
    if (prevTerm !== undefined && prevTerm !== m.prevTerm) return true;
    for (const entry of m.entries) {
      if (entry.index > committed) break;
      const t = this.log.term(entry.index);
      if (t !== undefined && t !== entry.term) return true;
    }
    return false;
  }

  #acceptAppend(to: NodeId, index: LogIndex): void {
    // Several appends handled before one Ready need one answer: an
    // acknowledgement of `index` covers every lower one (issue 18).
    const previous = this.#messages[this.#messages.length - 1];
    if (
      previous !== undefined &&
      previous.type === 'MsgAppResp' &&
      !previous.reject &&
      previous.to === to &&
      previous.term === this.#term &&
      previous.index <= index
    ) {
      this.#messages.pop();
    }
    this.#send({ type: 'MsgAppResp', to, reject: false, index, hintIndex: 0 as LogIndex, hintTerm: 0 as Term });
  }

  #handleHeartbeat(m: MsgHeartbeat): void {
    // The leader never sends a commit beyond what this node matched.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()) as LogIndex);
    this.#send(
      m.seq !== undefined && m.seq > 0
        ? { type: 'MsgHeartbeatResp', to: m.from, seq: m.seq }
        : { type: 'MsgHeartbeatResp', to: m.from },
    );
  }

  // #region handle-snapshot
  #handleSnapshotChunk(m: MsgSnap): void {
    const { meta } = m;
    if (meta.index <= this.log.committed) {
      this.#incoming = undefined;
      this.#acceptAppend(m.from, this.log.committed);
      return;
    }
    if (m.totalBytes > this.config.limits.snapshotBytesMax) {
      this.#send({ type: 'MsgSnapResp', to: m.from, meta, offset: 0, reject: true });
      return;
    }
    const current = this.#incoming;
    const inProgress =
      current !== undefined &&
      current.meta.index === meta.index &&
      current.meta.term === meta.term &&
      current.totalBytes === m.totalBytes;
    // A first chunk of the transfer already under way is a duplicate or a
    // leader's retry: keep what arrived and answer where to resume (below),
    // instead of starting over and never finishing.
    if (m.offset === 0 && !(inProgress && current.receivedBytes > 0)) {
      this.#incoming = { meta, totalBytes: m.totalBytes, chunks: [], receivedBytes: 0 };
    }
    const incoming = this.#incoming;
    if (
      incoming === undefined ||
      incoming.meta.index !== meta.index ||
      incoming.meta.term !== meta.term ||
      incoming.receivedBytes !== m.offset
    ) {
      // Out of order or from another snapshot: tell the leader where to resume.
      const same = incoming !== undefined && incoming.meta.index === meta.index && incoming.meta.term === meta.term;
      this.#send({ type: 'MsgSnapResp', to: m.from, meta, offset: same ? incoming.receivedBytes : 0, reject: false });
      return;
    }
    if (m.totalBytes !== incoming.totalBytes || incoming.receivedBytes + m.chunk.byteLength > incoming.totalBytes) {
      // Chunks that overrun the size the snapshot declared: a peer's error, not ours. Start over.
      this.#droppedMessages++;
      this.#incoming = undefined;
      this.#send({ type: 'MsgSnapResp', to: m.from, meta, offset: 0, reject: false });
      return;
    }
    incoming.chunks.push(m.chunk);
    incoming.receivedBytes += m.chunk.byteLength;
    if (incoming.receivedBytes < incoming.totalBytes) {
      this.#send({ type: 'MsgSnapResp', to: m.from, meta, offset: incoming.receivedBytes, reject: false });
      return;
    }
    this.#incoming = undefined;
    if (this.log.matchTerm(meta.index, meta.term)) {
      // The log already holds the snapshot's last entry: only the commit index moves.
      this.log.commitTo(meta.index);
    } else {
      this.log.restore({ meta, data: concat(incoming.chunks, incoming.totalBytes) });
      this.#confBase = { index: meta.index, conf: meta.conf ?? this.confAt(meta.index) };
      this.#confLog = [];
    }
    this.#acceptAppend(m.from, meta.index);
  }
  // #endregion handle-snapshot

  // ---- helpers ---------------------------------------------------------------------------

  #send(m: DistributiveOmit<Message, 'from' | 'term'>): void {
    this.#messages.push({ ...m, from: this.id, term: this.#term } as Message);
  }

  #hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.log.committed };
  }

  #softState(): SoftState {
    return { role: this.#role, leader: this.#leader };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function isElectionMessage(m: Message): m is ElectionMessage {
  switch (m.type) {
    case 'MsgVote':
    case 'MsgPreVote':
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
    case 'MsgTimeoutNow':
    case 'MsgPolicy':
      return true;
    default:
      return false;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}

function concat(chunks: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
