/**
 * What a leader knows about one follower: how far their logs match
 * (`match`), what to send next (`next`), and how it is sending. Same three
 * states as etcd's tracker:
 * - probe: unsure where the logs agree; one MsgApp at a time, then wait.
 * - replicate: logs agree; stream entries, at most inflightAppendsMax unacknowledged.
 * - snapshot: the follower needs entries compacted away; stream snapshot chunks.
 */
import { assert } from '@distkv/core';
import type { LogIndex, Snapshot } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

// #region progress
export class Progress {
  match: LogIndex;
  next: LogIndex;
  state: ProgressState = 'probe';
  /** probe: a MsgApp was sent and no reply or heartbeat has come since. */
  probeSent = false;
  /** replicate: last index carried by each unacknowledged MsgApp, oldest first. */
  inflights: LogIndex[] = [];
  /** The commit index the last MsgApp to this follower carried: a new one is worth an empty MsgApp. */
  commitSent = 0 as LogIndex;
  /** snapshot: what is being sent and how far the follower has acknowledged. */
  pendingSnapshot:
    | {
        snapshot: Snapshot;
        ackedOffset: number;
        sentOffset: number;
        ackedAtLastHeartbeat: number;
        stalledHeartbeats: number;
        /** Chunks sent since the follower last answered one: bounds the snapshot bytes queued for it. */
        chunksUnanswered: number;
      }
    | undefined;
  readonly inflightAppendsMax: number;

  constructor(match: LogIndex, next: LogIndex, inflightAppendsMax: number) {
    this.match = match;
    this.next = next;
    this.inflightAppendsMax = inflightAppendsMax;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.length >= this.inflightAppendsMax;
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    if (this.state === 'snapshot' && this.pendingSnapshot !== undefined) {
      this.next = (Math.max(this.match, this.pendingSnapshot.snapshot.meta.index) + 1) as LogIndex;
    } else {
      this.next = (this.match + 1) as LogIndex;
    }
    this.state = 'probe';
    this.probeSent = false;
    this.inflights = [];
    this.pendingSnapshot = undefined;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = (this.match + 1) as LogIndex;
    this.probeSent = false;
    this.inflights = [];
    this.pendingSnapshot = undefined;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.inflights = [];
    this.pendingSnapshot = {
      snapshot,
      ackedOffset: 0,
      sentOffset: 0,
      ackedAtLastHeartbeat: 0,
      stalledHeartbeats: 0,
      chunksUnanswered: 0,
    };
  }

  /** An acceptance up to `index` arrived. Returns false if it told nothing new. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (index + 1 > this.next) this.next = (index + 1) as LogIndex;
    return updated;
  }

  /** A MsgApp was sent in replicate state carrying entries up to `last`. */
  sentEntries(last: LogIndex): void {
    assert(this.inflights.length < this.inflightAppendsMax, 'never exceed inflightAppendsMax');
    this.inflights.push(last);
    this.next = (last + 1) as LogIndex;
  }

  freeInflightsUpTo(index: LogIndex): void {
    let i = 0;
    while (i < this.inflights.length && (this.inflights[i] as LogIndex) <= index) i++;
    if (i > 0) this.inflights = this.inflights.slice(i);
  }

  /**
   * A rejection of the MsgApp whose prevIndex was `rejected`; `matchHint` is
   * where the leader now guesses the logs agree. Returns false for a stale
   * rejection (one about a MsgApp this progress has moved past).
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as LogIndex;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1) as LogIndex;
    this.probeSent = false;
    return true;
  }
}
// #endregion progress
