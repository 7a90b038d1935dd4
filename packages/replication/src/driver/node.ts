/**
 * The driver: one RaftNode brought to life. It turns milliseconds into
 * ticks, carries out each Ready in the documented order (persist through
 * the WAL, then send over TCP, then apply to the store), and answers
 * proposals in `sync` or `async` mode. All I/O of the replication layer is
 * here; the state machine stays pure.
 */

import { performance } from 'node:perf_hooks';
import {
  type Command,
  type CommandResult,
  DistkvError,
  decodeCommand,
  encodeCommand,
  type LogLine,
  Store,
  type StoreOptions,
} from '@distkv/core';
import type { KvBackend } from '@distkv/net';
import type { RaftConfig, ReadMode, ReplicationLimits, ReplicationMode } from '../config.js';
import { replicationError } from '../errors.js';
import { type ElectionPolicy, RaftNode, type Ready, type Status } from '../raft.js';
import { seededRng } from '../rng.js';
import type { LogIndex, NodeId, Term } from '../types.js';
import { DurableLog, type DurableLogOptions } from './durable-log.js';
import { type ControlFrame, decodeControl, encodeControl } from './forward.js';
import type { PeerSecurity } from './peer-auth.js';
import { type PeerAddress, TcpTransport, type TransportLimits } from './transport.js';

export interface ReplicationNodeOptions {
  id: string;
  /** Phase 4: the leader, named by configuration. Leave it out and the voters elect one (phase 5). */
  leader?: string | undefined;
  /** Without `leader`: who decides leadership; default Raft's own elections. One policy object per node. */
  election?: ElectionPolicy | undefined;
  /**
   * How `readBarrier` confirms a read (see ReadMode). Default `read-index`
   * when electing; `stale` with a fixed leader, phase 4's behaviour: every
   * node serves reads from what it has applied.
   */
  readMode?: ReadMode | undefined;
  /** Seed of the election-timeout randomness; default from the id and the clock (only the pure core must replay). */
  seed?: number;
  /** Every other voter and its peer address. */
  peers: ReadonlyMap<string, PeerAddress>;
  dataDir: string;
  mode: ReplicationMode;
  /** Where to listen for peers, or a transport already listening (tests pick port 0 first). */
  listen: PeerAddress | TcpTransport;
  /** Milliseconds per tick. Default 50 with a fixed leader, 10 when electing (see electionDefaults). */
  tickMs?: number;
  heartbeatIntervalTicks?: number;
  electionTimeoutTicks?: number;
  limits?: Partial<ReplicationLimits>;
  transportLimits?: Partial<TransportLimits>;
  /** Mutual TLS and/or a cluster secret on the peer port (see peer-auth.ts); left out, peers are not authenticated. */
  peerSecurity?: PeerSecurity;
  store?: StoreOptions;
  /** Snapshot and compact once this many entries were applied since the last snapshot. Default 10,000. */
  compactEveryEntries?: number;
  /** Operational messages (fatal errors, snapshot installs). */
  log?: LogLine;
  /** This node's client (RESP) address, `host:port`, told to peers in the hello so `leader_addr` can name it. */
  clientAddress?: string;
  /**
   * When the Raft log counts an entry as persisted (see DurableLogOptions):
   * `always` (default); `interval` or `none` only for a single voter, as
   * anything but `always` lets a restarted voter forget entries it
   * acknowledged to a leader, which can lose committed writes.
   */
  fsync?: DurableLogOptions['fsync'];
  fsyncIntervalMs?: number;
  /** Forwarding and write limits; see ForwardLimits. */
  forwardLimits?: Partial<ForwardLimits>;
}

// #region forward-limits
/** Bounds on the write path that the net server drives (`execute`), validated at start. */
export interface ForwardLimits {
  /** A write not answered within this many ms fails with TIMEOUT (indefinite: it may still apply). */
  writeTimeoutMs: number;
  /** Most writes this node has forwarded to the leader and not yet heard back about; FORWARDS_FULL beyond. */
  forwardsPendingMax: number;
  /** Most forwarded writes the leader serves at once, from all followers together; FORWARDS_FULL beyond. */
  forwardsServingMax: number;
}

export const defaultForwardLimits: Readonly<ForwardLimits> = Object.freeze({
  writeTimeoutMs: 5_000,
  forwardsPendingMax: 10_000,
  forwardsServingMax: 20_000,
});
// #endregion forward-limits

const forwardLimitsMax: Readonly<ForwardLimits> = Object.freeze({
  writeTimeoutMs: 3_600_000,
  forwardsPendingMax: 1_000_000,
  forwardsServingMax: 1_000_000,
});

function resolveForwardLimits(partial: Partial<ForwardLimits> = {}): ForwardLimits {
  const limits = { ...defaultForwardLimits, ...partial };
  for (const [k, v] of Object.entries(limits)) {
    const max = forwardLimitsMax[k as keyof ForwardLimits];
    if (!Number.isSafeInteger(v) || v < 1 || v > max)
      throw replicationError('CONFIG_INVALID', `${k} must be an integer in 1..${max}, got ${v}`);
  }
  return limits;
}

// #region election-defaults
/**
 * Timing when the nodes elect: a 10 ms tick, heartbeats every 30 ms, and a
 * follower that hears nothing for a random 150–300 ms campaigns. Failover
 * takes about one election timeout plus a vote round trip. A fixed leader
 * keeps phase 4's 50 ms tick and 1 s timeout.
 */
export const electionDefaults = Object.freeze({ tickMs: 10, heartbeatIntervalTicks: 3, electionTimeoutTicks: 15 });
export const fixedLeaderDefaults = Object.freeze({ tickMs: 50, heartbeatIntervalTicks: 2, electionTimeoutTicks: 20 });
// #endregion election-defaults

/** Milliseconds between repeated hellos. */
const HELLO_EVERY_MS = 1_000;

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
  const message = err.message.startsWith(`${err.code}: `) ? err.message.slice(err.code.length + 2) : err.message;
  return new DistkvError('TIMEOUT', `${message} (${err.code})`, { definite: false, cause: err });
}
// #endregion on-the-wire

function seedOf(id: string): number {
  let h = 2166136261;
  for (const c of `${id}:${Date.now()}:${process.pid}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

interface ReadWaiter {
  resolve: (index: LogIndex) => void;
  reject: (e: Error) => void;
}

interface Forward {
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** The leader it was sent to. */
  leader: NodeId;
}

/** Async mode acknowledges these at the leader's fsync: their result never depends on the state. */
function blindResult(command: Command): CommandResult | undefined {
  if (command.op === 'put' && command.when === 'always' && !command.returnPrevious)
    return { ok: true, op: 'put', written: true, previous: undefined };
  if (command.op === 'mput') return { ok: true, op: 'mput', written: command.entries.length };
  return undefined;
}

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

export class ReplicationNode implements KvBackend {
  readonly id: NodeId;
  readonly mode: ReplicationMode;
  readonly raft: RaftNode;
  #store: Store;
  readonly #storeOptions: StoreOptions;
  readonly #log: DurableLog;
  readonly #transport: TcpTransport;
  readonly #pending = new Map<number, Pending>();
  readonly #timer: NodeJS.Timeout;
  readonly #tickMs: number;
  #lastTickAt = performance.now();
  readonly readMode: ReadMode;
  /** Reads that asked for a read index in this turn of the event loop: one `readIndex` serves them all. */
  #readBatch: ReadWaiter[] = [];
  #nextReadId = 1;
  /** Leader: read indexes asked of the state machine, by id, not yet in `Ready.readStates`. */
  readonly #readsWaiting = new Map<string, { waiters: ReadWaiter[]; timer: NodeJS.Timeout }>();
  /** Follower: read indexes asked of the leader, by request id. */
  readonly #readForwards = new Map<number, { waiter: ReadWaiter; timer: NodeJS.Timeout; leader: NodeId }>();
  readonly #compactEveryEntries: number;
  readonly #logLine: LogLine;
  #pumping = false;
  #stopped = false;
  readonly #failed: Promise<Error>;
  #fail: (err: Error) => void = () => undefined;
  #compactWaiters: Array<(index: LogIndex | undefined) => void> = [];
  #idleWaiters: Array<() => void> = [];
  readonly forwardLimits: Readonly<ForwardLimits>;
  /** Client addresses by node id: our own, and each peer's from its hello. */
  readonly #clientAddresses = new Map<string, string>();
  /** Admin HTTP addresses by node id, the same way (empty: the node has none, or has not said). */
  readonly #httpAddresses = new Map<string, string>();
  /** When (performance.now()) a Raft message last arrived from each peer. */
  readonly #lastHeard = new Map<string, number>();
  readonly #forwards = new Map<number, Forward>();
  #nextForwardId = 1;
  #forwardsServing = 0;
  /** Forwarded writes that the leader acknowledged, waiting until this node applied them (read-your-writes here). */
  #appliedWaiters: Array<{ index: number; done: () => void }> = [];
  #snapshotsInstalled = 0;

  private constructor(options: ReplicationNodeOptions, raft: RaftNode, log: DurableLog, store: Store, transport: TcpTransport) {
    this.#failed = new Promise((resolve) => {
      this.#fail = resolve;
    });
    this.id = raft.id;
    this.mode = options.mode;
    this.raft = raft;
    this.#log = log;
    this.#store = store;
    this.#storeOptions = options.store ?? {};
    this.#transport = transport;
    this.#compactEveryEntries = options.compactEveryEntries ?? 10_000;
    this.#logLine = options.log ?? (() => undefined);
    this.forwardLimits = resolveForwardLimits(options.forwardLimits);
    this.readMode = raft.config.readMode;
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
    transport.onMessage((m) => {
      if (this.#stopped || m.to !== this.id) return;
      // Voters only: the map stays as small as the configuration.
      if (this.raft.config.voters.includes(m.from)) this.#lastHeard.set(m.from, performance.now());
      this.raft.step(m);
      this.#kick();
    });
    const fixed = options.leader !== undefined;
    this.#tickMs = options.tickMs ?? (fixed ? fixedLeaderDefaults.tickMs : electionDefaults.tickMs);
    const helloEveryTicks = Math.max(1, Math.round(HELLO_EVERY_MS / this.#tickMs));
    let hellos = 0;
    this.#timer = setInterval(() => {
      // The hello goes out on every new connection; repeating it now and then
      // also reaches a peer whose node was not listening for it yet.
      if (++hellos % helloEveryTicks === 0) this.#sendHello();
      this.#catchUpTicks();
      this.#kick();
    }, this.#tickMs);
    this.#kick();
  }

  // #region catch-up-ticks
  /**
   * Ticks as many times as whole tick lengths passed on the monotonic
   * clock, not once per timer callback: a process that was stopped
   * (SIGSTOP) or stalled must see its election timeout and its lease as
   * expired when it resumes, or a deposed leader would serve lease reads.
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
    resolveForwardLimits(options.forwardLimits); // fail before opening anything
    const fsync = options.fsync ?? 'always';
    if (fsync !== 'always' && options.peers.size > 0)
      throw replicationError(
        'CONFIG_INVALID',
        `fsync ${fsync} is for a single voter only: a voter that forgets acknowledged entries can lose committed writes`,
      );
    const { log, snapshot } = await DurableLog.open(options.dataDir, {
      fsync,
      ...(options.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: options.fsyncIntervalMs }),
    });
    const store = new Store(options.store ?? {});
    if (snapshot.data.byteLength > 0) await store.restore([snapshot.data]);
    const ids = [options.id, ...options.peers.keys()] as NodeId[];
    const fixed = options.leader !== undefined;
    const timing = fixed ? fixedLeaderDefaults : electionDefaults;
    const config: RaftConfig = {
      id: options.id as NodeId,
      voters: ids,
      leader: fixed ? (options.leader as NodeId) : null,
      applied: snapshot.meta.index,
      heartbeatIntervalTicks: options.heartbeatIntervalTicks ?? timing.heartbeatIntervalTicks,
      electionTimeoutTicks: options.electionTimeoutTicks ?? timing.electionTimeoutTicks,
      readMode: options.readMode ?? (fixed ? 'stale' : 'read-index'),
      rng: seededRng(options.seed ?? seedOf(options.id)),
      ...(!fixed && options.election !== undefined ? { election: options.election } : {}),
      ...(options.limits !== undefined ? { limits: options.limits } : {}),
    };
    const raft = new RaftNode(config, log.storage);
    const limits = raft.config.limits;
    const transport =
      options.listen instanceof TcpTransport
        ? options.listen
        : await TcpTransport.listen(
            options.listen,
            { entriesMax: limits.appendEntriesMax, bytesMax: Math.max(limits.entryBytesMax, limits.snapshotChunkBytesMax) },
            // Electing: a restarted peer must be reached within an election timeout or so, not 2 s later.
            { ...(fixed ? {} : { reconnectDelayMsMax: 250 }), ...options.transportLimits },
            options.peerSecurity,
            options.log,
          );
    transport.setPeers(new Map([...options.peers].map(([id, a]) => [id as NodeId, a])));
    return new ReplicationNode(options, raft, log, store, transport);
  }

  /** The applied state. Followers serve reads of committed data from it. */
  get store(): Store {
    return this.#store;
  }

  status(): Status {
    return this.raft.status();
  }

  // #region info
  /**
   * The `INFO replication` fields, in order. `leader_addr` is the leader's
   * client address, learnt from its hello (or our own when we lead).
   * `last_contact_ms` is how long ago this node last heard its leader (a
   * follower), or a majority of the voters (the leader); empty when it
   * has not. One `member<i>` line per voter tells where each one is, so
   * asking any node is enough to find the others (`distkv status`).
   */
  infoFields(): Array<[string, string | number]> {
    const s = this.raft.status();
    const contact = this.lastContactMs();
    const fields: Array<[string, string | number]> = [
      ['role', s.role],
      ['node_id', s.id],
      ['leader_id', s.leader ?? ''],
      ['leader_addr', s.leader === null ? '' : (this.#clientAddresses.get(s.leader) ?? '')],
      ['replication_mode', this.mode],
      ['term', s.term],
      ['commit_index', s.commit],
      ['applied_index', s.applied],
      ['first_index', s.firstIndex],
      ['last_index', s.lastIndex],
      ['snapshot_index', this.#log.storage.snapshot().meta.index],
      ['snapshots_installed', this.#snapshotsInstalled],
      ['forwards_pending', this.#forwards.size],
      ['http_addr', this.#httpAddresses.get(this.id) ?? ''],
      ['last_contact_ms', contact ?? ''],
    ];
    if (s.progress !== undefined) {
      let i = 0;
      for (const [id, p] of s.progress) {
        if (id === s.id) continue;
        fields.push([`follower${i++}`, `id=${id},state=${p.state},match_index=${p.match},lag=${s.lastIndex - p.match}`]);
      }
    }
    this.raft.config.voters.forEach((id, i) => {
      const heard = id === this.id ? 0 : this.#sinceHeard(id);
      const parts = [
        `id=${id}`,
        `client_addr=${this.#clientAddresses.get(id) ?? ''}`,
        `http_addr=${this.#httpAddresses.get(id) ?? ''}`,
        `last_contact_ms=${heard ?? ''}`,
      ];
      fields.push([`member${i}`, parts.join(',')]);
    });
    return fields;
  }

  /** Milliseconds since a Raft message came from `id`, or undefined if none ever did. */
  #sinceHeard(id: string): number | undefined {
    const at = this.#lastHeard.get(id);
    return at === undefined ? undefined : Math.max(0, Math.round(performance.now() - at));
  }

  /**
   * The "last heartbeat" of `distkv status`. A follower: ms since its
   * leader's last message. The leader: ms since it last heard a majority
   * (itself counted at 0), the age check-quorum watches. Otherwise, and
   * when it never heard them: undefined.
   */
  lastContactMs(): number | undefined {
    const s = this.raft.status();
    if (s.leader === null) return undefined;
    if (s.role !== 'leader') return s.leader === this.id ? undefined : this.#sinceHeard(s.leader);
    const ages = this.raft.config.voters.map((id) => (id === this.id ? 0 : this.#sinceHeard(id)));
    const known = ages.filter((a): a is number => a !== undefined).sort((a, b) => a - b);
    const quorum = Math.floor(this.raft.config.voters.length / 2) + 1;
    return known[quorum - 1];
  }

  /** The admin HTTP addresses the peers told us in their hellos (for the dashboard). */
  peerHttpAddresses(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [id, address] of this.#httpAddresses) if (id !== this.id && address !== '') out.set(id, address);
    return out;
  }

  /** The same fields as text, one `field:value` per line as Redis prints INFO. */
  info(): string {
    return `${this.infoFields()
      .map(([k, v]) => `${k}:${v}`)
      .join('\r\n')}\r\n`;
  }

  /** KvBackend: the `# Replication` section of the server's INFO. */
  replicationInfo(): Record<string, string | number> {
    return Object.fromEntries(this.infoFields());
  }
  // #endregion info

  /**
   * Leader only. Resolves per the mode (`awaitApply`: wait for the result
   * even in async mode); rejects NOT_LEADER, PROPOSALS_FULL, … (definite)
   * or NODE_STOPPED (indefinite).
   */
  propose(command: Command, options: { awaitApply?: boolean } = {}): Promise<ProposeResult> {
    if (this.#stopped) return Promise.reject(replicationError('NODE_STOPPED', 'the node is stopped; nothing was proposed'));
    let p: { index: LogIndex; term: Term };
    try {
      p = this.raft.propose(encodeCommand(command));
    } catch (err) {
      return Promise.reject(err);
    }
    this.#kick();
    const awaitApply = options.awaitApply ?? false;
    return new Promise((resolve, reject) => this.#pending.set(p.index, { term: p.term, awaitApply, resolve, reject }));
  }

  /**
   * Sets (or changes) this node's client address, and tells every peer at
   * once: the server learns its port only after it listens (`--port 0`).
   */
  setClientAddress(address: string): void {
    this.#clientAddresses.set(this.id, address);
    this.#announce();
  }

  /** Sets this node's admin HTTP address (`host:port`), shown in INFO and told to every peer the same way. */
  setHttpAddress(address: string): void {
    this.#httpAddresses.set(this.id, address);
    this.#announce();
  }

  #hello(): Buffer | undefined {
    const clientAddress = this.#clientAddresses.get(this.id);
    if (clientAddress === undefined) return undefined;
    return encodeControl({ type: 'hello', id: this.id, clientAddress, httpAddress: this.#httpAddresses.get(this.id) ?? '' });
  }

  #announce(): void {
    const hello = this.#hello();
    if (hello === undefined) return;
    this.#transport.setHello(hello);
    this.#sendHello();
  }

  #sendHello(): void {
    const hello = this.#hello();
    if (hello === undefined) return;
    for (const id of this.raft.config.voters) if (id !== this.id) this.#transport.sendControl(id, hello);
  }

  // #region execute
  /**
   * KvBackend: a client's write, on any node. The leader proposes it and
   * answers per the mode; a follower forwards the encoded command to the
   * leader over the peer connection and answers with the leader's result
   * once it has applied that entry itself. No known leader: TRYAGAIN
   * (definite). No answer within writeTimeoutMs: TIMEOUT (indefinite).
   */
  execute(command: Command): Promise<CommandResult> {
    return this.#executeAnywhere(command).catch((err: unknown) => {
      throw onTheWire(err);
    });
  }

  #executeAnywhere(command: Command): Promise<CommandResult> {
    if (this.#stopped) return Promise.reject(replicationError('TRYAGAIN', `node ${this.id} is stopped; nothing was proposed`));
    if (this.raft.role === 'leader') return this.#executeHere(command).then((r) => r.result);
    const leader = this.raft.leader;
    if (leader === null) {
      return Promise.reject(replicationError('TRYAGAIN', `node ${this.id} knows no leader yet; nothing was done, retry`));
    }
    if (this.#forwards.size >= this.forwardLimits.forwardsPendingMax) {
      return Promise.reject(
        replicationError('FORWARDS_FULL', `${this.forwardLimits.forwardsPendingMax} writes already wait for the leader`),
      );
    }
    const requestId = this.#nextForwardId;
    this.#nextForwardId = (this.#nextForwardId % 0xffff_ffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#forwards.delete(requestId);
        reject(
          replicationError(
            'TIMEOUT',
            `no answer from leader ${leader} within ${this.forwardLimits.writeTimeoutMs} ms; the write may still apply`,
          ),
        );
      }, this.forwardLimits.writeTimeoutMs);
      this.#forwards.set(requestId, { resolve, reject, timer, leader });
      this.#transport.sendControl(
        leader,
        encodeControl({ type: 'forward', from: this.id, requestId, command: encodeCommand(command) }),
      );
    });
  }
  // #endregion execute

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
  readBarrier(): Promise<void> | undefined {
    if (this.readMode === 'stale') return undefined;
    if (this.#stopped) return Promise.reject(replicationError('NODE_STOPPED', 'the node is stopped'));
    const index = this.raft.role === 'leader' ? this.#leaderReadIndex() : this.#forwardRead();
    return index.then((i) => this.#waitApplied(i));
  }
  // #endregion read-barrier

  #waitApplied(index: number): Promise<void> {
    if (this.raft.log.applied >= index) return Promise.resolve();
    return new Promise((resolve) => this.#appliedWaiters.push({ index, done: resolve }));
  }

  #leaderReadIndex(): Promise<LogIndex> {
    return new Promise((resolve, reject) => {
      if (this.#readBatch.length === 0) queueMicrotask(() => this.#flushReads());
      this.#readBatch.push({ resolve, reject });
    });
  }

  #flushReads(): void {
    const waiters = this.#readBatch;
    this.#readBatch = [];
    if (waiters.length === 0) return;
    if (this.#stopped) {
      for (const w of waiters) w.reject(replicationError('NODE_STOPPED', 'the node is stopped'));
      return;
    }
    // Lease reads trust the tick count: bring it up to date with the clock first.
    this.#catchUpTicks();
    const id = `r${this.#nextReadId++}`;
    try {
      this.raft.readIndex(id);
    } catch (err) {
      const e =
        err instanceof DistkvError && err.code === 'NOT_LEADER'
          ? replicationError('TRYAGAIN', `node ${this.id} is not the leader (leader: ${this.raft.leader ?? 'unknown'}); retry`)
          : (err as Error);
      for (const w of waiters) w.reject(e);
      return;
    }
    const timer = setTimeout(() => {
      this.#readsWaiting.delete(id);
      const e = replicationError('TIMEOUT', `no majority confirmed the read within ${this.forwardLimits.writeTimeoutMs} ms`);
      for (const w of waiters) w.reject(e);
    }, this.forwardLimits.writeTimeoutMs);
    this.#readsWaiting.set(id, { waiters, timer });
    this.#kick();
  }

  #forwardRead(): Promise<LogIndex> {
    const leader = this.raft.leader;
    if (leader === null) {
      return Promise.reject(replicationError('TRYAGAIN', `node ${this.id} knows no leader yet; retry the read`));
    }
    if (this.#readForwards.size >= this.forwardLimits.forwardsPendingMax) {
      return Promise.reject(
        replicationError('FORWARDS_FULL', `${this.forwardLimits.forwardsPendingMax} reads already wait for the leader`),
      );
    }
    const requestId = this.#nextForwardId;
    this.#nextForwardId = (this.#nextForwardId % 0xffff_ffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#readForwards.delete(requestId);
        reject(
          replicationError('TIMEOUT', `leader ${leader} did not confirm a read within ${this.forwardLimits.writeTimeoutMs} ms`),
        );
      }, this.forwardLimits.writeTimeoutMs);
      this.#readForwards.set(requestId, { waiter: { resolve, reject }, timer, leader });
      const sent = this.#transport.sendControl(leader, encodeControl({ type: 'read', from: this.id, requestId }));
      if (!sent) {
        clearTimeout(timer);
        this.#readForwards.delete(requestId);
        reject(replicationError('TRYAGAIN', `no connection to leader ${leader}; retry the read`));
      }
    });
  }

  #serveRead(from: string, requestId: number): void {
    const fail = (e: Error): void => {
      const d = e instanceof DistkvError ? e : undefined;
      let message = e.message;
      if (d !== undefined && message.startsWith(`${d.code}: `)) message = message.slice(d.code.length + 2);
      this.#transport.sendControl(
        from as NodeId,
        encodeControl({ type: 'reply-error', from: this.id, requestId, code: d?.code ?? 'ERR', message, definite: true }),
      );
    };
    if (this.raft.role !== 'leader') {
      fail(replicationError('TRYAGAIN', `node ${this.id} is not the leader (leader: ${this.raft.leader ?? 'unknown'})`));
      return;
    }
    this.#leaderReadIndex().then(
      (index) =>
        this.#transport.sendControl(from as NodeId, encodeControl({ type: 'read-reply', from: this.id, requestId, index })),
      (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
    );
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
      this.#failReadsWaiting();
      for (const [index, p] of this.#pending) {
        this.#pending.delete(index);
        p.reject(
          replicationError('TIMEOUT', `node ${this.id} stopped leading before entry ${index} committed; it may still apply`),
        );
      }
    }
    for (const [id, f] of this.#forwards) {
      if (f.leader === leader) continue;
      this.#forwards.delete(id);
      clearTimeout(f.timer);
      f.reject(replicationError('TIMEOUT', `leader ${f.leader} was replaced before it answered; the write may still apply`));
    }
    for (const [id, r] of this.#readForwards) {
      if (r.leader === leader) continue;
      this.#readForwards.delete(id);
      clearTimeout(r.timer);
      r.waiter.reject(replicationError('TRYAGAIN', `leader ${r.leader} was replaced before it confirmed the read; retry`));
    }
  }
  // #endregion leader-change

  /** A leader that stepped down will never see its unanswered read indexes confirmed. */
  #failReadsWaiting(): void {
    if (this.#readsWaiting.size === 0) return;
    const e = replicationError('TRYAGAIN', `node ${this.id} lost leadership before confirming the read; retry`);
    for (const { waiters, timer } of this.#readsWaiting.values()) {
      clearTimeout(timer);
      for (const w of waiters) w.reject(e);
    }
    this.#readsWaiting.clear();
  }

  #serveReadStates(rd: Ready): void {
    for (const rs of rd.readStates) {
      const r = this.#readsWaiting.get(rs.id);
      if (r === undefined) continue;
      this.#readsWaiting.delete(rs.id);
      clearTimeout(r.timer);
      for (const w of r.waiters) w.resolve(rs.index);
    }
  }

  /** Proposes on the leader, bounded by writeTimeoutMs; async mode answers blind writes at the fsync. */
  #executeHere(command: Command): Promise<{ index: number; result: CommandResult }> {
    const blind = this.mode === 'async' ? blindResult(command) : undefined;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          replicationError(
            'TIMEOUT',
            `not acknowledged within ${this.forwardLimits.writeTimeoutMs} ms (no majority?); the write may still apply`,
          ),
        );
      }, this.forwardLimits.writeTimeoutMs);
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

  #onControl(f: ControlFrame): void {
    if (f.type === 'hello') {
      // Only voters: a hello is the peer's word about itself, and a stranger's would grow these maps.
      if (!this.raft.config.voters.includes(f.id as NodeId) || f.id === this.id) return;
      this.#clientAddresses.set(f.id, f.clientAddress);
      this.#httpAddresses.set(f.id, f.httpAddress);
      return;
    }
    if (f.type === 'forward') {
      this.#serveForward(f.from, f.requestId, f.command);
      return;
    }
    if (f.type === 'read') {
      this.#serveRead(f.from, f.requestId);
      return;
    }
    if (f.type === 'read-reply' || (f.type === 'reply-error' && this.#readForwards.has(f.requestId))) {
      const r = this.#readForwards.get(f.requestId);
      if (r === undefined) return; // timed out already
      this.#readForwards.delete(f.requestId);
      clearTimeout(r.timer);
      if (f.type === 'read-reply') r.waiter.resolve(f.index as LogIndex);
      else r.waiter.reject(new DistkvError(f.code, f.message, { definite: true }));
      return;
    }
    const waiting = this.#forwards.get(f.requestId);
    if (waiting === undefined) return; // timed out already
    if (f.type === 'reply-error') {
      this.#forwards.delete(f.requestId);
      clearTimeout(waiting.timer);
      waiting.reject(new DistkvError(f.code, f.message, { definite: f.definite }));
      return;
    }
    // Answer once this node has applied the entry too, so a client reads its write here.
    const done = (): void => {
      if (this.#forwards.get(f.requestId) !== waiting) return; // timed out meanwhile
      this.#forwards.delete(f.requestId);
      clearTimeout(waiting.timer);
      waiting.resolve(f.result);
    };
    if (f.index === 0 || this.mode === 'async' || this.raft.log.applied >= f.index) done();
    else this.#appliedWaiters.push({ index: f.index, done });
  }

  #serveForward(from: string, requestId: number, commandBytes: Buffer): void {
    const fail = (code: string, message: string, definite: boolean): void => {
      this.#transport.sendControl(
        from as NodeId,
        encodeControl({ type: 'reply-error', from: this.id, requestId, code, message, definite }),
      );
    };
    if (this.raft.role !== 'leader') {
      fail('TRYAGAIN', `node ${this.id} is not the leader (leader: ${this.raft.leader ?? 'unknown'}); nothing was done`, true);
      return;
    }
    if (this.#forwardsServing >= this.forwardLimits.forwardsServingMax) {
      fail('FORWARDS_FULL', `the leader already serves ${this.forwardLimits.forwardsServingMax} forwarded writes`, true);
      return;
    }
    let command: Command;
    try {
      command = decodeCommand(commandBytes, this.#store.limits);
    } catch (err) {
      fail('ERR', `the forwarded command is invalid: ${(err as Error).message}`, true);
      return;
    }
    this.#forwardsServing++;
    this.#executeHere(command).then(
      ({ index, result }) => {
        this.#forwardsServing--;
        this.#transport.sendControl(from as NodeId, encodeControl({ type: 'reply', from: this.id, requestId, index, result }));
      },
      (err: unknown) => {
        this.#forwardsServing--;
        const e = err instanceof DistkvError ? err : undefined;
        let message = err instanceof Error ? err.message : String(err);
        if (e !== undefined && message.startsWith(`${e.code}: `)) message = message.slice(e.code.length + 2); // rebuilt there
        fail(e?.code ?? 'ERR', message, e?.definite ?? false);
      },
    );
  }

  /** Snapshots the store at its applied index and compacts the log there. */
  compact(): Promise<LogIndex | undefined> {
    return new Promise((resolve) => {
      this.#compactWaiters.push(resolve);
      this.#kick();
    });
  }

  /** Resolves once there is no Ready to carry out (tests use it to wait without sleeping blindly). */
  idle(): Promise<void> {
    if (!this.#pumping && !this.raft.hasReady()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const p of this.#pending.values()) {
      p.reject(replicationError('NODE_STOPPED', 'the node stopped before the proposal was acknowledged; it may still apply'));
    }
    this.#pending.clear();
    for (const f of this.#forwards.values()) {
      clearTimeout(f.timer);
      f.reject(replicationError('NODE_STOPPED', 'the node stopped before the leader answered; the write may still apply'));
    }
    this.#forwards.clear();
    for (const r of this.#readForwards.values()) {
      clearTimeout(r.timer);
      r.waiter.reject(replicationError('NODE_STOPPED', 'the node stopped'));
    }
    this.#readForwards.clear();
    for (const { waiters, timer } of this.#readsWaiting.values()) {
      clearTimeout(timer);
      for (const w of waiters) w.reject(replicationError('NODE_STOPPED', 'the node stopped'));
    }
    this.#readsWaiting.clear();
    this.#appliedWaiters = [];
    await this.#transport.close();
    while (this.#pumping) await new Promise((r) => setImmediate(r));
    await this.#log.close();
  }

  // #region failed
  /**
   * Settles, with the cause, if the node stopped on its own: its storage
   * failed (a full disk, an I/O error) while persisting Raft state. Such a
   * node must not linger as a zombie that answers clients but never
   * replicates again; whoever runs it should exit (fail-stop, as etcd does on
   * a WAL write error) so a supervisor restarts it and Raft catches it up.
   * Never settles after a graceful `stop()`.
   */
  get failed(): Promise<Error> {
    return this.#failed;
  }
  // #endregion failed

  #kick(): void {
    if (this.#pumping || this.#stopped) return;
    this.#pumping = true;
    void this.#pump().then(
      () => {
        this.#pumping = false;
        if (!this.#stopped && (this.raft.hasReady() || this.#compactWaiters.length > 0)) this.#kick();
        else for (const w of this.#idleWaiters.splice(0)) w();
      },
      (err: unknown) => {
        this.#pumping = false;
        this.#logLine(`replication node ${this.id} stopped: ${(err as Error).stack ?? err}`, 'error');
        this.#fail(err instanceof Error ? err : new Error(String(err)));
        void this.stop();
      },
    );
  }

  // #region pump
  async #pump(): Promise<void> {
    while (!this.#stopped && this.raft.hasReady()) {
      const rd = this.raft.ready();
      // Committed entries are on a majority's disks already, so applying them
      // (in memory) need not wait for this Ready's own fsync: replies to
      // clients leave one fsync earlier. A snapshot keeps the strict order.
      const applyFirst = rd.snapshot === undefined;
      if (applyFirst) this.#apply(rd);
      await this.#log.persist(rd); // 1. persist and sync
      this.#transport.sendAll(rd.messages); // 2. send
      if (this.mode === 'async' && rd.leaderDurableIndex !== undefined) this.#ackDurable(rd.leaderDurableIndex);
      if (rd.snapshot !== undefined) {
        await this.#restore(rd.snapshot.data); // 3. apply
        this.#snapshotsInstalled++;
        this.#logLine(`installed a snapshot at index ${rd.snapshot.meta.index} (term ${rd.snapshot.meta.term})`);
      }
      if (!applyFirst) this.#apply(rd);
      this.raft.advance(rd);
      if (rd.readStates.length > 0) this.#serveReadStates(rd);
      if (rd.softState !== undefined) this.#onSoftState(rd.softState.role, rd.softState.leader);
      if (this.#appliedWaiters.length > 0) this.#wakeApplied();
      const applied = this.raft.log.applied;
      if (applied - this.#log.storage.snapshot().meta.index >= this.#compactEveryEntries) await this.#compact();
    }
    if (this.#compactWaiters.length > 0 && !this.#stopped) {
      const at = await this.#compact();
      for (const w of this.#compactWaiters.splice(0)) w(at);
    }
  }
  // #endregion pump

  #wakeApplied(): void {
    const applied = this.raft.log.applied;
    const still: Array<{ index: number; done: () => void }> = [];
    for (const w of this.#appliedWaiters) {
      if (w.index <= applied) w.done();
      else still.push(w);
    }
    this.#appliedWaiters = still;
  }

  #ackDurable(index: LogIndex): void {
    for (const [i, p] of this.#pending) {
      if (i > index || p.awaitApply) continue;
      if (p.term === this.raft.term) p.resolve({ index: i as LogIndex, term: p.term, result: undefined });
      this.#pending.delete(i);
    }
  }

  #apply(rd: Ready): void {
    for (const e of rd.committedEntries) {
      const result = e.payload.byteLength === 0 ? undefined : this.#store.apply(decodeCommand(e.payload, this.#store.limits));
      const p = this.#pending.get(e.index);
      if (p === undefined) continue;
      this.#pending.delete(e.index);
      if (p.term === e.term) p.resolve({ index: e.index, term: e.term, result });
      else p.reject(replicationError('PROPOSAL_DROPPED', `entry ${e.term}/${e.index} was committed where the proposal stood`));
    }
  }

  async #restore(data: Uint8Array): Promise<void> {
    const store = new Store(this.#storeOptions);
    if (data.byteLength > 0) await store.restore([data]);
    this.#store = store;
  }

  async #compact(): Promise<LogIndex | undefined> {
    const index = this.raft.log.applied;
    if (index <= this.#log.storage.snapshot().meta.index) return undefined;
    const data = Buffer.concat([...this.#store.snapshot()]);
    await this.#log.compact(index, data);
    return index;
  }
}
