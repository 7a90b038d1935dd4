/**
 * A simulated disk. Writes land in a page cache (`pending`) and become
 * durable only at `sync()`. A crash keeps a random prefix of the pending
 * writes (a torn tail: some reached the platter, in order) and loses the rest.
 */
import { assert } from '@distkv/core';
import type { Entry, HardState, LogIndex, NodeId, Snapshot, Term } from '../types.js';

export type DiskWrite =
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'entries'; entries: readonly Entry[] }
  | { kind: 'compact'; snapshot: Snapshot; keepFrom?: LogIndex };

export interface DiskState {
  hardState: HardState;
  snapshot: Snapshot;
  /** The entry just before the log, when compaction kept a catch-up tail before the snapshot; else the snapshot's. */
  start?: { index: LogIndex; term: Term };
  /** entries[i] has index (start ?? snapshot.meta).index + 1 + i. */
  entries: Entry[];
}

function startOf(s: DiskState): { index: LogIndex; term: Term } {
  return s.start ?? s.snapshot.meta;
}

export class SimDisk {
  synced: DiskState = {
    hardState: { term: 0 as Term, vote: null as NodeId | null, commit: 0 as LogIndex },
    snapshot: { meta: { index: 0 as LogIndex, term: 0 as Term }, data: new Uint8Array(0) },
    entries: [],
  };
  pending: DiskWrite[] = [];
  syncCount = 0;

  write(w: DiskWrite): void {
    this.pending.push(w);
  }

  sync(): void {
    for (const w of this.pending) applyWrite(this.synced, w);
    this.pending = [];
    this.syncCount++;
  }

  /** Power loss: the first `survivingWrites` pending writes reached the disk, the rest did not. */
  crash(survivingWrites: number): void {
    assert(survivingWrites >= 0 && survivingWrites <= this.pending.length, 'surviving writes are a prefix of the pending ones');
    for (const w of this.pending.slice(0, survivingWrites)) applyWrite(this.synced, w);
    this.pending = [];
  }

  /** The term of `index` in the durable state, or undefined. */
  durableTerm(index: LogIndex): Term | undefined {
    const s = this.synced;
    const start = startOf(s);
    if (index === start.index) return start.term;
    if (index < start.index) return undefined;
    return s.entries[index - start.index - 1]?.term;
  }

  /** Whether the durable state holds index (in the log, or covered by the snapshot). */
  holds(index: LogIndex, t: Term): boolean {
    if (index <= this.synced.snapshot.meta.index) return true;
    return this.durableTerm(index) === t;
  }
}

function applyWrite(s: DiskState, w: DiskWrite): void {
  switch (w.kind) {
    case 'hardState':
      s.hardState = w.hardState;
      return;
    case 'snapshot':
      s.snapshot = w.snapshot;
      delete s.start;
      s.entries = [];
      return;
    case 'entries': {
      const first = w.entries[0];
      if (first === undefined) return;
      assert(first.index > s.snapshot.meta.index, 'disk writes never rewrite what the snapshot covers');
      const keep = first.index - startOf(s).index - 1;
      assert(keep >= 0 && keep <= s.entries.length, 'disk writes are contiguous with the durable log');
      s.entries = s.entries.slice(0, keep).concat(w.entries);
      return;
    }
    case 'compact': {
      if (w.snapshot.meta.index <= s.snapshot.meta.index) return;
      const start = startOf(s);
      const keepFrom = Math.max(w.keepFrom ?? w.snapshot.meta.index, start.index) as LogIndex;
      const drop = keepFrom - start.index;
      const startTerm = drop === 0 ? start.term : s.entries[drop - 1]?.term;
      assert(startTerm !== undefined, 'the log starts at an entry it holds');
      s.entries = s.entries.slice(drop);
      s.snapshot = w.snapshot;
      if (keepFrom === w.snapshot.meta.index) delete s.start;
      else s.start = { index: keepFrom, term: startTerm };
      return;
    }
  }
}
