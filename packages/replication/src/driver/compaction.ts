/**
 * Compaction (thesis §5): the store is snapshotted at its applied index and
 * the log is cut there, every `compactEveryEntries` applied entries or when
 * asked (`ReplicationNode.compact`). It runs inside the Ready pump, between
 * two Readys, so the snapshot and the log it replaces always agree. The
 * log keeps a catch-up tail before the snapshot (`CatchUpTail`, from the
 * limits snapshotCatchUpEntries and snapshotCatchUpBytes), so a follower
 * that missed a few entries is not sent the whole store.
 */

import type { LogLine } from '@distkv/core';
import type { ReplicationLimits } from '../config.js';
import type { ConfState } from '../membership.js';
import type { LogIndex } from '../types.js';

/** How much of the log to keep before the snapshot's index. */
export interface CatchUpTail {
  entries: number;
  bytes: number;
}

export function catchUpTailOf(limits: Pick<ReplicationLimits, 'snapshotCatchUpEntries' | 'snapshotCatchUpBytes'>): CatchUpTail {
  return { entries: limits.snapshotCatchUpEntries, bytes: limits.snapshotCatchUpBytes };
}

/** The part of the DurableLog compaction uses. */
export interface CompactableLog {
  readonly storage: { snapshot(): { meta: { index: LogIndex; term: number } }; firstIndex(): LogIndex };
  compact(index: LogIndex, data: Uint8Array, tail: CatchUpTail, conf?: ConfState): Promise<void>;
}

/** What is snapshotted: the applied state. */
export interface Snapshottable {
  snapshot(): Iterable<Uint8Array>;
}

export class Compaction {
  readonly #log: CompactableLog;
  readonly #everyEntries: number;
  readonly #tail: CatchUpTail;
  readonly #logLine: LogLine;
  readonly #confAt: ((index: LogIndex) => ConfState) | undefined;
  #waiters: Array<(index: LogIndex | undefined) => void> = [];

  constructor(
    log: CompactableLog,
    everyEntries: number,
    tail: CatchUpTail = { entries: 0, bytes: 0 },
    logLine: LogLine = () => undefined,
    /** The members in force at an index (RaftNode.confAt), kept in each snapshot. */
    confAt?: (index: LogIndex) => ConfState,
  ) {
    this.#confAt = confAt;
    this.#log = log;
    this.#everyEntries = everyEntries;
    this.#tail = tail;
    this.#logLine = logLine;
  }

  /** Someone called `request()` and waits for the next compaction. */
  get requested(): boolean {
    return this.#waiters.length > 0;
  }

  /** Resolves with the index compacted at, or undefined if nothing was applied since the last snapshot. */
  request(): Promise<LogIndex | undefined> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Compacts if `compactEveryEntries` were applied since the last snapshot. */
  async runIfDue(applied: LogIndex, store: Snapshottable): Promise<void> {
    if (applied - this.#snapshotIndex() >= this.#everyEntries) await this.#run(applied, store);
  }

  /** Compacts for those who asked, and answers them. */
  async runRequested(applied: LogIndex, store: Snapshottable): Promise<void> {
    if (!this.requested) return;
    const at = await this.#run(applied, store);
    for (const w of this.#waiters.splice(0)) w(at);
  }

  #snapshotIndex(): LogIndex {
    return this.#log.storage.snapshot().meta.index;
  }

  async #run(applied: LogIndex, store: Snapshottable): Promise<LogIndex | undefined> {
    if (applied <= this.#snapshotIndex()) return undefined;
    const data = Buffer.concat([...store.snapshot()]);
    await this.#log.compact(applied, data, this.#tail, this.#confAt?.(applied));
    const { term } = this.#log.storage.snapshot().meta;
    this.#logLine(
      `snapshot: took a snapshot at index ${applied} (term ${term}, ${data.byteLength} bytes); the log keeps entries from ${this.#log.storage.firstIndex()}`,
    );
    return applied;
  }
}
