/**
 * The log as the state machine sees it: the driver's stable storage plus an
 * in-memory "unstable" tail that was appended (or a snapshot that was
 * received) and not yet persisted. A Ready hands the unstable part to the
 * driver; `advance` moves it into stable storage's keeping. Same split as
 * etcd's raftLog/unstable.
 */
import { assert } from '@distkv/core';
import type { LogStorage } from './storage.js';
import { limitBytes } from './storage.js';
import type { Entry, LogIndex, Snapshot, Term } from './types.js';

export class RaftLog {
  readonly storage: LogStorage;
  /** A snapshot received from the leader, not yet persisted. */
  unstableSnapshot: Snapshot | undefined;
  /** Entries not yet persisted; unstableEntries[i] has index unstableOffset + i. */
  unstableEntries: Entry[] = [];
  unstableOffset: LogIndex;
  committed: LogIndex;
  applied: LogIndex;

  constructor(storage: LogStorage, committed: LogIndex, applied: LogIndex) {
    this.storage = storage;
    this.unstableOffset = (storage.lastIndex() + 1) as LogIndex;
    // The application cannot be behind the snapshot it restored from (a
    // catch-up tail kept by compaction may start the log before it).
    this.applied = Math.max(applied, storage.snapshot().meta.index) as LogIndex;
    this.committed = Math.max(committed, this.applied) as LogIndex;
    assert(this.committed <= storage.lastIndex(), 'the persisted commit index is within the persisted log');
  }

  firstIndex(): LogIndex {
    if (this.unstableSnapshot !== undefined) return (this.unstableSnapshot.meta.index + 1) as LogIndex;
    return this.storage.firstIndex();
  }

  /**
   * The snapshot the log starts after: the one received and still being
   * persisted, if any, else stable storage's. Entries below firstIndex()
   * are in this one; stable storage's is older while an install is
   * persisted (a node can win an election meanwhile: issue 17).
   */
  snapshot(): Snapshot {
    return this.unstableSnapshot ?? this.storage.snapshot();
  }

  lastIndex(): LogIndex {
    const n = this.unstableEntries.length;
    if (n > 0) return (this.unstableOffset + n - 1) as LogIndex;
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'the last entry always has a term');
    return t;
  }

  /** Term at `index`, or undefined when compacted away or beyond the end. */
  term(index: LogIndex): Term | undefined {
    if (index >= this.unstableOffset) {
      const e = this.unstableEntries[index - this.unstableOffset];
      if (e !== undefined) return e.term;
      if (this.unstableSnapshot !== undefined && index === this.unstableSnapshot.meta.index)
        return this.unstableSnapshot.meta.term;
      return undefined;
    }
    if (this.unstableSnapshot !== undefined) {
      return index === this.unstableSnapshot.meta.index ? this.unstableSnapshot.meta.term : undefined;
    }
    return this.storage.term(index);
  }

  matchTerm(index: LogIndex, t: Term): boolean {
    return this.term(index) === t;
  }

  /** Entries in [lo, hi) bounded by count and bytes; lo must not be compacted. */
  slice(lo: LogIndex, hi: LogIndex, countMax: number, bytesMax: number): Entry[] {
    assert(lo >= this.firstIndex(), 'slice below firstIndex');
    const end = Math.min(hi, lo + countMax, this.lastIndex() + 1) as LogIndex;
    if (lo >= end) return [];
    let out: Entry[] = [];
    if (lo < this.unstableOffset) {
      out = this.storage.entries(lo, Math.min(end, this.unstableOffset) as LogIndex, bytesMax);
      if (out.length < Math.min(end, this.unstableOffset) - lo) return out;
    }
    if (end > this.unstableOffset) {
      const from = Math.max(lo, this.unstableOffset) - this.unstableOffset;
      out = out.concat(this.unstableEntries.slice(from, end - this.unstableOffset));
    }
    return limitBytes(out, bytesMax);
  }

  /**
   * The first index at which `entries` disagree with the log (a different
   * term, or beyond the end); 0 when the log already holds them all.
   */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0 as LogIndex;
  }

  /**
   * For fast backtracking: the largest index <= `index` whose term is <= `t`.
   * Every entry after it has a term above `t`, so none can match a log whose
   * entry at that position has term `t`.
   */
  findConflictByTerm(index: LogIndex, t: Term): LogIndex {
    let i = index;
    for (;;) {
      const it = this.term(i);
      if (it === undefined || it <= t) return i;
      i = (i - 1) as LogIndex;
    }
  }

  // #region append
  /**
   * Follower side of AppendEntries, after the consistency check passed:
   * entries already present are skipped; from the first conflicting one
   * on, the log is replaced. A conflict at or below the commit index would
   * mean a committed entry is being rewritten — a safety bug, so assert.
   */
  maybeAppend(prevIndex: LogIndex, entries: readonly Entry[]): LogIndex {
    const lastNew = (prevIndex + entries.length) as LogIndex;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(conflict > this.committed, `entry ${conflict} conflicts with the committed prefix (commit ${this.committed})`);
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    return lastNew;
  }
  // #endregion append

  /** Appends (truncating anything at or after entries[0].index) to the unstable tail. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.committed, 'never truncate committed entries');
    assert(first.index <= this.lastIndex() + 1, 'appending after a gap');
    const n = this.unstableEntries.length;
    if (first.index === this.unstableOffset + n) {
      this.unstableEntries = this.unstableEntries.concat(entries);
    } else if (first.index <= this.unstableOffset) {
      // Replaces stable entries too: the Ready tells the driver to truncate from first.index.
      this.unstableOffset = first.index;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, first.index - this.unstableOffset).concat(entries);
    }
  }

  commitTo(index: LogIndex): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Committed entries not yet handed to the application, bounded in bytes. */
  nextCommitted(bytesMax: number): Entry[] {
    if (this.unstableSnapshot !== undefined) return [];
    if (this.committed <= this.applied) return [];
    return this.slice((this.applied + 1) as LogIndex, (this.committed + 1) as LogIndex, Number.MAX_SAFE_INTEGER, bytesMax);
  }

  restore(snapshot: Snapshot): void {
    this.unstableSnapshot = snapshot;
    this.unstableEntries = [];
    this.unstableOffset = (snapshot.meta.index + 1) as LogIndex;
    this.committed = snapshot.meta.index;
  }

  /** After the driver persisted entries up to (index, term): drop them from the unstable tail. */
  stableTo(index: LogIndex, t: Term): void {
    if (index < this.unstableOffset) return;
    const e = this.unstableEntries[index - this.unstableOffset];
    if (e === undefined || e.term !== t) return; // replaced meanwhile; the newer tail is still unstable
    this.unstableEntries = this.unstableEntries.slice(index - this.unstableOffset + 1);
    this.unstableOffset = (index + 1) as LogIndex;
  }

  stableSnapTo(index: LogIndex): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = undefined;
  }

  appliedTo(index: LogIndex): void {
    assert(index <= this.committed, 'applied beyond commit');
    if (index > this.applied) this.applied = index;
  }
}
