/**
 * The stable part of the log, as the state machine reads it. The driver owns
 * it and writes to it while carrying out a Ready (after the bytes are durable);
 * the state machine only reads. `MemoryStorage` keeps everything in memory;
 * the phase-4 driver backs the same interface with `@distkv/wal`.
 */
import { assert } from '@distkv/core';
import type { Entry, HardState, LogIndex, NodeId, Snapshot, Term } from './types.js';

// #region log-storage
export interface LogStorage {
  /** What was persisted before a restart. */
  initialState(): HardState;
  /** Index of the first entry still in the log (the snapshot's index + 1). */
  firstIndex(): LogIndex;
  /** Index of the last entry (the snapshot's index when the log is empty). */
  lastIndex(): LogIndex;
  /** Term of the entry at `index`, of the snapshot at its index, or undefined if compacted or absent. */
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

export class MemoryStorage implements LogStorage {
  #hardState: HardState = { term: 0 as Term, vote: null as NodeId | null, commit: 0 as LogIndex };
  #snapshot: Snapshot = emptySnapshot;
  /** entries[i] has index snapshot.meta.index + 1 + i. */
  #entries: Entry[] = [];

  initialState(): HardState {
    return this.#hardState;
  }
  firstIndex(): LogIndex {
    return (this.#snapshot.meta.index + 1) as LogIndex;
  }
  lastIndex(): LogIndex {
    return (this.#snapshot.meta.index + this.#entries.length) as LogIndex;
  }
  term(index: LogIndex): Term | undefined {
    const offset = this.#snapshot.meta.index;
    if (index === offset) return this.#snapshot.meta.term;
    if (index < offset) return undefined;
    return this.#entries[index - offset - 1]?.term;
  }
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] {
    assert(lo >= this.firstIndex(), 'entries below firstIndex were compacted');
    assert(hi <= this.lastIndex() + 1, 'entries beyond lastIndex do not exist');
    const offset = this.#snapshot.meta.index + 1;
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
    this.#entries = this.#entries.slice(0, first.index - this.#snapshot.meta.index - 1).concat(entries);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index >= this.#snapshot.meta.index, 'snapshots only move forward');
    this.#snapshot = snapshot;
    this.#entries = [];
  }

  /** Records the application's snapshot at `index` (already applied) and drops the entries it covers. */
  compact(index: LogIndex, data: Uint8Array): void {
    const t = this.term(index);
    assert(t !== undefined, 'compaction point must be in the log');
    assert(index <= this.lastIndex(), 'cannot compact beyond the last index');
    if (index === this.#snapshot.meta.index) return;
    this.#entries = this.#entries.slice(index - this.#snapshot.meta.index);
    this.#snapshot = { meta: { index, term: t }, data };
  }
}
