/**
 * Raft's leader election (§5.2, §5.4.1) with the thesis' extensions:
 * pre-vote (§9.6), check-quorum (§6.2), leadership transfer (§3.10) and
 * leader leases (§6.4.1). It plugs into `@distkv/replication`'s RaftNode
 * through the election seam: it sees the node only through a `RaftHandle`
 * and changes it only through the handle's methods (become candidate,
 * grant a vote, become leader, step down), which keep the invariants —
 * terms never go back, one vote per term, votes persisted before answers.
 *
 * The state here is the election's own: the randomised timeout, the votes
 * of a campaign, which voters a leader heard from, the lease's
 * acknowledgements, a transfer in progress. Terms, votes, roles and the
 * log stay the node's.
 *
 * Pure like the node: time is `tick()`, randomness an injected `Rng`.
 */
import { assert } from '@distkv/core';
import {
  type ElectionMessage,
  type ElectionPolicy,
  type MsgVote,
  type MsgVoteResp,
  type NodeId,
  type RaftHandle,
  type Rng,
  seededRng,
  type Term,
} from '@distkv/replication';
import { electionError } from './errors.js';

/** See RaftElectionOptions.leaseClockDriftTicks. */
export const LEASE_CLOCK_DRIFT_TICKS_DEFAULT = 2;

// #region raft-election-options
export interface RaftElectionOptions {
  /** Thesis §9.6: ask before campaigning, so a rejoining node does not disrupt a healthy leader. Default true. */
  preVote?: boolean;
  /**
   * Thesis §6.2: a leader that has not heard from a majority within an
   * election timeout steps down, and a follower that heard from a leader
   * within an election timeout ignores vote requests. Default true.
   * Lease reads need it.
   */
  checkQuorum?: boolean;
  /**
   * Lease reads: ticks of clock drift allowed between any two nodes during
   * one election timeout. Default 2: one for the rates of two clocks, one
   * for the tick a driver may not yet have counted when it steps a message
   * (ticks are whole, so a follower can be up to a tick behind real time).
   */
  leaseClockDriftTicks?: number;
  /** Randomness for election timeouts; default a seeded Rng derived from the node's id (deterministic). */
  rng?: Rng;
}
// #endregion raft-election-options

/** Raft's elections for one node: `raftElection(options)` is what RaftConfig.election takes. */
export function raftElection(options: RaftElectionOptions = {}): (node: RaftHandle) => RaftElection {
  return (node) => new RaftElection(node, options);
}

/** The Raft election of a node that was built with `raftElection()`; throws on any other node. For tools that drive it by hand. */
export function raftElectionOf(node: { readonly election: ElectionPolicy | undefined }): RaftElection {
  const election = node.election;
  assert(election instanceof RaftElection, 'the node elects with raftElection()');
  return election;
}

export class RaftElection implements ElectionPolicy {
  readonly name = 'raft';
  /** Votes are counted in the configuration in force, read at each count; learners never campaign (membership, chapter 5). */
  readonly supportsMembership = true;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaseClockDriftTicks: number;
  readonly #node: RaftHandle;
  readonly #rng: Rng;
  /** Non-leader: ticks since it last heard from a leader or campaigned or voted. Leader: ticks since the last check-quorum. */
  #electionElapsedTicks = 0;
  /** Campaign when #electionElapsedTicks reaches this: random in [electionTimeoutTicks, 2 * electionTimeoutTicks). */
  #randomizedElectionTimeoutTicks = 0;
  /** Ticks since a leader was last heard (or since start); never reset by campaigning. A follower in lease ignores votes. */
  #leaderSilentTicks = 0;
  /** Candidate / pre-candidate: the answers so far. */
  #votes = new Map<NodeId, boolean>();
  /** Leader, check-quorum: voters heard from since the last check. */
  #recentActive = new Set<NodeId>();
  /** Leader: the voter it is handing leadership to (thesis §3.10), or null. */
  #transferee: NodeId | null = null;
  #transferElapsedTicks = 0;
  /** Leader: a TimeoutNow may be on its way (even if the transfer was abandoned), so no more lease reads this term. */
  #transferAttempted = false;
  /** Leader, lease: per voter, the send tick of the latest heartbeat round it answered. */
  #leaseAckTick = new Map<NodeId, number>();
  /** Lease reads (only with check-quorum, whose promise they rest on). */
  readonly leaseHolds?: () => boolean;

  constructor(node: RaftHandle, options: RaftElectionOptions = {}) {
    this.#node = node;
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.leaseClockDriftTicks = options.leaseClockDriftTicks ?? LEASE_CLOCK_DRIFT_TICKS_DEFAULT;
    const drift = this.leaseClockDriftTicks;
    if (!Number.isSafeInteger(drift) || drift < 0 || drift >= node.electionTimeoutTicks) {
      throw electionError('ELECTION_CONFIG_INVALID', 'leaseClockDriftTicks must be an integer in [0, electionTimeoutTicks)');
    }
    this.#rng = options.rng ?? seededRng(idSeed(node.id));
    if (this.checkQuorum) this.leaseHolds = () => this.#leaseHolds();
  }

  /** Non-leader: the tick count at which it campaigns if it hears nothing, drawn anew at every role change. */
  get randomizedElectionTimeoutTicks(): number {
    return this.#randomizedElectionTimeoutTicks;
  }

  start(): void {
    // One voter alone elects itself at once.
    const { voters, id } = this.#node;
    if (voters.length === 1 && voters[0] === id) this.campaign('election', false);
  }

  // #region raft-tick
  tick(): void {
    const node = this.#node;
    if (node.role === 'leader') {
      this.#tickLeader();
      return;
    }
    this.#electionElapsedTicks++;
    this.#leaderSilentTicks++;
    // A learner, a node still joining and a removed one never campaign: only voters stand.
    if (!node.voters.includes(node.id)) return;
    if (this.#electionElapsedTicks >= this.#randomizedElectionTimeoutTicks) {
      this.campaign(this.preVote ? 'pre-vote' : 'election', false);
    }
  }

  #tickLeader(): void {
    const node = this.#node;
    this.#electionElapsedTicks++;
    if (this.#electionElapsedTicks >= node.electionTimeoutTicks) {
      this.#electionElapsedTicks = 0;
      // Thesis §6.2: a leader cut off from a majority stops acting as one.
      if (this.checkQuorum) {
        let active = node.voters.includes(node.id) ? 1 : 0;
        for (const v of this.#recentActive) if (node.voters.includes(v)) active++;
        this.#recentActive.clear();
        if (active < node.quorum) {
          node.becomeFollower(node.term, null, 'check-quorum');
          return;
        }
      }
    }
    if (this.#transferee !== null) {
      this.#transferElapsedTicks++;
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      if (this.#transferElapsedTicks >= node.electionTimeoutTicks) this.#transferee = null;
    }
  }
  // #endregion raft-tick

  // #region raft-step
  step(m: ElectionMessage): void {
    const node = this.#node;
    if (m.type === 'MsgPolicy') return; // another algorithm's message: no Raft peer sends one
    if (m.term > node.term) {
      if ((m.type === 'MsgVote' || m.type === 'MsgPreVote') && !m.transfer && this.#inLease()) {
        // Thesis §6.2/§9.6: this node heard from a leader within an election
        // timeout; a disruptive candidate gets no answer and no term change.
        return;
      }
      if (m.type === 'MsgPreVote' || (m.type === 'MsgPreVoteResp' && !m.reject)) {
        // A pre-vote carries a term nobody has taken yet: nothing changes.
      } else {
        // A vote a transfer asked for (TimeoutNow) says why the leader of the older term steps down.
        const transfer = m.type === 'MsgVote' && m.transfer;
        node.becomeFollower(m.term, null, transfer ? 'transfer' : 'higher-term', m.from);
      }
    } else if (m.term < node.term) {
      // Tell the stale pre-candidate the current term, so it stops asking.
      if (m.type === 'MsgPreVote') node.send({ type: 'MsgPreVoteResp', to: m.from, reject: true });
      return;
    }
    switch (m.type) {
      case 'MsgVote':
      case 'MsgPreVote':
        this.#handleVoteRequest(m);
        return;
      case 'MsgVoteResp':
      case 'MsgPreVoteResp':
        this.#handleVoteResponse(m);
        return;
      case 'MsgTimeoutNow':
        // Thesis §3.10: the leader chose this node; campaign at once, skipping pre-vote.
        if (node.role !== 'leader' && node.voters.includes(node.id)) this.campaign('election', true);
        return;
    }
  }
  // #endregion raft-step

  roleChanged(): void {
    const node = this.#node;
    this.#electionElapsedTicks = 0;
    this.#randomizedElectionTimeoutTicks = node.electionTimeoutTicks + this.#rng.int(node.electionTimeoutTicks);
    this.#transferee = null;
    this.#transferElapsedTicks = 0;
    this.#transferAttempted = false;
    this.#votes = new Map();
    this.#recentActive.clear();
    this.#leaseAckTick.clear();
    if (node.role === 'follower' && node.leader !== null) this.#leaderSilentTicks = 0;
  }

  leaderHeard(): void {
    this.#electionElapsedTicks = 0;
    this.#leaderSilentTicks = 0;
  }

  voterAnswered(from: NodeId, type: 'MsgAppResp' | 'MsgHeartbeatResp' | 'MsgSnapResp'): void {
    this.#recentActive.add(from);
    const node = this.#node;
    if (type === 'MsgAppResp' && this.#transferee === from && node.matchIndex(from) === node.lastIndex) {
      node.send({ type: 'MsgTimeoutNow', to: from });
    }
  }

  transferee(): NodeId | null {
    return this.#transferee;
  }

  // #region campaign
  /**
   * Starts an election (§5.2). `pre-vote` first asks, at term + 1, whether
   * a majority would vote — without changing this node's term — so a node
   * that was cut off cannot force a healthy leader out when it returns
   * (thesis §9.6). `transfer`: the leader asked for it (TimeoutNow).
   */
  campaign(kind: 'pre-vote' | 'election', transfer: boolean): void {
    const node = this.#node;
    assert(node.role !== 'leader', 'a leader does not campaign');
    if (kind === 'pre-vote') node.becomePreCandidate();
    else node.becomeCandidate();
    this.#votes.set(node.id, true);
    if (this.#votesGranted() >= node.quorum) {
      this.#wonVote(kind);
      return;
    }
    const type = kind === 'pre-vote' ? 'MsgPreVote' : 'MsgVote';
    const t = (kind === 'pre-vote' ? node.term + 1 : node.term) as Term;
    for (const v of node.voters) {
      if (v === node.id) continue;
      node.send({ type, to: v, lastIndex: node.lastIndex, lastTerm: node.lastTerm, transfer }, t);
    }
  }
  // #endregion campaign

  // #region vote
  /**
   * §5.2 and §5.4.1: grant at most one vote per term, first come first
   * served, and only to a candidate whose log is at least as up-to-date as
   * this node's: "If the logs have last entries with different terms, then
   * the log with the later term is more up-to-date. If the logs end with the
   * same term, then whichever log is longer is more up-to-date."
   */
  #handleVoteRequest(m: MsgVote): void {
    const node = this.#node;
    const canVote =
      node.vote === m.from || (node.vote === null && node.leader === null) || (m.type === 'MsgPreVote' && m.term > node.term);
    const lastTerm = node.lastTerm;
    const upToDate = m.lastTerm > lastTerm || (m.lastTerm === lastTerm && m.lastIndex >= node.lastIndex);
    const type = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    if (canVote && upToDate) {
      // A granted pre-vote answers in the term it was asked about.
      node.send({ type, to: m.from, reject: false }, m.term);
      if (m.type === 'MsgVote') {
        node.grantVote(m.from); // in Ready.hardState, persisted before this answer is sent
        this.#electionElapsedTicks = 0;
      }
    } else {
      node.send({ type, to: m.from, reject: true });
    }
  }
  // #endregion vote

  #handleVoteResponse(m: MsgVoteResp): void {
    const node = this.#node;
    const kind = m.type === 'MsgVoteResp' ? 'election' : 'pre-vote';
    if ((kind === 'election') !== (node.role === 'candidate')) return;
    if (node.role !== 'candidate' && node.role !== 'pre-candidate') return;
    if (kind === 'pre-vote' && !m.reject && m.term !== node.term + 1) return; // a grant for an older question
    this.#votes.set(m.from, !m.reject);
    if (this.#votesGranted() >= node.quorum) {
      this.#wonVote(kind);
    } else if (this.#votesRefused() >= node.quorum) {
      node.becomeFollower(node.term, null, 'election-lost'); // lost: wait for the next timeout
    }
  }

  #wonVote(kind: 'pre-vote' | 'election'): void {
    if (kind === 'pre-vote') this.campaign('election', false);
    else this.#node.becomeLeader();
  }

  /** Votes granted by voters of the configuration in force (a vote from a node that left counts for nothing). */
  #votesGranted(): number {
    let n = 0;
    for (const [from, g] of this.#votes) if (g && this.#node.voters.includes(from)) n++;
    return n;
  }

  #votesRefused(): number {
    let n = 0;
    for (const [from, g] of this.#votes) if (!g && this.#node.voters.includes(from)) n++;
    return n;
  }

  /** check-quorum: this node heard from a leader less than an election timeout ago. */
  #inLease(): boolean {
    // A leader with check-quorum heard from a majority within the last election timeout (or steps down).
    if (!this.checkQuorum) return false;
    return this.#node.role === 'leader' || this.#leaderSilentTicks < this.#node.electionTimeoutTicks;
  }

  // #region transfer
  /**
   * Thesis §3.10: hand leadership to `to`. The leader stops accepting
   * proposals, brings `to` up to date, then sends it MsgTimeoutNow so it
   * campaigns at once (its higher term deposes this leader). Abandoned if
   * not done within an election timeout. RaftNode.transferLeadership checks
   * that this node leads and `to` is another voter.
   */
  transferLeadership(to: NodeId): void {
    const node = this.#node;
    this.#transferee = to;
    this.#transferAttempted = true;
    this.#transferElapsedTicks = 0;
    this.#electionElapsedTicks = 0;
    if (node.matchIndex(to) === node.lastIndex) node.send({ type: 'MsgTimeoutNow', to });
    else node.sendAppend(to);
  }
  // #endregion transfer

  // #region lease
  heartbeatRoundAcked(from: NodeId, sentTick: number): void {
    if (sentTick > (this.#leaseAckTick.get(from) ?? -1)) this.#leaseAckTick.set(from, sentTick);
  }

  /**
   * The lease: a majority (this leader included) answered rounds sent less
   * than electionTimeoutTicks - leaseClockDriftTicks ago. Each of them reset
   * its election timer on receipt, after the send, and with check-quorum
   * will not vote for another candidate for electionTimeoutTicks of its own
   * ticks. Not after a transfer was tried in this term: a TimeoutNow still in
   * flight overrides that promise, even if the transfer was abandoned.
   */
  #leaseHolds(): boolean {
    const node = this.#node;
    if (this.#transferAttempted) return false;
    const window = node.electionTimeoutTicks - this.leaseClockDriftTicks;
    let holders = 1;
    for (const [id, sent] of this.#leaseAckTick) if (id !== node.id && node.ticks - sent < window) holders++;
    return holders >= node.quorum;
  }
  // #endregion lease
}

/** A stable seed from a node id (FNV-1a), so each node's timeouts differ yet replay exactly. */
function idSeed(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
