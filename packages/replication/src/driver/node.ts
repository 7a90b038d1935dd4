/**
 * The driver: one RaftNode brought to life. It turns milliseconds into
 * ticks, carries out each Ready in the documented order (persist through
 * the WAL, then send over TCP, then apply to the store), and answers
 * proposals in `sync` or `async` mode. All I/O of the replication layer is
 * here; the state machine stays pure.
 */
import { type Command, type CommandResult, decodeCommand, encodeCommand, Store, type StoreOptions } from '@distkv/core';
import type { RaftConfig, ReplicationLimits, ReplicationMode } from '../config.js';
import { replicationError } from '../errors.js';
import { RaftNode, type Ready, type Status } from '../raft.js';
import type { LogIndex, NodeId, Term } from '../types.js';
import { DurableLog } from './durable-log.js';
import { type PeerAddress, TcpTransport, type TransportLimits } from './transport.js';

export interface ReplicationNodeOptions {
  id: string;
  /** Phase 4: the leader, named by configuration. */
  leader: string;
  /** Every other voter and its peer address. */
  peers: ReadonlyMap<string, PeerAddress>;
  dataDir: string;
  mode: ReplicationMode;
  /** Where to listen for peers, or a transport already listening (tests pick port 0 first). */
  listen: PeerAddress | TcpTransport;
  /** Milliseconds per tick. Default 50. */
  tickMs?: number;
  heartbeatIntervalTicks?: number;
  electionTimeoutTicks?: number;
  limits?: Partial<ReplicationLimits>;
  transportLimits?: Partial<TransportLimits>;
  store?: StoreOptions;
  /** Snapshot and compact once this many entries were applied since the last snapshot. Default 10,000. */
  compactEveryEntries?: number;
  /** Operational messages (fatal errors). */
  log?: (line: string) => void;
}

export interface ProposeResult {
  index: LogIndex;
  term: Term;
  /** sync mode: the command's result as the leader applied it. async mode: undefined (acknowledged before applying). */
  result: CommandResult | undefined;
}

interface Pending {
  term: Term;
  resolve: (r: ProposeResult) => void;
  reject: (e: Error) => void;
}

export class ReplicationNode {
  readonly id: NodeId;
  readonly mode: ReplicationMode;
  readonly raft: RaftNode;
  #store: Store;
  readonly #storeOptions: StoreOptions;
  readonly #log: DurableLog;
  readonly #transport: TcpTransport;
  readonly #pending = new Map<number, Pending>();
  readonly #timer: NodeJS.Timeout;
  readonly #compactEveryEntries: number;
  readonly #logLine: (line: string) => void;
  #pumping = false;
  #stopped = false;
  #compactWaiters: Array<(index: LogIndex | undefined) => void> = [];
  #idleWaiters: Array<() => void> = [];

  private constructor(options: ReplicationNodeOptions, raft: RaftNode, log: DurableLog, store: Store, transport: TcpTransport) {
    this.id = raft.id;
    this.mode = options.mode;
    this.raft = raft;
    this.#log = log;
    this.#store = store;
    this.#storeOptions = options.store ?? {};
    this.#transport = transport;
    this.#compactEveryEntries = options.compactEveryEntries ?? 10_000;
    this.#logLine = options.log ?? (() => undefined);
    transport.onMessage((m) => {
      if (this.#stopped || m.to !== this.id) return;
      this.raft.step(m);
      this.#kick();
    });
    this.#timer = setInterval(() => {
      this.raft.tick();
      this.#kick();
    }, options.tickMs ?? 50);
    this.#kick();
  }

  static async start(options: ReplicationNodeOptions): Promise<ReplicationNode> {
    const { log, snapshot } = await DurableLog.open(options.dataDir);
    const store = new Store(options.store ?? {});
    if (snapshot.data.byteLength > 0) await store.restore([snapshot.data]);
    const ids = [options.id, ...options.peers.keys()] as NodeId[];
    const config: RaftConfig = {
      id: options.id as NodeId,
      voters: ids,
      leader: options.leader as NodeId,
      applied: snapshot.meta.index,
      heartbeatIntervalTicks: options.heartbeatIntervalTicks ?? 2,
      electionTimeoutTicks: options.electionTimeoutTicks ?? 20,
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
            options.transportLimits,
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
   * The `INFO replication` section, one `field:value` per line as Redis
   * prints it. `addresses` maps node ids to client addresses (the server
   * knows them; this layer only knows peer ports) for `leader_addr`.
   */
  info(addresses: ReadonlyMap<string, string> = new Map()): string {
    const s = this.raft.status();
    const lines = [
      `role:${s.role}`,
      `node_id:${s.id}`,
      `leader_id:${s.leader ?? ''}`,
      `leader_addr:${s.leader === null ? '' : (addresses.get(s.leader) ?? '')}`,
      `replication_mode:${this.mode}`,
      `term:${s.term}`,
      `commit_index:${s.commit}`,
      `applied_index:${s.applied}`,
      `first_index:${s.firstIndex}`,
      `last_index:${s.lastIndex}`,
    ];
    if (s.progress !== undefined) {
      let i = 0;
      for (const [id, p] of s.progress) {
        if (id === s.id) continue;
        lines.push(`follower${i++}:id=${id},state=${p.state},match_index=${p.match},lag=${s.lastIndex - p.match}`);
      }
    }
    return `${lines.join('\r\n')}\r\n`;
  }
  // #endregion info

  /** Leader only. Resolves per the mode; rejects NOT_LEADER, PROPOSALS_FULL, … (definite) or NODE_STOPPED (indefinite). */
  propose(command: Command): Promise<ProposeResult> {
    if (this.#stopped) return Promise.reject(replicationError('NODE_STOPPED', 'the node is stopped; nothing was proposed'));
    let p: { index: LogIndex; term: Term };
    try {
      p = this.raft.propose(encodeCommand(command));
    } catch (err) {
      return Promise.reject(err);
    }
    this.#kick();
    return new Promise((resolve, reject) => this.#pending.set(p.index, { term: p.term, resolve, reject }));
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
    await this.#transport.close();
    while (this.#pumping) await new Promise((r) => setImmediate(r));
    await this.#log.close();
  }

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
        this.#logLine(`replication node ${this.id} stopped: ${(err as Error).stack ?? err}`);
        void this.stop();
      },
    );
  }

  // #region pump
  async #pump(): Promise<void> {
    while (!this.#stopped && this.raft.hasReady()) {
      const rd = this.raft.ready();
      await this.#log.persist(rd); // 1. persist and sync
      for (const m of rd.messages) this.#transport.send(m); // 2. send
      if (this.mode === 'async' && rd.leaderDurableIndex !== undefined) this.#ackDurable(rd.leaderDurableIndex);
      if (rd.snapshot !== undefined) await this.#restore(rd.snapshot.data); // 3. apply
      this.#apply(rd);
      this.raft.advance(rd);
      const applied = this.raft.log.applied;
      if (applied - this.#log.storage.snapshot().meta.index >= this.#compactEveryEntries) await this.#compact();
    }
    if (this.#compactWaiters.length > 0 && !this.#stopped) {
      const at = await this.#compact();
      for (const w of this.#compactWaiters.splice(0)) w(at);
    }
  }
  // #endregion pump

  #ackDurable(index: LogIndex): void {
    for (const [i, p] of this.#pending) {
      if (i > index) continue;
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
