/**
 * Forwarding: how any node serves writes and linearizable reads although
 * only the leader can do either. A follower sends the request over the
 * peer connection (see control-frames.ts) and waits (`Forwarder`); the
 * leader carries it out and answers under the same request id
 * (`ForwardServer`). Writes and reads go through one request table rule:
 * bounded, timed out, failed at once when nothing could be sent, and
 * answered early when the leader changes or the node stops.
 */

import { type Command, type CommandResult, DistkvError, decodeCommand, encodeCommand, type StoreLimits } from '@distkv/core';
import type { ReplicationMode } from '../config.js';
import { replicationError } from '../errors.js';
import type { LogIndex, NodeId, Role } from '../types.js';
import { type ControlFrame, encodeControl } from './control-frames.js';
import type { ForwardLimits } from './options.js';

/** The part of the transport forwarding uses. */
export interface ControlSender {
  /** False when nothing was sent (no link to `to`, or the transport is closed). */
  sendControl(to: NodeId, frame: Buffer): boolean;
}

/** A request this follower sent to the leader, not answered yet. */
interface Waiting<T> {
  resolve: (value: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** The leader it was sent to. */
  leader: NodeId;
}

/** What a kind of request means when it fails: a write may still apply once sent, a read never has an effect. */
interface RequestKind {
  noun: 'writes' | 'reads';
  noLeader(self: NodeId): DistkvError;
  notSent(leader: NodeId): DistkvError;
  timedOut(leader: NodeId, timeoutMs: number): DistkvError;
  replaced(leader: NodeId): DistkvError;
  stopped(): DistkvError;
  /** A read has no effect, so every error the leader sends for it is definite. */
  effectFree: boolean;
}

const WRITE: RequestKind = {
  noun: 'writes',
  noLeader: (self) => replicationError('TRYAGAIN', `node ${self} knows no leader yet; nothing was done, retry`),
  notSent: (leader) => replicationError('TRYAGAIN', `no connection to leader ${leader}; nothing was sent, retry`),
  timedOut: (leader, ms) =>
    replicationError('TIMEOUT', `no answer from leader ${leader} within ${ms} ms; the write may still apply`),
  replaced: (leader) =>
    replicationError('TIMEOUT', `leader ${leader} was replaced before it answered; the write may still apply`),
  stopped: () => replicationError('NODE_STOPPED', 'the node stopped before the leader answered; the write may still apply'),
  effectFree: false,
};

const READ: RequestKind = {
  noun: 'reads',
  noLeader: (self) => replicationError('TRYAGAIN', `node ${self} knows no leader yet; retry the read`),
  notSent: (leader) => replicationError('TRYAGAIN', `no connection to leader ${leader}; retry the read`),
  timedOut: (leader, ms) => replicationError('TIMEOUT', `leader ${leader} did not confirm a read within ${ms} ms`),
  replaced: (leader) => replicationError('TRYAGAIN', `leader ${leader} was replaced before it confirmed the read; retry`),
  stopped: () => replicationError('NODE_STOPPED', 'the node stopped'),
  effectFree: true,
};

export interface ForwarderHandle {
  readonly self: NodeId;
  readonly transport: ControlSender;
  readonly limits: Readonly<ForwardLimits>;
  readonly mode: ReplicationMode;
  /** Calls `done` once this node has applied `index` (at once if it has); never, if the node stops first. */
  whenApplied(index: number, done: () => void): void;
}

/** The follower's side: requests sent to the leader and waiting for its answer. */
export class Forwarder {
  readonly #handle: ForwarderHandle;
  readonly #writes = new Map<number, Waiting<CommandResult>>();
  readonly #reads = new Map<number, Waiting<LogIndex>>();
  /** One id space for both tables, so an error reply names one request. */
  #nextRequestId = 1;

  constructor(handle: ForwarderHandle) {
    this.#handle = handle;
  }

  /** Forwarded writes not answered yet (`forwards_pending` in INFO). */
  get writesPending(): number {
    return this.#writes.size;
  }

  /** Resolves with the leader's result once this node applied the entry too, so a client reads its write here. */
  write(leader: NodeId | null, command: Command): Promise<CommandResult> {
    const self = this.#handle.self;
    return this.#ask(this.#writes, WRITE, leader, (requestId) =>
      encodeControl({ type: 'forward', from: self, requestId, command: encodeCommand(command) }),
    );
  }

  /** Resolves with a read index the leader confirmed; the caller waits for its own apply. */
  read(leader: NodeId | null): Promise<LogIndex> {
    const self = this.#handle.self;
    return this.#ask(this.#reads, READ, leader, (requestId) => encodeControl({ type: 'read', from: self, requestId }));
  }

  // #region forward-request
  /**
   * The one way a request reaches the leader, for writes and reads alike:
   * TRYAGAIN (definite) when no leader is known or the frame could not be
   * sent, FORWARDS_FULL past forwardsPendingMax, and the kind's own
   * TIMEOUT after writeTimeoutMs (indefinite for a write: it may apply).
   */
  #ask<T>(table: Map<number, Waiting<T>>, kind: RequestKind, leader: NodeId | null, frame: (id: number) => Buffer): Promise<T> {
    const { self, transport, limits } = this.#handle;
    if (leader === null) return Promise.reject(kind.noLeader(self));
    if (table.size >= limits.forwardsPendingMax) {
      return Promise.reject(
        replicationError('FORWARDS_FULL', `${limits.forwardsPendingMax} ${kind.noun} already wait for the leader`),
      );
    }
    const requestId = this.#nextRequestId;
    this.#nextRequestId = (this.#nextRequestId % 0xffff_ffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        table.delete(requestId);
        reject(kind.timedOut(leader, limits.writeTimeoutMs));
      }, limits.writeTimeoutMs);
      table.set(requestId, { resolve, reject, timer, leader });
      if (!transport.sendControl(leader, frame(requestId))) {
        // Nothing left this node, so nothing can apply: definite, whatever the kind.
        take(table, requestId);
        reject(kind.notSent(leader));
      }
    });
  }
  // #endregion forward-request

  /** The leader's answer. One that comes after its request timed out finds nothing and is dropped. */
  onReply(f: Extract<ControlFrame, { type: 'reply' | 'reply-error' | 'read-reply' }>): void {
    if (f.type === 'read-reply') {
      take(this.#reads, f.requestId)?.resolve(f.index as LogIndex);
      return;
    }
    if (f.type === 'reply-error') {
      const read = this.#reads.has(f.requestId);
      const waiting = read ? take(this.#reads, f.requestId) : take(this.#writes, f.requestId);
      waiting?.reject(new DistkvError(f.code, f.message, { definite: read || f.definite }));
      return;
    }
    const waiting = this.#writes.get(f.requestId);
    if (waiting === undefined) return;
    const done = (): void => {
      if (this.#writes.get(f.requestId) !== waiting) return; // timed out meanwhile
      take(this.#writes, f.requestId);
      waiting.resolve(f.result);
    };
    if (f.index === 0 || this.#handle.mode === 'async') done();
    else this.#handle.whenApplied(f.index, done);
  }

  /** What waited on another leader is answered now, not at its timeout, so clients retry at once. */
  leaderChanged(leader: NodeId | null): void {
    failWhere(
      this.#writes,
      (w) => w.leader !== leader,
      (w) => WRITE.replaced(w.leader),
    );
    failWhere(
      this.#reads,
      (w) => w.leader !== leader,
      (w) => READ.replaced(w.leader),
    );
  }

  stop(): void {
    failWhere(
      this.#writes,
      () => true,
      () => WRITE.stopped(),
    );
    failWhere(
      this.#reads,
      () => true,
      () => READ.stopped(),
    );
  }
}

function take<T>(table: Map<number, Waiting<T>>, requestId: number): Waiting<T> | undefined {
  const waiting = table.get(requestId);
  if (waiting === undefined) return undefined;
  table.delete(requestId);
  clearTimeout(waiting.timer);
  return waiting;
}

function failWhere<T>(table: Map<number, Waiting<T>>, which: (w: Waiting<T>) => boolean, error: (w: Waiting<T>) => Error): void {
  for (const [id, w] of table) {
    if (!which(w)) continue;
    take(table, id);
    w.reject(error(w));
  }
}

export interface ForwardServerHandle {
  readonly self: NodeId;
  readonly transport: ControlSender;
  readonly limits: Readonly<ForwardLimits>;
  readonly raft: { readonly role: Role; readonly leader: NodeId | null };
  /** The store's limits now (the store is replaced when a snapshot is installed). */
  storeLimits(): StoreLimits;
  /** Proposes on this node, as a client's own write would be. */
  execute(command: Command): Promise<{ index: number; result: CommandResult }>;
  /** A read index this node confirmed as the leader. */
  readIndex(): Promise<LogIndex>;
}

/** The leader's side: serves what followers forwarded, bounded by forwardsServingMax. */
export class ForwardServer {
  readonly #handle: ForwardServerHandle;
  #serving = 0;

  constructor(handle: ForwardServerHandle) {
    this.#handle = handle;
  }

  serveWrite(from: NodeId, requestId: number, commandBytes: Buffer): void {
    const { self, raft, limits } = this.#handle;
    if (raft.role !== 'leader') {
      this.#replyError(
        from,
        requestId,
        'TRYAGAIN',
        `node ${self} is not the leader (leader: ${raft.leader ?? 'unknown'}); nothing was done`,
        true,
      );
      return;
    }
    if (this.#serving >= limits.forwardsServingMax) {
      this.#replyError(
        from,
        requestId,
        'FORWARDS_FULL',
        `the leader already serves ${limits.forwardsServingMax} forwarded writes`,
        true,
      );
      return;
    }
    let command: Command;
    try {
      command = decodeCommand(commandBytes, this.#handle.storeLimits());
    } catch (err) {
      this.#replyError(from, requestId, 'ERR', `the forwarded command is invalid: ${(err as Error).message}`, true);
      return;
    }
    this.#serving++;
    this.#handle.execute(command).then(
      ({ index, result }) => {
        this.#serving--;
        this.#handle.transport.sendControl(from, encodeControl({ type: 'reply', from: self, requestId, index, result }));
      },
      (err: unknown) => {
        this.#serving--;
        this.#replyFailure(from, requestId, err, false);
      },
    );
  }

  serveRead(from: NodeId, requestId: number): void {
    const { self, raft } = this.#handle;
    if (raft.role !== 'leader') {
      this.#replyError(from, requestId, 'TRYAGAIN', `node ${self} is not the leader (leader: ${raft.leader ?? 'unknown'})`, true);
      return;
    }
    this.#handle.readIndex().then(
      (index) => this.#handle.transport.sendControl(from, encodeControl({ type: 'read-reply', from: self, requestId, index })),
      // A read has no effect: whatever stopped it, it did not happen.
      (err: unknown) => this.#replyFailure(from, requestId, err, true),
    );
  }

  /** Sends `err` back with its code; `alwaysDefinite` for a read, otherwise definite only if the error says so. */
  #replyFailure(to: NodeId, requestId: number, err: unknown, alwaysDefinite: boolean): void {
    const e = err instanceof DistkvError ? err : undefined;
    // The detail alone: the receiving side rebuilds the error with its code.
    const message = e !== undefined ? e.detail : err instanceof Error ? err.message : String(err);
    this.#replyError(to, requestId, e?.code ?? 'ERR', message, alwaysDefinite || (e?.definite ?? false));
  }

  #replyError(to: NodeId, requestId: number, code: string, message: string, definite: boolean): void {
    this.#handle.transport.sendControl(
      to,
      encodeControl({ type: 'reply-error', from: this.#handle.self, requestId, code, message, definite }),
    );
  }
}
