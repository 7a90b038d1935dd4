/**
 * The driver: one RaftNode brought to life. It turns milliseconds into
 * ticks, carries out each Ready in the documented order (ready-pump.ts:
 * persist through the WAL, then send over TCP, then apply to the store),
 * and answers proposals in `sync` or `async` mode. All I/O of the
 * replication layer is in this folder; the state machine stays pure.
 *
 * This class composes the parts, each in its own file and each owning its
 * state: options.ts (options, limits, the RaftConfig), address-book.ts
 * (hellos and last contact), info.ts (INFO), forwarding.ts (writes and
 * reads sent to the leader, and served there), read-barrier.ts,
 * ready-pump.ts and compaction.ts.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Command, type CommandResult, DistkvError, encodeCommand, isDistkvError, type LogLine, Store } from '@distkv/core';
import type { KvBackend } from '@distkv/net';
import { type ReadMode, type ReplicationMode, resolveLimits } from '../config.js';
import { replicationError } from '../errors.js';
import { type ConfChange, type ConfState, isMember } from '../membership.js';
import { type Proposal, RaftNode, type Ready, type Status } from '../raft.js';
import type { LogIndex, NodeId, SnapshotMeta } from '../types.js';
import { AddressBook } from './address-book.js';
import { Compaction, catchUpTailOf } from './compaction.js';
import { type ControlFrame, decodeControl, encodeControl } from './control-frames.js';
import { DurableLog, readSnapshotFile } from './durable-log.js';
import { Forwarder, ForwardServer } from './forwarding.js';
import { infoFields, infoText, lastContactMs } from './info.js';
import { LeaderTransfers, TRANSFER_TIMEOUT_MS_DEFAULT } from './leader-transfer.js';
import {
  COMPACT_EVERY_ENTRIES_DEFAULT,
  type ForwardLimits,
  formatAddress,
  parsePeerAddress,
  type ReplicationNodeOptions,
  raftConfigOf,
  resolveForwardLimits,
  timingOf,
  transportLimitsOf,
  validateOptions,
} from './options.js';
import { ReadBarrier } from './read-barrier.js';
import { blindResult, type ProposeResult, ReadyPump } from './ready-pump.js';
import { type PeerAddress, TcpTransport } from './transport.js';

/** How a node learnt it was removed: it applied the change at `index`, or the member `toldBy` said so. */
export interface RemovedInfo {
  index: LogIndex | null;
  toldBy: NodeId | null;
}

/** One member, as `memberList` reports it (null: not known on this node). */
export interface MemberInfo {
  id: NodeId;
  role: 'voter' | 'learner';
  /** A learner the leader promotes by itself once it is caught up (it joined). */
  autoPromote: boolean;
  /** This node. */
  self: boolean;
  peerAddress: string | null;
  clientAddress: string | null;
  httpAddress: string | null;
  /** Leader only: the highest index known to match the leader's log. */
  match: number | null;
  /** Leader only: entries behind the leader's last. */
  lag: number | null;
  /** Milliseconds since a Raft message came from it (0 for this node). */
  lastContactMs: number | null;
}

/** A tick loop that stalled (SIGSTOP, a long GC) catches up at most this many ticks at once. */
const CATCH_UP_TICKS_MAX = 1_000;

// #region on-the-wire
/**
 * A client sees only the first word of an error (`-TIMEOUT …`), so every
 * error after which the write may still apply goes out as TIMEOUT, whatever
 * its code here (NODE_STOPPED, or an indefinite error a leader forwarded):
 * an unknown outcome never looks definite. Definite errors keep their code.
 */
function onTheWire(err: unknown): unknown {
  if (!(err instanceof DistkvError) || err.definite || err.code === 'TIMEOUT') return err;
  return new DistkvError('TIMEOUT', `${err.detail} (${err.code})`, { definite: false, cause: err });
}
// #endregion on-the-wire

export class ReplicationNode implements KvBackend {
  readonly id: NodeId;
  readonly mode: ReplicationMode;
  readonly raft: RaftNode;
  readonly readMode: ReadMode;
  readonly forwardLimits: Readonly<ForwardLimits>;
  readonly #log: DurableLog;
  readonly #transport: TcpTransport;
  readonly #timer: NodeJS.Timeout;
  /** The tick, heartbeat and election timeout this node runs with (see timingOf), for logs and tools. */
  readonly timing: Readonly<ReturnType<typeof timingOf>>;
  readonly #tickMs: number;
  #lastTickAt = performance.now();
  readonly #logLine: LogLine;
  #stopped = false;
  readonly #failed: Promise<Error>;
  #fail: (err: Error) => void = () => undefined;
  readonly #addresses: AddressBook;
  readonly #compaction: Compaction;
  readonly #pump: ReadyPump;
  readonly #forwarder: Forwarder;
  readonly #transfers = new LeaderTransfers();
  readonly #forwardServer: ForwardServer;
  readonly #reads: ReadBarrier;
  /** The addresses this node was started with (`--peers`): used for members the configuration names no address for. */
  readonly #configuredPeers: ReadonlyMap<NodeId, PeerAddress>;
  /** The configurations the transport was last linked for: the one in force, and the last committed one. */
  #linkedConf: ConfState | undefined;
  #linkedCommittedConf: ConfState | undefined;
  /** The ids the last committed configuration removed: refused, and told so, when they send (#refusal). */
  #removedIds: ReadonlySet<string> = new Set();
  #removed = false;
  #onRemoved: (how: RemovedInfo) => void = () => undefined;
  readonly #removedPromise: Promise<RemovedInfo>;

  private constructor(options: ReplicationNodeOptions, raft: RaftNode, log: DurableLog, store: Store, transport: TcpTransport) {
    this.#failed = new Promise((resolve) => {
      this.#fail = resolve;
    });
    this.#removedPromise = new Promise((resolve) => {
      this.#onRemoved = resolve;
    });
    this.id = raft.id;
    this.mode = options.mode;
    this.raft = raft;
    this.readMode = raft.config.readMode;
    this.forwardLimits = resolveForwardLimits(options.forwardLimits);
    this.#log = log;
    this.#transport = transport;
    this.#logLine = options.log ?? (() => undefined);
    this.timing = timingOf(options);
    this.#tickMs = this.timing.tickMs;
    const self = this.id;
    const whenApplied = (index: number, done: () => void): void => this.#pump.whenApplied(index, done);
    this.#addresses = new AddressBook(self, () => this.#helloPeers(), transport, this.#tickMs);
    this.#configuredPeers = new Map([...options.peers].map(([id, a]) => [id as NodeId, a]));
    this.#compaction = new Compaction(
      log,
      options.compactEveryEntries ?? COMPACT_EVERY_ENTRIES_DEFAULT,
      catchUpTailOf(raft.config.limits),
      this.#logLine,
      (index) => raft.confAt(index),
    );
    this.#pump = new ReadyPump(
      {
        raft,
        log,
        transport,
        mode: this.mode,
        compaction: this.#compaction,
        storeOptions: options.store ?? {},
        logLine: this.#logLine,
        onReadStates: (readStates) => this.#reads.onReadStates(readStates),
        onSoftState: (soft) => this.#onSoftState(soft.role, soft.leader),
        onFatal: (err) => this.#failStop(err),
        onReady: (rd) => this.#onReady(rd),
      },
      store,
    );
    const limits = this.forwardLimits;
    this.#forwarder = new Forwarder({ self, transport, limits, mode: this.mode, whenApplied });
    this.#reads = new ReadBarrier({
      self,
      readMode: this.readMode,
      writeTimeoutMs: limits.writeTimeoutMs,
      raft,
      catchUpTicks: () => this.#catchUpTicks(),
      kick: () => this.#pump.kick(),
      forwardRead: (leader) => this.#forwarder.read(leader),
      whenApplied,
    });
    this.#forwardServer = new ForwardServer({
      self,
      transport,
      limits,
      raft,
      storeLimits: () => this.#pump.store.limits,
      execute: (command) => this.#executeHere(command),
      readIndex: () => this.#reads.leaderReadIndex(),
    });
    if (options.clientAddress !== undefined) this.setClientAddress(options.clientAddress);
    transport.onControl((frame) => {
      if (this.#stopped) return;
      let f: ControlFrame;
      try {
        f = decodeControl(frame);
      } catch (err) {
        this.#logLine(`dropped a malformed control frame: ${(err as Error).message}`);
        return;
      }
      this.#onControl(f);
    });
    transport.setRefusePeer((id) => this.#refusal(id));
    transport.onDialReply((frame, to) => this.#onDialReply(frame, to));
    transport.onMessage((m) => {
      if (this.#stopped || m.to !== this.id) return;
      this.#addresses.heard(m.from);
      // Time first: a follower whose loop stalled must restart its election
      // timer at the real moment of receipt, not a stall's worth of ticks
      // before it (its vote promise is what a leader's lease counts on).
      this.#catchUpTicks();
      try {
        this.raft.step(m);
      } catch (err) {
        // The state machine drops what no correct peer sends, so a throw here
        // is an assertion: this node's state or code is wrong. Fail-stop,
        // loudly, as on a disk error; thrown on, it would reach the
        // transport's frame reader and end the process without a word.
        this.#failStop(err instanceof Error ? err : new Error(String(err)), `stepping ${m.type} from ${m.from} (term ${m.term})`);
        return;
      }
      this.#pump.kick();
    });
    this.#timer = setInterval(() => {
      this.#addresses.tick();
      this.#catchUpTicks();
      this.#pump.kick();
    }, this.#tickMs);
    this.#pump.kick();
  }

  /** See `failed`: logged at error level with what the node was doing, then stopped. */
  #failStop(err: Error, doing?: string): void {
    if (this.#stopped) return;
    const context = doing === undefined ? '' : ` while ${doing}`;
    const at = `term ${this.raft.term}, commit ${this.raft.log.committed}, applied ${this.raft.log.applied}`;
    this.#logLine(`replication node ${this.id} stopped${context} (${at}): ${err.stack ?? err}`, 'error');
    this.#fail(err);
    void this.stop();
  }

  // #region catch-up-ticks
  /**
   * Ticks as many times as whole tick lengths passed on the monotonic
   * clock, not once per timer callback: a process that was stopped
   * (SIGSTOP) or stalled must see its election timeout and its lease as
   * expired when it resumes, or a deposed leader would serve lease reads.
   * Called from the timer, before every peer message is stepped and before
   * a read is confirmed: a follower that stepped a heartbeat first and
   * counted the stall after it would vote a stall too early, while the
   * leader's lease still counts on its silence.
   */
  #catchUpTicks(): void {
    const now = performance.now();
    const due = Math.min(CATCH_UP_TICKS_MAX, Math.floor((now - this.#lastTickAt) / this.#tickMs));
    if (due <= 0) return;
    this.#lastTickAt += due * this.#tickMs;
    if (now - this.#lastTickAt > this.#tickMs) this.#lastTickAt = now; // capped: drop the rest
    for (let i = 0; i < due; i++) this.raft.tick();
  }
  // #endregion catch-up-ticks

  static async start(options: ReplicationNodeOptions): Promise<ReplicationNode> {
    validateOptions(options); // fail before opening anything
    const { log, snapshot } = await DurableLog.open(options.dataDir, {
      fsync: options.fsync ?? 'always',
      ...(options.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: options.fsyncIntervalMs }),
      ...(options.log === undefined ? {} : { log: (line: string) => options.log?.(line, 'warn') }),
      catchUpTail: catchUpTailOf(resolveLimits(options.limits)),
    });
    const store = new Store(options.store ?? {});
    if (snapshot.data.byteLength > 0) await store.restore([snapshot.data]);
    const raft = new RaftNode(raftConfigOf(options, snapshot.meta.index), log.storage);
    const limits = raft.config.limits;
    const transport =
      options.listen instanceof TcpTransport
        ? options.listen
        : await TcpTransport.listen(
            options.listen,
            { entriesMax: limits.appendEntriesMax, bytesMax: Math.max(limits.entryBytesMax, limits.snapshotChunkBytesMax) },
            transportLimitsOf(options),
            options.peerSecurity,
            options.log,
          );
    transport.setPeers(new Map([...options.peers].map(([id, a]) => [id as NodeId, a])));
    const node = new ReplicationNode(options, raft, log, store, transport);
    node.#reportConfiguredMismatch(options);
    node.#linkMembers();
    return node;
  }

  // #region members
  /** Every member in force (voters and learners), this node included if it is one. */
  #members(): NodeId[] {
    const conf = this.raft.conf;
    return [...conf.voters, ...conf.learners];
  }

  /**
   * Who hears this node's hellos (and whose it records): the members, and
   * while this node is none of them (it is joining) the peers it was given
   * too. A joiner that was added and removed again before it received
   * anything has no other traffic: its repeated hello is what reaches a
   * member, which answers that it was removed (#refusal).
   */
  #helloPeers(): NodeId[] {
    const members = this.#members();
    if (isMember(this.raft.conf, this.id)) return members;
    return [...new Set([...members, ...this.#configuredPeers.keys()])];
  }

  /**
   * A member's peer address: where `--peers` says it is now (an operator
   * who moved a node says so there), else the configuration's word (in
   * force, else last committed: the address the change that added it
   * gave). Who the members are is the log's alone.
   */
  peerAddress(id: string): PeerAddress | undefined {
    const configured = this.#configuredPeers.get(id as NodeId);
    if (configured !== undefined) return configured;
    const inConf = this.raft.conf.addresses[id as NodeId] ?? this.#committedConf().addresses[id as NodeId];
    return inConf === undefined ? undefined : parsePeerAddress(inConf);
  }

  /** Each Ready, before its messages leave: a member just added must have a link for them to travel on. */
  #onReady(rd: Ready): void {
    if (this.raft.conf !== this.#linkedConf || this.#committedConf() !== this.#linkedCommittedConf) this.#linkMembers();
    const removal = rd.events.find((e) => e.type === 'removed');
    if (removal !== undefined) this.#markRemoved({ index: removal.index, toldBy: null });
  }

  #committedConf(): ConfState {
    return this.raft.confAt(this.raft.log.committed);
  }

  /**
   * Links to the members of the configuration in force and of the last
   * committed one: a leader whose removal is appended but not committed
   * still needs the answers that commit it. A node that is no member yet
   * (it joins) also answers the members it was told of: the leader's first
   * appends and snapshot reach it before it knows any configuration.
   */
  #linkMembers(): void {
    this.#linkedConf = this.raft.conf;
    this.#linkedCommittedConf = this.#committedConf();
    this.#removedIds = new Set(this.#linkedCommittedConf.removed);
    const peers = new Map<NodeId, PeerAddress>(isMember(this.raft.conf, this.id) ? [] : this.#configuredPeers);
    const committed = this.#linkedCommittedConf;
    for (const id of new Set([...this.#members(), ...committed.voters, ...committed.learners])) {
      const address = id === this.id ? undefined : this.peerAddress(id);
      if (address !== undefined) peers.set(id, address);
    }
    this.#transport.setPeers(peers);
  }

  /** The configuration in the log wins over `--peers` at restart: said once, so an operator sees a stale flag. */
  #reportConfiguredMismatch(options: ReplicationNodeOptions): void {
    const status = this.raft.status();
    if (options.join === true || status.confIndex === 0) return;
    const configured = [this.id, ...options.peers.keys()].sort().join(',');
    const inLog = [...this.raft.conf.voters].sort().join(',');
    if (configured !== inLog)
      this.#logLine(
        `membership: the log's configuration (voters ${inLog}, index ${status.confIndex}) differs from --peers (${configured}); the log wins: --peers only seeds a new cluster`,
        'warn',
      );
    for (const [id, address] of options.peers) {
      const inConf = this.raft.conf.addresses[id as NodeId];
      if (inConf !== undefined && inConf !== formatAddress(address))
        this.#logLine(
          `membership: --peers puts ${id} at ${formatAddress(address)}, the log at ${inConf}: dialing ${formatAddress(address)}`,
          'warn',
        );
    }
  }

  /**
   * Leader only: proposes one membership change and resolves with its index
   * once it has committed (and is in force everywhere it was appended).
   * Rejects as RaftNode.proposeConfChange does (NOT_LEADER,
   * CONF_CHANGE_PENDING, CONF_CHANGE_INVALID, LEARNER_NOT_CAUGHT_UP: all
   * definite), or TIMEOUT when it did not commit within writeTimeoutMs
   * (indefinite: it may still).
   */
  proposeConfChange(change: ConfChange): Promise<LogIndex> {
    if (this.#stopped) return Promise.reject(replicationError('NODE_STOPPED', 'the node is stopped; nothing was proposed'));
    let p: Proposal;
    try {
      p = this.raft.proposeConfChange(change);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#pump.kick();
    const timeoutMs = this.forwardLimits.writeTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            replicationError(
              'TIMEOUT',
              `the membership change at ${p.index} did not commit within ${timeoutMs} ms; it may still`,
            ),
          ),
        timeoutMs,
      );
      this.#pump.track(p, true).then(
        () => {
          clearTimeout(timer);
          resolve(p.index);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  // #region add-member
  /**
   * Leader only: adds `id` at its peer `address` as a learner, once a
   * connection there passes the peer handshake (MEMBER_UNREACHABLE
   * otherwise, and nothing is proposed: a typo in an address must not cost
   * the cluster anything). `autoPromote` (default true): the leader makes
   * it a voter by itself once it is caught up. Resolves with the index of
   * the change once it has committed.
   */
  async addMember(id: string, address: string, options: { autoPromote?: boolean } = {}): Promise<LogIndex> {
    const peer = parsePeerAddress(address);
    if (peer === undefined)
      throw replicationError('CONF_CHANGE_INVALID', `the peer address ${JSON.stringify(address)} is not host:port`);
    // Refusals that need no connection come first (not the leader, a change pending, already a member).
    this.raft.checkConfChange({ type: 'add-learner', node: id as NodeId, autoPromote: true });
    try {
      await this.#transport.probe(peer);
    } catch (err) {
      throw replicationError(
        'MEMBER_UNREACHABLE',
        `${id} at ${address}: ${isDistkvError(err) ? err.detail : (err as Error).message}; nothing was proposed`,
      );
    }
    return this.proposeConfChange({ type: 'add-learner', node: id as NodeId, autoPromote: options.autoPromote ?? true, address });
  }
  // #endregion add-member

  /**
   * The members as this node knows them: role, addresses, and on the
   * leader how far each one's log matches its own (lag: entries behind).
   */
  memberList(): MemberInfo[] {
    const status = this.raft.status();
    const { conf } = status;
    return this.#members().map((id) => {
      const pr = status.progress?.get(id);
      const peer = this.peerAddress(id);
      return {
        id,
        role: conf.voters.includes(id) ? 'voter' : 'learner',
        autoPromote: conf.autoPromote.includes(id),
        self: id === this.id,
        peerAddress: peer === undefined ? null : formatAddress(peer),
        clientAddress: this.#addresses.clientAddress(id) ?? null,
        httpAddress: this.#addresses.httpAddress(id) || null,
        match: pr?.match ?? null,
        lag: pr === undefined ? null : Math.max(0, status.lastIndex - pr.match),
        lastContactMs: id === this.id ? 0 : (this.#addresses.sinceHeardMs(id) ?? null),
      };
    });
  }

  /**
   * Settles once this node knows a committed change removed it: it applied
   * that change, or (a follower the leader stopped sending to) a member it
   * dialed said so. It is no member any more, and should be stopped.
   */
  get removed(): Promise<RemovedInfo> {
    return this.#removedPromise;
  }

  /** A member's word is logged here; an applied removal is logged as the Ready's event. */
  #markRemoved(how: RemovedInfo): void {
    if (this.#removed) return;
    this.#removed = true;
    if (how.toldBy !== null)
      this.#logLine(
        `membership: ${this.id} was removed from the cluster (${how.toldBy} said so when it dialed: a committed change removed it); it no longer votes or serves, and can be stopped`,
        'warn',
      );
    this.#onRemoved(how);
  }

  // #region tell-removed
  /**
   * A node that sends to this one, on a new connection or an old one: one a
   * committed change removed is answered that it is out, and not heard
   * (its connection is closed). Only a committed removal counts: an
   * appended one may still be cut from the log. Asked for every frame, so
   * it is a set lookup (kept by #linkMembers as commits move).
   */
  #refusal(id: NodeId): Buffer | undefined {
    if (this.#stopped || !this.#removedIds.has(id)) return undefined;
    return encodeControl({ type: 'removed', from: this.id, node: id });
  }

  /** What came back on a connection this node dialed: a member saying this node was removed. */
  #onDialReply(frame: Buffer, to: NodeId): void {
    let f: ControlFrame;
    try {
      f = decodeControl(frame);
    } catch {
      return;
    }
    if (f.type === 'removed' && f.node === this.id) this.#markRemoved({ index: null, toldBy: to });
  }
  // #endregion tell-removed
  // #endregion members

  /** The applied state. Followers serve reads of committed data from it. */
  get store(): Store {
    return this.#pump.store;
  }

  status(): Status {
    return this.raft.status();
  }

  /** See info.ts. */
  infoFields(): Array<[string, string | number]> {
    return infoFields({
      status: this.raft.status(),
      voters: this.raft.conf.voters,
      learners: this.raft.conf.learners,
      mode: this.mode,
      addresses: this.#addresses,
      snapshotIndex: this.#log.storage.snapshot().meta.index,
      snapshotsInstalled: this.#pump.snapshotsInstalled,
      forwardsPending: this.#forwarder.writesPending,
    });
  }

  /** See info.ts. */
  lastContactMs(): number | undefined {
    return lastContactMs(this.raft.status(), this.raft.conf.voters, this.#addresses);
  }

  /** The admin HTTP addresses the peers told us in their hellos (for the dashboard). */
  peerHttpAddresses(): Map<string, string> {
    return this.#addresses.peerHttpAddresses();
  }

  /** The INFO fields as text, one `field:value` per line as Redis prints INFO. */
  info(): string {
    return infoText(this.infoFields());
  }

  /** KvBackend: the `# Replication` section of the server's INFO. */
  replicationInfo(): Record<string, string | number> {
    return Object.fromEntries(this.infoFields());
  }

  /**
   * Sets (or changes) this node's client address, and tells every peer at
   * once: the server learns its port only after it listens (`--port 0`).
   */
  setClientAddress(address: string): void {
    this.#addresses.setClientAddress(address);
  }

  /** Sets this node's admin HTTP address (`host:port`), shown in INFO and told to every peer the same way. */
  setHttpAddress(address: string): void {
    this.#addresses.setHttpAddress(address);
  }

  /**
   * Leader only. Resolves per the mode (`awaitApply`: wait for the result
   * even in async mode); rejects NOT_LEADER, PROPOSALS_FULL, … (definite)
   * or NODE_STOPPED (indefinite).
   */
  propose(command: Command, options: { awaitApply?: boolean } = {}): Promise<ProposeResult> {
    if (this.#stopped) return Promise.reject(replicationError('NODE_STOPPED', 'the node is stopped; nothing was proposed'));
    let p: { index: LogIndex; term: ProposeResult['term'] };
    try {
      p = this.raft.propose(encodeCommand(command));
    } catch (err) {
      return Promise.reject(err);
    }
    this.#pump.kick();
    return this.#pump.track(p, options.awaitApply ?? false);
  }

  // #region execute
  /**
   * KvBackend: a client's write, on any node. The leader proposes it and
   * answers per the mode; a follower forwards the encoded command to the
   * leader over the peer connection (forwarding.ts) and answers with the
   * leader's result once it has applied that entry itself. No known
   * leader, or no connection to it: TRYAGAIN (definite). No answer within
   * writeTimeoutMs: TIMEOUT (indefinite).
   */
  execute(command: Command): Promise<CommandResult> {
    return this.#executeAnywhere(command).catch((err: unknown) => {
      throw onTheWire(err);
    });
  }

  #executeAnywhere(command: Command): Promise<CommandResult> {
    if (this.#stopped) return Promise.reject(replicationError('TRYAGAIN', `node ${this.id} is stopped; nothing was proposed`));
    if (this.raft.role === 'leader') return this.#executeHere(command).then((r) => r.result);
    return this.#forwarder.write(this.raft.leader, command);
  }
  // #endregion execute

  /** Proposes on the leader, bounded by writeTimeoutMs; async mode answers blind writes at the fsync. */
  #executeHere(command: Command): Promise<{ index: number; result: CommandResult }> {
    const blind = this.mode === 'async' ? blindResult(command) : undefined;
    const timeoutMs = this.forwardLimits.writeTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(replicationError('TIMEOUT', `not acknowledged within ${timeoutMs} ms (no majority?); the write may still apply`));
      }, timeoutMs);
      this.propose(command, { awaitApply: blind === undefined }).then(
        (r) => {
          clearTimeout(timer);
          const result = r.result ?? blind;
          if (result === undefined) reject(new Error('a proposal that awaited its apply came back without a result'));
          else resolve({ index: r.index, result });
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** KvBackend: see read-barrier.ts. */
  readBarrier(): Promise<void> | undefined {
    return this.#reads.barrier();
  }

  // #region leader-change
  /**
   * The role or the known leader changed. What waited on the old leader is
   * answered now instead of at its timeout, so clients retry at once: reads
   * (no effect) with TRYAGAIN; writes — a forwarded one, or a proposal of a
   * leader that stepped down — with TIMEOUT, because the entry may still be
   * committed by the next leader: an unknown outcome is never definite.
   */
  #onSoftState(role: string, leader: NodeId | null): void {
    if (role !== 'leader') {
      this.#reads.leadershipLost();
      this.#pump.failProposals((index) =>
        replicationError('TIMEOUT', `node ${this.id} stopped leading before entry ${index} committed; it may still apply`),
      );
    }
    this.#forwarder.leaderChanged(leader); // forwarded writes: TIMEOUT; forwarded reads: TRYAGAIN
    this.#transfers.leaderChanged(leader);
  }
  // #endregion leader-change

  #onControl(f: ControlFrame): void {
    if (f.type === 'hello') this.#addresses.onHello(f);
    else if (f.type === 'forward') this.#forwardServer.serveWrite(f.from as NodeId, f.requestId, f.command);
    else if (f.type === 'read') this.#forwardServer.serveRead(f.from as NodeId, f.requestId);
    else if (f.type !== 'removed') this.#forwarder.onReply(f); // a removal notice counts only as a dial's answer
  }

  /**
   * Hands leadership to `to` (thesis §3.10) and resolves with the
   * milliseconds it took once this node sees `to` lead. Only the leader can
   * (NOT_LEADER otherwise); `to` must be another voter and the election must
   * support transfers, as Raft's does and a fixed leader or Bully do not
   * (TRANSFER_TARGET_INVALID); one at a time (TRANSFER_IN_PROGRESS); past
   * `timeoutMs` (default 5 s) it rejects with TRANSFER_TIMEOUT.
   */
  transferLeadership(to: NodeId, options: { timeoutMs?: number } = {}): Promise<number> {
    const done = this.#transfers.begin(to, options.timeoutMs ?? TRANSFER_TIMEOUT_MS_DEFAULT, () =>
      this.raft.transferLeadership(to),
    );
    this.#pump.kick();
    return done;
  }

  /** Snapshots the store at its applied index and compacts the log there. */
  compact(): Promise<LogIndex | undefined> {
    const done = this.#compaction.request();
    this.#pump.kick();
    return done;
  }

  // #region backup
  /**
   * An online backup: the store as of this node's applied index (committed
   * everywhere it was applied), with that index, its term and the members
   * in force, as the bytes of a snapshot file (checksummed; readBackup and
   * DurableLog.seed read it). It is the snapshot a compaction takes now:
   * the log is compacted there too, and the copy briefly holds the event
   * loop as every compaction does. NOTHING_TO_BACK_UP before any entry is
   * applied.
   */
  async backup(): Promise<{ bytes: Buffer; meta: SnapshotMeta }> {
    await this.compact();
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.#log.dir, 'snapshot'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw replicationError('NOTHING_TO_BACK_UP', `${this.id} has applied no entry yet`);
    }
    // Compactions replace the file atomically: what was read is one whole snapshot; check it before it leaves.
    return { bytes, meta: readSnapshotFile(bytes).meta };
  }
  // #endregion backup

  /** Resolves once there is no Ready to carry out (tests use it to wait without sleeping blindly). */
  idle(): Promise<void> {
    return this.#pump.idle();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#pump.stop();
    this.#forwarder.stop();
    this.#reads.stop();
    this.#transfers.stop();
    await this.#transport.close();
    await this.#pump.drained();
    await this.#log.close();
  }

  // #region failed
  /**
   * Settles, with the cause, if the node stopped on its own: its storage
   * failed (a full disk, an I/O error) while persisting Raft state, or
   * stepping a peer's message tripped an assertion (a bug: logged with the
   * message's type, sender and term, never thrown into the transport). Such a
   * node must not linger as a zombie that answers clients but never
   * replicates again; whoever runs it should exit (fail-stop, as etcd does on
   * a WAL write error) so a supervisor restarts it and Raft catches it up.
   * Never settles after a graceful `stop()`.
   */
  get failed(): Promise<Error> {
    return this.#failed;
  }
  // #endregion failed
}
