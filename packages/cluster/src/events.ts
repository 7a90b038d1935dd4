/**
 * What happened to a node lately, for the dashboard: elections, leader
 * changes, restarts, snapshots, peers lost and found. Kept in memory in a
 * ring of fixed size, so a node that runs for months holds the last few
 * hundred events and never more; history belongs in the logs.
 */
import { clusterError } from './errors.js';

// #region node-event
export type NodeEventKind = 'start' | 'restart' | 'election' | 'leader' | 'role' | 'snapshot' | 'peer' | 'stop';

export interface NodeEvent {
  /** Increases by one per event of this node: a poller asks for what came after the last it saw. */
  seq: number;
  /** Wall-clock milliseconds (Date.now()), for display only. */
  atMs: number;
  kind: NodeEventKind;
  /** The term when it happened. */
  term: number;
  message: string;
}
// #endregion node-event

export const EVENTS_MAX_LIMIT = 100_000;

/** A bounded ring of events: pushing the (eventsMax+1)-th drops the oldest. */
export class EventRing {
  readonly eventsMax: number;
  readonly #ring: NodeEvent[] = [];
  #head = 0;
  #nextSeq = 1;

  constructor(eventsMax = 200) {
    if (!Number.isSafeInteger(eventsMax) || eventsMax < 1 || eventsMax > EVENTS_MAX_LIMIT)
      throw clusterError('CLUSTER_CONFIG_INVALID', `eventsMax must be an integer in 1..${EVENTS_MAX_LIMIT}, got ${eventsMax}`);
    this.eventsMax = eventsMax;
  }

  push(kind: NodeEventKind, term: number, message: string, atMs = Date.now()): NodeEvent {
    const event: NodeEvent = { seq: this.#nextSeq++, atMs, kind, term, message };
    if (this.#ring.length < this.eventsMax) this.#ring.push(event);
    else {
      this.#ring[this.#head] = event;
      this.#head = (this.#head + 1) % this.eventsMax;
    }
    return event;
  }

  /** Events oldest first, only those with `seq > afterSeq`, at most `countMax` of the newest. */
  list(afterSeq = 0, countMax = this.eventsMax): NodeEvent[] {
    const ordered = [...this.#ring.slice(this.#head), ...this.#ring.slice(0, this.#head)];
    const newer = ordered.filter((e) => e.seq > afterSeq);
    return newer.slice(Math.max(0, newer.length - countMax));
  }

  /** How many events were ever pushed (the ring keeps the last eventsMax). */
  get pushedCount(): number {
    return this.#nextSeq - 1;
  }
}
