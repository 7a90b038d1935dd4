/**
 * The operator's account of what the state machine did: every RaftEvent
 * of a Ready (campaigns, terms, leaders, step-downs and why, snapshot
 * transfers) as one log line naming the term and, where it matters, the
 * index, at the level it deserves. The node stays pure and reports events;
 * the words and the clock live here. Campaigns that repeat while no leader
 * can be elected (a node cut off from the others pre-votes every election
 * timeout) are logged once, then at most every `repeatEveryMs` with a count,
 * until a leader is known again.
 */
import type { LogLine } from '@distkv/core';
import type { FollowReason } from '../election-seam.js';
import { describeConf, describeConfChange } from '../membership.js';
import type { RaftEvent } from '../raft.js';
import type { NodeId, Term } from '../types.js';

function why(reason: FollowReason, term: Term, by: NodeId | null): string {
  const who = by ?? 'a peer';
  switch (reason) {
    case 'higher-term':
      return `a message of term ${term} from ${who} (higher term)`;
    case 'check-quorum':
      return 'check-quorum: no majority of voters answered within an election timeout';
    case 'transfer':
      return `leadership transfer: ${who} campaigns for term ${term}`;
    case 'election-lost':
      return 'a majority refused the vote (election lost)';
    case 'leader-of-term':
      return `${who} leads term ${term}`;
    case 'lacks-committed-entries':
      return `${who} committed entries this node's log lacks`;
    case 'removed':
      return 'its removal from the members committed';
    case 'election':
      return 'the election policy decided';
  }
}

// #region event-log
export class RaftEventLog {
  readonly #self: NodeId;
  readonly #log: LogLine;
  readonly #repeatEveryMs: number;
  readonly #now: () => number;
  /** Per kind of campaign line: when the last one was logged, and how many since went unlogged. */
  readonly #campaigns = new Map<'pre-vote' | 'election' | 'lost', { atMs: number; unlogged: number }>();

  constructor(self: NodeId, log: LogLine, repeatEveryMs = 10_000, now: () => number = Date.now) {
    this.#self = self;
    this.#log = log;
    this.#repeatEveryMs = repeatEveryMs;
    this.#now = now;
  }

  log(events: readonly RaftEvent[]): void {
    for (const e of events) this.#one(e);
  }

  #one(e: RaftEvent): void {
    switch (e.type) {
      case 'campaign':
        this.#campaign(
          e.preVote ? 'pre-vote' : 'election',
          e.preVote
            ? `pre-vote: asks whether a majority would elect it in term ${e.term} (log at ${e.lastIndex}); no leader heard within the election timeout`
            : `election: campaigns for term ${e.term} (log at ${e.lastIndex})`,
        );
        return;
      case 'lead':
        this.#campaigns.clear();
        this.#log(`leader: ${this.#self} leads term ${e.term} (its first entry of the term at index ${e.index})`);
        return;
      case 'follow': {
        const reason = why(e.reason, e.term, e.by);
        if (e.previousRole === 'leader') {
          const now = e.term > e.previousTerm ? `, now in term ${e.term}` : '';
          this.#log(`step-down: ${this.#self} no longer leads term ${e.previousTerm}${now}: ${reason}`, 'warn');
        } else if (e.term > e.previousTerm) {
          this.#log(`term ${e.previousTerm} → ${e.term}: ${reason}`);
        } else {
          this.#campaign('lost', `election: stopped campaigning in term ${e.term}: ${reason}`);
        }
        return;
      }
      case 'leader':
        if (e.leader === this.#self) return; // said by 'lead'
        if (e.leader !== null) this.#campaigns.clear();
        this.#log(
          e.leader === null ? `leader: none known in term ${e.term}` : `leader: follows ${e.leader}, leader of term ${e.term}`,
        );
        return;
      case 'snapshot-send':
        this.#log(
          `snapshot: sending ${e.to} the snapshot at index ${e.index} (term ${e.snapshotTerm}, ${e.bytes} bytes) in term ${e.term}: it needs entry ${e.next}, which compaction removed`,
        );
        return;
      case 'conf':
        this.#log(
          `membership: ${describeConfChange(e.change)} at index ${e.index} (term ${e.term}); in force now: ${describeConf(e.conf)}`,
        );
        return;
      case 'removed':
        this.#log(
          `membership: ${this.#self} was removed from the cluster (the change at index ${e.index} committed); it no longer votes or serves, and can be stopped`,
          'warn',
        );
        return;
    }
  }

  /** Logs a campaign line unless one of its kind was logged within repeatEveryMs; then it counts it. */
  #campaign(kind: 'pre-vote' | 'election' | 'lost', line: string): void {
    const now = this.#now();
    const c = this.#campaigns.get(kind);
    if (c !== undefined && now - c.atMs < this.#repeatEveryMs) {
      c.unlogged++;
      return;
    }
    const since = c !== undefined && c.unlogged > 0 ? ` (and ${c.unlogged} more like it since the last one logged)` : '';
    this.#campaigns.set(kind, { atMs: now, unlogged: 0 });
    this.#log(`${line}${since}`);
  }
}
// #endregion event-log
