/**
 * The Ready pump: the one loop that carries out each Ready of the state
 * machine in the documented order — persist through the WAL, send, apply
 * to the store — and then answers whoever waited on it: proposals (at
 * their apply, or in async mode at the leader's fsync), and anyone waiting
 * until this node has applied an index. Every input kicks it; it runs one
 * Ready at a time and never two loops at once.
 */

import { type Command, type CommandResult, decodeCommand, type LogLine, Store, type StoreOptions } from '@distkv/core';
import type { ReplicationMode } from '../config.js';
import { replicationError } from '../errors.js';
import { isConfPayload } from '../membership.js';
import type { Proposal, RaftNode, ReadState, Ready, SoftState } from '../raft.js';
import type { Entry, LogIndex, Message, Term } from '../types.js';
import type { Compaction } from './compaction.js';
import { RaftEventLog } from './event-log.js';

export interface ProposeResult {
  index: LogIndex;
  term: Term;
  /** sync mode: the command's result as the leader applied it. async mode: undefined (acknowledged before applying). */
  result: CommandResult | undefined;
}

interface Pending {
  term: Term;
  /** Async mode: still wait for the apply (the caller needs the real result). */
  awaitApply: boolean;
  resolve: (r: ProposeResult) => void;
  reject: (e: Error) => void;
}

/** Async mode acknowledges these at the leader's fsync: their result never depends on the state. */
export function blindResult(command: Command): CommandResult | undefined {
  if (command.op === 'put' && command.when === 'always' && !command.returnPrevious)
    return { ok: true, op: 'put', written: true, previous: undefined };
  if (command.op === 'mput' && command.ifNoneExist !== true) return { ok: true, op: 'mput', written: command.entries.length };
  return undefined;
}

export interface ReadyPumpHandle {
  readonly raft: Pick<RaftNode, 'hasReady' | 'ready' | 'advance' | 'takeCommitted' | 'log' | 'term' | 'id'>;
  readonly log: { persist(rd: Ready): Promise<void> };
  readonly transport: { sendAll(messages: readonly Message[]): void };
  readonly mode: ReplicationMode;
  readonly compaction: Compaction;
  /** A snapshot from the leader replaces the store with a fresh one built with these. */
  readonly storeOptions: StoreOptions;
  logLine: LogLine;
  onReadStates(readStates: readonly ReadState[]): void;
  /** The role or the known leader changed. */
  onSoftState(soft: SoftState): void;
  /** Carrying out a Ready failed (the disk, most likely): the node must stop. */
  onFatal(err: Error): void;
  /** Each Ready, before anything of it is sent: the driver reaches members the Ready's messages may be the first to address. */
  onReady?(rd: Ready): void;
}

export class ReadyPump {
  readonly #handle: ReadyPumpHandle;
  #store: Store;
  #pumping = false;
  #stopped = false;
  readonly #pending = new Map<number, Pending>();
  /** Who waits until this node has applied an index: forwarded writes (read-your-writes here), read barriers. */
  #appliedWaiters: Array<{ index: number; done: () => void }> = [];
  #idleWaiters: Array<() => void> = [];
  #snapshotsInstalled = 0;
  readonly #events: RaftEventLog;

  constructor(handle: ReadyPumpHandle, store: Store) {
    this.#handle = handle;
    this.#store = store;
    this.#events = new RaftEventLog(handle.raft.id, handle.logLine);
  }

  /** The applied state; replaced when a snapshot is installed. */
  get store(): Store {
    return this.#store;
  }

  get snapshotsInstalled(): number {
    return this.#snapshotsInstalled;
  }

  /** Answers a proposal the state machine accepted, per the mode (`awaitApply`: at its apply even in async mode). */
  track(p: Proposal, awaitApply: boolean): Promise<ProposeResult> {
    return new Promise((resolve, reject) => this.#pending.set(p.index, { term: p.term, awaitApply, resolve, reject }));
  }

  /** This node stopped leading: its proposals will not be answered here. */
  failProposals(error: (index: number) => Error): void {
    for (const [index, p] of this.#pending) {
      this.#pending.delete(index);
      p.reject(error(index));
    }
  }

  whenApplied(index: number, done: () => void): void {
    if (this.#handle.raft.log.applied >= index) done();
    else this.#appliedWaiters.push({ index, done });
  }

  /** Resolves once there is no Ready to carry out. */
  idle(): Promise<void> {
    if (!this.#pumping && !this.#handle.raft.hasReady()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  kick(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      // An answer may have committed entries while a Ready is being persisted: apply them now.
      const entries = this.#handle.raft.takeCommitted();
      if (entries.length > 0) {
        this.#applyEntries(entries);
        if (this.#appliedWaiters.length > 0) this.#wakeApplied();
      }
      return;
    }
    this.#pumping = true;
    void this.#pump().then(
      () => {
        this.#pumping = false;
        if (!this.#stopped && (this.#handle.raft.hasReady() || this.#handle.compaction.requested)) this.kick();
        else for (const w of this.#idleWaiters.splice(0)) w();
      },
      (err: unknown) => {
        this.#pumping = false;
        this.#handle.onFatal(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /** No more Readys; proposals fail NODE_STOPPED (they may still apply), applied-waiters are dropped. */
  stop(): void {
    this.#stopped = true;
    this.failProposals(() =>
      replicationError('NODE_STOPPED', 'the node stopped before the proposal was acknowledged; it may still apply'),
    );
    this.#appliedWaiters = [];
  }

  /** Resolves once the Ready being carried out, if any, is done. */
  async drained(): Promise<void> {
    while (this.#pumping) await new Promise((r) => setImmediate(r));
  }

  // #region pump
  async #pump(): Promise<void> {
    const { raft, log, transport, mode, compaction } = this.#handle;
    while (!this.#stopped && raft.hasReady()) {
      const rd = raft.ready();
      this.#events.log(rd.events); // what it decided, for the operator: campaigns, terms, leaders, step-downs
      this.#handle.onReady?.(rd);
      // Committed entries are on a majority's disks already, so applying them
      // (in memory) need not wait for this Ready's own fsync: replies to
      // clients leave one fsync earlier. A snapshot keeps the strict order.
      const applyFirst = rd.snapshot === undefined;
      if (applyFirst) this.#apply(rd);
      if (rd.earlyMessages.length > 0) transport.sendAll(rd.earlyMessages); // 0. a leader's appends, alongside its fsync
      await log.persist(rd); // 1. persist and sync
      transport.sendAll(rd.messages); // 2. send
      if (mode === 'async' && rd.leaderDurableIndex !== undefined) this.#ackDurable(rd.leaderDurableIndex);
      if (rd.snapshot !== undefined) {
        await this.#restore(rd.snapshot.data); // 3. apply
        this.#snapshotsInstalled++;
        this.#handle.logLine(
          `snapshot: installed a snapshot at index ${rd.snapshot.meta.index} (term ${rd.snapshot.meta.term}, ${rd.snapshot.data.byteLength} bytes) from the leader of term ${raft.term}`,
        );
      }
      if (!applyFirst) this.#apply(rd);
      raft.advance(rd);
      if (rd.readStates.length > 0) this.#handle.onReadStates(rd.readStates);
      if (rd.softState !== undefined) this.#handle.onSoftState(rd.softState);
      if (this.#appliedWaiters.length > 0) this.#wakeApplied();
      await compaction.runIfDue(raft.log.applied, this.#store);
    }
    if (!this.#stopped) await compaction.runRequested(raft.log.applied, this.#store);
  }
  // #endregion pump

  #wakeApplied(): void {
    const applied = this.#handle.raft.log.applied;
    const still: Array<{ index: number; done: () => void }> = [];
    for (const w of this.#appliedWaiters) {
      if (w.index <= applied) w.done();
      else still.push(w);
    }
    this.#appliedWaiters = still;
  }

  // #region ack-durable
  /**
   * Async mode: the leader's own fsync acknowledges its proposals. One
   * proposed in an older term (this node lost and regained leadership
   * between two Readys) is no longer this term's to acknowledge, but it is
   * answered now, not left to the write timeout: if another term's entry
   * stands at its index it was overwritten, which a committed entry never
   * is, so it will never apply (definite); if its entry is still there, or
   * compacted away, it may still commit (indefinite).
   */
  #ackDurable(index: LogIndex): void {
    const { raft } = this.#handle;
    for (const [i, p] of this.#pending) {
      if (i > index || p.awaitApply) continue;
      this.#pending.delete(i);
      if (p.term === raft.term) {
        p.resolve({ index: i as LogIndex, term: p.term, result: undefined });
        continue;
      }
      const standing = raft.log.term(i as LogIndex);
      if (standing !== undefined && standing !== p.term)
        p.reject(replicationError('PROPOSAL_DROPPED', `entry ${p.term}/${i} was overwritten by term ${standing}`));
      else
        p.reject(
          replicationError(
            'TIMEOUT',
            `leadership changed (term ${p.term} to ${raft.term}) before entry ${i} committed; it may still apply`,
          ),
        );
    }
  }
  // #endregion ack-durable

  #apply(rd: Ready): void {
    this.#applyEntries(rd.committedEntries);
  }

  #applyEntries(entries: readonly Entry[]): void {
    for (const e of entries) {
      // A no-op, or a membership change (Raft's own entry, in force since it was appended): the store never sees either.
      const own = e.payload.byteLength === 0 || isConfPayload(e.payload);
      const result = own ? undefined : this.#store.apply(decodeCommand(e.payload, this.#store.limits));
      const p = this.#pending.get(e.index);
      if (p === undefined) continue;
      this.#pending.delete(e.index);
      if (p.term === e.term) p.resolve({ index: e.index, term: e.term, result });
      else p.reject(replicationError('PROPOSAL_DROPPED', `entry ${e.term}/${e.index} was committed where the proposal stood`));
    }
  }

  async #restore(data: Uint8Array): Promise<void> {
    const store = new Store(this.#handle.storeOptions);
    if (data.byteLength > 0) await store.restore([data]);
    this.#store = store;
  }
}
