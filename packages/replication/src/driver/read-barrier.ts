/**
 * The read barrier: what a node waits for before it serves a read from its
 * store, so that reads on any node are linearizable (thesis §6.4). The
 * leader asks its state machine for a read index, one `readIndex` per turn
 * of the event loop for all the reads that came in it; a follower asks the
 * leader (forwarding.ts). Either way the read is served once this node has
 * applied that index.
 */

import { DistkvError } from '@distkv/core';
import type { ReadMode } from '../config.js';
import { replicationError } from '../errors.js';
import type { ReadState } from '../raft.js';
import type { LogIndex, NodeId, Role } from '../types.js';

interface ReadWaiter {
  resolve: (index: LogIndex) => void;
  reject: (e: Error) => void;
}

export interface ReadBarrierHandle {
  readonly self: NodeId;
  readonly readMode: ReadMode;
  readonly writeTimeoutMs: number;
  readonly raft: { readonly role: Role; readonly leader: NodeId | null; readIndex(id: string): void };
  /** Lease reads trust the tick count: the driver brings it up to date with the clock. */
  catchUpTicks(): void;
  /** There may be a Ready to carry out. */
  kick(): void;
  /** Follower: asks the leader for a read index. */
  forwardRead(leader: NodeId | null): Promise<LogIndex>;
  /** Calls `done` once this node has applied `index` (at once if it has); never, if the node stops first. */
  whenApplied(index: number, done: () => void): void;
}

export class ReadBarrier {
  readonly #handle: ReadBarrierHandle;
  #stopped = false;
  /** Reads that asked for a read index in this turn of the event loop: one `readIndex` serves them all. */
  #batch: ReadWaiter[] = [];
  #nextReadId = 1;
  /** Leader: read indexes asked of the state machine, by id, not yet in `Ready.readStates`. */
  readonly #waiting = new Map<string, { waiters: ReadWaiter[]; timer: NodeJS.Timeout }>();

  constructor(handle: ReadBarrierHandle) {
    this.#handle = handle;
  }

  // #region read-barrier
  /**
   * KvBackend: called before a read (GET, MGET, EXISTS, SCAN, …) is served
   * from `store`. `undefined`: serve it now (`stale`: what this node has
   * applied, possibly behind the leader). Otherwise a promise that resolves
   * once this node has applied a read index the leader confirmed (thesis
   * §6.4): the leader asks its state machine (`readIndex`, batched per
   * turn of the event loop); a follower asks the leader over the peer
   * connection, then waits for its own apply, so any node serves
   * linearizable reads. Rejects TRYAGAIN when no leader is known or the
   * leader lost its role, TIMEOUT after writeTimeoutMs — a read has no
   * effect, so either is safe to retry.
   */
  barrier(): Promise<void> | undefined {
    const { readMode, raft } = this.#handle;
    if (readMode === 'stale') return undefined;
    if (this.#stopped) return Promise.reject(replicationError('NODE_STOPPED', 'the node is stopped'));
    const index = raft.role === 'leader' ? this.leaderReadIndex() : this.#handle.forwardRead(raft.leader);
    return index.then((i) => new Promise<void>((resolve) => this.#handle.whenApplied(i, resolve)));
  }
  // #endregion read-barrier

  /** Leader: a read index its state machine confirmed, for a local read or one a follower forwarded. */
  leaderReadIndex(): Promise<LogIndex> {
    return new Promise((resolve, reject) => {
      if (this.#batch.length === 0) queueMicrotask(() => this.#flush());
      this.#batch.push({ resolve, reject });
    });
  }

  /** Ready.readStates: the confirmed read indexes. */
  onReadStates(readStates: readonly ReadState[]): void {
    for (const rs of readStates) {
      const r = this.#waiting.get(rs.id);
      if (r === undefined) continue;
      this.#waiting.delete(rs.id);
      clearTimeout(r.timer);
      for (const w of r.waiters) w.resolve(rs.index);
    }
  }

  /** A leader that stepped down will never see its unanswered read indexes confirmed. */
  leadershipLost(): void {
    if (this.#waiting.size === 0) return;
    this.#failWaiting(
      replicationError('TRYAGAIN', `node ${this.#handle.self} lost leadership before confirming the read; retry`),
    );
  }

  stop(): void {
    this.#stopped = true;
    this.#failWaiting(replicationError('NODE_STOPPED', 'the node stopped'));
  }

  #failWaiting(e: Error): void {
    for (const { waiters, timer } of this.#waiting.values()) {
      clearTimeout(timer);
      for (const w of waiters) w.reject(e);
    }
    this.#waiting.clear();
  }

  #flush(): void {
    const waiters = this.#batch;
    this.#batch = [];
    if (waiters.length === 0) return;
    if (this.#stopped) {
      for (const w of waiters) w.reject(replicationError('NODE_STOPPED', 'the node is stopped'));
      return;
    }
    const { self, raft, writeTimeoutMs } = this.#handle;
    this.#handle.catchUpTicks();
    const id = `r${this.#nextReadId++}`;
    try {
      raft.readIndex(id);
    } catch (err) {
      const e =
        err instanceof DistkvError && err.code === 'NOT_LEADER'
          ? replicationError('TRYAGAIN', `node ${self} is not the leader (leader: ${raft.leader ?? 'unknown'}); retry`)
          : (err as Error);
      for (const w of waiters) w.reject(e);
      return;
    }
    const timer = setTimeout(() => {
      this.#waiting.delete(id);
      const e = replicationError('TIMEOUT', `no majority confirmed the read within ${writeTimeoutMs} ms`);
      for (const w of waiters) w.reject(e);
    }, writeTimeoutMs);
    this.#waiting.set(id, { waiters, timer });
    this.#handle.kick();
  }
}
