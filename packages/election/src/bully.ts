/**
 * The seed's Bully algorithm (Garcia-Molina, 1982) as an `ElectionPolicy`
 * for `@distkv/replication`'s RaftNode, through the same `RaftHandle` as
 * Raft's elections: the highest live id wins.
 *
 * - A node that has not heard from a leader for `electionTimeoutTicks`
 *   sends ELECTION to every node with a higher priority. If none answers
 *   within `answerTimeoutTicks`, it declares itself COORDINATOR.
 * - A node that receives ELECTION from a lower one answers ANSWER and
 *   starts its own election (a leader re-announces itself instead).
 * - A node that got an ANSWER waits `coordinatorTimeoutTicks` for a
 *   COORDINATOR, then starts over.
 *
 * distkv fences it with terms: a coordinator takes the next term (persisted
 * before it announces, like a vote), so a deposed leader's appends carry a
 * stale term and are refused. What it lacks — on purpose, since this is the
 * seed's algorithm — is any look at the logs: the winner is the highest
 * id, not the most up-to-date log, so a node that missed committed writes
 * can win and overwrite them, and priority alone does not stop two nodes
 * that cannot hear each other from both leading. docs/05-election.md shows
 * the simulator finding both.
 *
 * One guard keeps a cluster live: a leader that learns from a follower's
 * answer that it lacks committed entries steps down (RaftNode), and this
 * policy keeps it out of elections until it has caught up
 * (`lacksCommittedEntries`), so a lower node with the entries leads.
 */
import { assert } from '@distkv/core';
import type { ElectionMessage, ElectionPolicy, NodeId, RaftHandle, Term } from '@distkv/replication';

export type BullyMessageKind = 'election' | 'answer' | 'coordinator';

export interface BullyOptions {
  /** Ticks an ELECTION waits for any ANSWER before this node declares itself; default 3. */
  answerTimeoutTicks?: number;
  /** Ticks to wait for COORDINATOR after an ANSWER before starting over; default 6. */
  coordinatorTimeoutTicks?: number;
  /**
   * Default true: a coordinator takes the next term that belongs to it
   * (terms are dealt round-robin by priority), so no two nodes ever lead
   * the same term. false: simply the next term, as a naive port would —
   * and two nodes can then lead one term (the simulator finds it).
   */
  termStriping?: boolean;
}

/**
 * Priority from node ids: numeric ids compare as numbers (`n10` > `n9`),
 * others as strings. Higher wins.
 */
export function bullyPriority(a: NodeId, b: NodeId): number {
  const na = Number(a.replace(/^\D+/, ''));
  const nb = Number(b.replace(/^\D+/, ''));
  if (Number.isSafeInteger(na) && Number.isSafeInteger(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The smallest term above the node's whose remainder modulo the voter count is the node's rank. */
function stripedTerm(node: RaftHandle): Term {
  const ranked = [...node.voters].sort(bullyPriority);
  const n = ranked.length;
  const rank = ranked.indexOf(node.id);
  assert(rank >= 0, 'a node is among its voters');
  const t = node.term + 1;
  return (t + ((((rank - t) % n) + n) % n)) as Term;
}

/** The Bully algorithm for one node: `bullyElection(options)` is what RaftConfig.election takes. */
export function bullyElection(options: BullyOptions = {}): (node: RaftHandle) => BullyElection {
  return (node) => new BullyElection(node, options);
}

// #region bully
export class BullyElection implements ElectionPolicy {
  readonly name = 'bully';
  readonly answerTimeoutTicks: number;
  readonly coordinatorTimeoutTicks: number;
  readonly termStriping: boolean;
  /** idle: following (or no election yet); electing: sent ELECTION, waiting for ANSWER; waiting: got ANSWER, waiting for COORDINATOR. */
  phase: 'idle' | 'electing' | 'waiting' = 'idle';
  #phaseElapsedTicks = 0;
  /** Ticks since this node last heard from a leader, or changed role. */
  #silentTicks = 0;
  /** Bully's recovery rule: a process that (re)starts holds an election at once. */
  #recovered = false;
  readonly #node: RaftHandle;

  constructor(node: RaftHandle, options: BullyOptions = {}) {
    this.#node = node;
    this.answerTimeoutTicks = options.answerTimeoutTicks ?? 3;
    this.coordinatorTimeoutTicks = options.coordinatorTimeoutTicks ?? 6;
    this.termStriping = options.termStriping ?? true;
    assert(Number.isSafeInteger(this.answerTimeoutTicks) && this.answerTimeoutTicks >= 1, 'answerTimeoutTicks >= 1');
    assert(
      Number.isSafeInteger(this.coordinatorTimeoutTicks) && this.coordinatorTimeoutTicks >= 1,
      'coordinatorTimeoutTicks >= 1',
    );
  }

  start(): void {}

  roleChanged(): void {
    this.#silentTicks = 0;
  }

  leaderHeard(): void {
    this.#silentTicks = 0;
  }

  voterAnswered(): void {}

  transferee(): NodeId | null {
    return null;
  }

  tick(): void {
    const node = this.#node;
    if (node.role === 'leader') return;
    this.#silentTicks++;
    if (node.lacksCommittedEntries()) {
      // A follower told this node (while it led) that it committed entries
      // this node lacks. Claiming leadership again would only repeat that:
      // stay out, and let a lower but more complete node lead until one
      // brings this node's commit index up to what it was told.
      this.#enter('idle');
      return;
    }
    if (!this.#recovered) {
      this.#recovered = true;
      this.#startElection();
      return;
    }
    this.#phaseElapsedTicks++;
    switch (this.phase) {
      case 'idle':
        // The leader is silent (or there never was one): challenge everyone above.
        if (this.#silentTicks >= node.electionTimeoutTicks) this.#startElection();
        break;
      case 'electing':
        // Nobody above answered: they are all down, so this node wins.
        if (this.#phaseElapsedTicks >= this.answerTimeoutTicks) this.#becomeCoordinator();
        break;
      case 'waiting':
        if (this.#phaseElapsedTicks >= this.coordinatorTimeoutTicks) this.#startElection();
        break;
    }
  }

  step(m: ElectionMessage): void {
    const node = this.#node;
    if (m.type !== 'MsgPolicy') return; // Raft's votes: no Bully peer sends them
    if (m.term > node.term) node.becomeFollower(m.term, null, 'higher-term', m.from);
    switch (m.kind as BullyMessageKind) {
      case 'election':
        if (bullyPriority(m.from, node.id) >= 0) return; // only lower nodes are bullied
        if (node.lacksCommittedEntries()) return; // silent: the lower node wins (see tick)
        this.#send(m.from, 'answer');
        if (node.role === 'leader') this.#send(m.from, 'coordinator');
        else if (this.phase === 'idle') this.#startElection();
        break;
      case 'answer':
        if (this.phase === 'electing') this.#enter('waiting');
        break;
      case 'coordinator':
        // Fenced: an announcement from an older term is ignored (its
        // author learns the newer term when its appends are refused).
        if (m.term < node.term) return;
        if (node.role === 'leader' && bullyPriority(m.from, node.id) < 0) return; // a lower node does not depose us
        if (node.role === 'leader' || node.leader !== m.from) node.becomeFollower(m.term, m.from, 'leader-of-term', m.from);
        this.#silentTicks = 0;
        this.#enter('idle');
        break;
      default:
        break; // a kind this version does not know
    }
  }

  #send(to: NodeId, kind: BullyMessageKind): void {
    this.#node.send({ type: 'MsgPolicy', to, kind });
  }

  #startElection(): void {
    const node = this.#node;
    const higher = node.voters.filter((v) => bullyPriority(v, node.id) > 0);
    if (higher.length === 0) {
      this.#becomeCoordinator();
      return;
    }
    for (const v of higher) this.#send(v, 'election');
    this.#enter('electing');
  }

  #becomeCoordinator(): void {
    const node = this.#node;
    // The next term, persisted (Ready.hardState) before COORDINATOR leaves.
    // No log comparison: this is where Bully loses committed writes.
    node.leadNewTerm(this.termStriping ? stripedTerm(node) : undefined);
    for (const v of node.voters) if (v !== node.id) this.#send(v, 'coordinator');
    this.#enter('idle');
  }

  #enter(phase: BullyElection['phase']): void {
    this.phase = phase;
    this.#phaseElapsedTicks = 0;
  }
}
// #endregion bully
