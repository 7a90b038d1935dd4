/**
 * The stable part of the log, as the state machine reads it. The driver owns
 * it and writes to it while carrying out a Ready (after the bytes are durable);
 * the state machine only reads. `MemoryStorage` keeps everything in memory;
 * the phase-4 driver backs the same interface with `@distkv/wal`.
 */
import { assert } from '@distkv/core';
import type { ConfState } from './membership.js';
import type { Entry, HardState, LogIndex, NodeId, Snapshot, Term } from './types.js';

// #region log-storage
export interface LogStorage {
  /** What was persisted before a restart. */
  initialState(): HardState;
  /**
   * Index of the first entry still in the log: the snapshot's index + 1, or
   * lower when compaction kept a catch-up tail of entries the snapshot also
   * covers (see `catchUpStart`).
   */
  firstIndex(): LogIndex;
  /** Index of the last entry (the snapshot's index when the log is empty). */
  lastIndex(): LogIndex;
  /** Term of the entry at `index`, of the one just before firstIndex, or undefined if compacted or absent. */
  term(index: LogIndex): Term | undefined;
  /** Entries in [lo, hi), at least one if any, stopping before `bytesMax` payload bytes would be exceeded. */
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[];
  /** The latest snapshot (index 0 and empty data before the first compaction). */
  snapshot(): Snapshot;
}
// #endregion log-storage

const emptySnapshot: Snapshot = { meta: { index: 0 as LogIndex, term: 0 as Term }, data: new Uint8Array(0) };

/** Entries whose payload bytes fit `bytesMax`, always at least the first. */
export function limitBytes(entries: Entry[], bytesMax: number): Entry[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += (entries[i] as Entry).payload.byteLength;
    if (bytes > bytesMax && i > 0) return entries.slice(0, i);
  }
  return entries;
}

// #region catch-up-start
/**
 * Where compaction at `index` cuts the log so that a catch-up tail stays
 * (etcd's SnapshotCatchUpEntries): at most `entriesMax` entries up to
 * `index`, holding at most `bytesMax` payload bytes, and never before the
 * log's current start. A follower whose next entry lies in the tail gets
 * AppendEntries, not the whole store by snapshot. Returns the index whose
 * entry becomes the log's start (its term kept, its payload dropped).
 */
export function catchUpStart(log: LogStorage, index: LogIndex, entriesMax: number, bytesMax: number): LogIndex {
  const floor = Math.max(log.firstIndex() - 1, index - entriesMax) as LogIndex;
  if (floor >= index) return index;
  const tail = log.entries((floor + 1) as LogIndex, (index + 1) as LogIndex, Number.MAX_SAFE_INTEGER);
  let bytes = 0;
  let i = tail.length;
  while (i > 0 && bytes + (tail[i - 1] as Entry).payload.byteLength <= bytesMax) {
    i--;
    bytes += (tail[i] as Entry).payload.byteLength;
  }
  return (floor + i) as LogIndex;
}
// #endregion catch-up-start

export class MemoryStorage implements LogStorage {
  #hardState: HardState = { term: 0 as Term, vote: null as NodeId | null, commit: 0 as LogIndex };
  #snapshot: Snapshot = emptySnapshot;
  /** The entry just before the log: the snapshot's, or an earlier one when a catch-up tail is kept. */
  #start: { index: LogIndex; term: Term } = { index: 0 as LogIndex, term: 0 as Term };
  /** entries[i] has index start.index + 1 + i. */
  #entries: Entry[] = [];

  initialState(): HardState {
    return this.#hardState;
  }
  firstIndex(): LogIndex {
    return (this.#start.index + 1) as LogIndex;
  }
  lastIndex(): LogIndex {
    return (this.#start.index + this.#entries.length) as LogIndex;
  }
  term(index: LogIndex): Term | undefined {
    const offset = this.#start.index;
    if (index === offset) return this.#start.term;
    if (index < offset) return undefined;
    return this.#entries[index - offset - 1]?.term;
  }
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] {
    assert(lo >= this.firstIndex(), 'entries below firstIndex were compacted');
    assert(hi <= this.lastIndex() + 1, 'entries beyond lastIndex do not exist');
    const offset = this.#start.index + 1;
    return limitBytes(this.#entries.slice(lo - offset, hi - offset), bytesMax);
  }
  snapshot(): Snapshot {
    return this.#snapshot;
  }

  // ---- written by the driver, after the data is durable ---------------------
  setHardState(hardState: HardState): void {
    this.#hardState = hardState;
  }

  /** Appends entries, first dropping any stored entry at or after entries[0].index. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    for (let i = 1; i < entries.length; i++) {
      assert((entries[i] as Entry).index === first.index + i, 'appended entries are contiguous');
    }
    assert(first.index > this.#snapshot.meta.index, 'cannot overwrite entries covered by the snapshot');
    assert(first.index <= this.lastIndex() + 1, 'appending after a gap');
    // In place: the common case appends at the end, and a copy of the whole
    // log per append cost O(log length) on every write (issue 18's profile).
    this.#entries.length = first.index - this.#start.index - 1;
    for (const e of entries) this.#entries.push(e);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index >= this.#snapshot.meta.index, 'snapshots only move forward');
    this.#snapshot = snapshot;
    this.#start = { index: snapshot.meta.index, term: snapshot.meta.term };
    this.#entries = [];
  }

  /**
   * Records the application's snapshot at `index` (already applied) and
   * drops the entries up to `keepFrom` (default `index`; lower keeps a
   * catch-up tail, see `catchUpStart`).
   */
  /** `conf`: the members in force at `index` (RaftNode.confAt), kept in the snapshot's meta. */
  compact(index: LogIndex, data: Uint8Array, keepFrom: LogIndex = index, conf?: ConfState): void {
    const t = this.term(index);
    assert(t !== undefined, 'compaction point must be in the log');
    assert(index <= this.lastIndex(), 'cannot compact beyond the last index');
    assert(keepFrom <= index, 'the catch-up tail ends at the snapshot');
    if (index === this.#snapshot.meta.index) return;
    this.#snapshot = { meta: conf === undefined ? { index, term: t } : { index, term: t, conf }, data };
    if (keepFrom <= this.#start.index) return;
    const startTerm = this.term(keepFrom);
    assert(startTerm !== undefined, 'the log starts at an entry it holds');
    this.#entries = this.#entries.slice(keepFrom - this.#start.index);
    this.#start = { index: keepFrom, term: startTerm };
  }

  /**
   * At startup: the snapshot, and the log read back from disk, which begins
   * right after `start` (at or before the snapshot's index: a catch-up tail
   * kept by compaction) and runs on past it.
   */
  restore(snapshot: Snapshot, start: { index: LogIndex; term: Term }, entries: readonly Entry[]): void {
    assert(start.index <= snapshot.meta.index, 'the log starts at or before the snapshot');
    assert(
      start.index === snapshot.meta.index || start.index + entries.length >= snapshot.meta.index,
      'a tail reaches the snapshot',
    );
    this.#snapshot = snapshot;
    this.#start = start;
    this.#entries = [];
    if (entries.length > 0) {
      assert((entries[0] as Entry).index === start.index + 1, 'the log follows its start');
      for (let i = 1; i < entries.length; i++) {
        assert((entries[i] as Entry).index === start.index + 1 + i, 'restored entries are contiguous');
      }
      this.#entries = [...entries];
    }
    assert(this.term(snapshot.meta.index) === snapshot.meta.term, 'the tail agrees with the snapshot');
  }
}
