/**
 * A whole cluster in one process, deterministic: nodes (state machine +
 * simulated disk + a real `@distkv/core` Store), a simulated network, and a
 * checker that raises `InvariantViolation` the moment a safety property
 * breaks. The random simulator and the transcript tests both drive it.
 */
import { assert, commands, crc32c, decodeCommand, encodeCommand, Store } from '@distkv/core';
import { defaultReplicationLimits, type RaftConfig, type ReadMode, type ReplicationLimits } from '../config.js';
import { describeEntry, describeMessage, describeReady } from '../describe.js';
import type { ElectionFactory } from '../election-seam.js';
import { type ConfChange, decodeConfEntry, isConfPayload, isMember } from '../membership.js';
import { RaftNode, type ReadState, type Ready } from '../raft.js';
import { type Rng, seededRng } from '../rng.js';
import { catchUpStart, MemoryStorage } from '../storage.js';
import type { Entry, LogIndex, Message, NodeId, Snapshot, Term } from '../types.js';
import { SimDisk } from './disk.js';

/** A safety property failed. The message names it; the simulator adds the seed. */
export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function violated(what: string): never {
  throw new InvariantViolation(what);
}

export interface ClusterOptions {
  /** Node ids; the first is the configured leader unless `leader` says otherwise or `election` is set. */
  ids: readonly string[];
  leader?: string;
  /**
   * Phase 5: no configured leader; the nodes elect one. Called for each
   * node (re)starting, with randomness drawn from the cluster's seeded Rng,
   * e.g. `(id, rng) => raftElection({ rng })` from `@distkv/election`.
   */
  election?: (id: NodeId, rng: Rng) => ElectionFactory;
  readMode?: ReadMode;
  heartbeatIntervalTicks?: number;
  electionTimeoutTicks?: number;
  limits?: Partial<ReplicationLimits>;
  unsafe?: RaftConfig['unsafe'];
  /** Deliberate driver bugs (FoundationDB's BUGGIFY), to prove the checker finds them. */
  buggify?: {
    /** Send a Ready's messages and apply it before its writes are synced; sync later. */
    sendBeforePersist?: boolean;
  };
  /**
   * A leader's Ready with earlyMessages is carried out in two calls of
   * processReady, as the real driver's pump awaits its fsync: the first
   * sends the early messages and hands the writes to the disk unsynced;
   * the second syncs and does the rest. Steps, crashes and early applies
   * (applyCommitted) may come between. Default false: one call (the
   * transcripts).
   */
  splitLeaderPersist?: boolean;
  /** Decides torn writes on crash and similar choices. */
  rng: Rng;
  /**
   * Default true: every log must hold what was committed — checked when a
   * leader takes office (leader completeness) and whenever a node persists
   * entries (none may replace a committed one). false: only what nodes
   * apply is checked (state machine safety), so a run that breaks the logs
   * goes on until it shows the harm: two nodes that applied different
   * writes at one index — an acknowledged write lost. For Bully.
   */
  checkLogsHoldCommitted?: boolean;
  /** Most messages the network holds; beyond it the oldest is lost. */
  networkMessagesMax?: number;
  /**
   * Check every commit as the leader makes it: a majority of the voters in
   * force in its configuration then (its latest, committed or not) holds
   * the entry durably. Default false: the runs from before membership
   * changes report what they reported (their checks find the same bugs
   * at a crash); the membership nemesis turns it on.
   */
  checkCommitQuorum?: boolean;
}

export interface InFlight {
  readonly seq: number;
  readonly message: Message;
}

export class SimNode {
  readonly id: NodeId;
  readonly disk = new SimDisk();
  raft: RaftNode | undefined;
  storage = new MemoryStorage();
  store = new Store();
  /** Index of the last entry applied to `store` in this incarnation. */
  appliedIndex = 0 as LogIndex;
  /** buggify.sendBeforePersist: writes handed to the disk but not yet synced. */
  syncOwed = false;
  /** splitLeaderPersist: the Ready whose early messages left and whose writes await their sync. */
  owedReady: Ready | undefined;
  /** The owed Ready's committed entries were applied already, by an early apply (the driver applies them before its fsync). */
  owedApplied = false;
  constructor(id: NodeId) {
    this.id = id;
  }
  get up(): boolean {
    return this.raft !== undefined;
  }
}

function payloadHash(payload: Uint8Array): string {
  return `${payload.byteLength}:${crc32c(payload)}`;
}

/**
 * The application's snapshot in the simulator: the whole store as one
 * encoded `mput` command, built and restored synchronously through core's
 * stable public API (scan, encodeCommand, apply). `Store.snapshot()` and
 * the async `Store.restore()` are the driver's job; the simulator stays
 * synchronous so that one seed is one deterministic run. Small stores only
 * (limits.batchKeysMax).
 */
export function snapshotStore(store: Store): Uint8Array {
  const entries = store.scan();
  if (entries.length === 0) return new Uint8Array(0);
  return encodeCommand(commands.mput(entries));
}

export function restoreStore(data: Uint8Array): Store {
  const store = new Store();
  if (data.byteLength === 0) return store;
  const result = store.apply(decodeCommand(data));
  assert(result.ok, 'a snapshot restores into an empty store');
  return store;
}

export class SimCluster {
  readonly ids: readonly NodeId[];
  /** The configured leader (phase 4); when electing, the first id, with no special role: see `currentLeader()`. */
  readonly leaderId: NodeId;
  readonly electing: boolean;
  readonly nodes = new Map<NodeId, SimNode>();
  /** The network: messages sent and not yet delivered or lost. */
  network: InFlight[] = [];
  /** Directed links that lose everything, as "from->to". */
  readonly blocked = new Set<string>();
  readonly options: ClusterOptions;
  #seq = 0;
  /** Called for every confirmed read a node reports (the simulator checks them). */
  onReadState: ((id: NodeId, rs: ReadState) => void) | undefined;
  // ---- checker state ----
  /** What was applied at each index, by any node: never changes once set. */
  readonly applied = new Map<number, { term: Term; hash: string }>();
  /** Highest index any node applied. */
  appliedIndexMax = 0;
  /** Every (index, term) ever persisted: its payload and the term before it. */
  readonly persisted = new Map<string, { hash: string; prevTerm: Term | undefined }>();
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** Store digests at snapshot points, to compare restores with the original. */
  readonly digestAt = new Map<number, string>();
  readonly stats = {
    proposals: 0,
    readies: 0,
    delivered: 0,
    lost: 0,
    crashes: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    /** Distinct terms in which some node led. */
    leaderTerms: 0,
    /** splitLeaderPersist: Readys whose early messages left before their writes were synced. */
    earlySends: 0,
    /** Committed entries applied outside a Ready (applyCommitted). */
    earlyApplies: 0,
  };

  constructor(options: ClusterOptions) {
    assert(options.ids.length > 0, 'a cluster has nodes');
    this.options = options;
    this.ids = options.ids.map((s) => s as NodeId);
    this.leaderId = (options.leader ?? options.ids[0]) as NodeId;
    this.electing = options.election !== undefined;
    for (const id of this.ids) {
      this.nodes.set(id, new SimNode(id));
      this.restart(id);
    }
  }

  /** Nodes started by `addNode`: not members when they start, they join through the leader's membership changes. */
  readonly joined: NodeId[] = [];
  /** Every configuration entry committed, as first applied anywhere (the apply check holds every node to the same): for statistics. */
  readonly confCommitted: { index: LogIndex; term: Term; change: ConfChange }[] = [];
  /**
   * What each committed index's entry was committed under: the voters of
   * the configuration in force on the leader that committed it (its latest,
   * committed or not: single-server changes take effect on append), which
   * may be one change past the entry's own (a promotion appended after
   * it). Recorded as the leader commits (#checkCommits); the first node to
   * apply an index records it only if no commit was seen (a transcript
   * driving a node by hand).
   */
  readonly votersAt = new Map<number, readonly NodeId[]>();
  /** Each leader's commit index as last seen in its term, to find what it commits next. */
  readonly #commitSeen = new Map<NodeId, { term: Term; index: LogIndex }>();

  /** Every node, the initial members and those added since. */
  get allIds(): readonly NodeId[] {
    return [...this.ids, ...this.joined];
  }

  /** Starts a new, empty node that is not yet a member (membership, chapter 5): the leader adds it with `proposeConfChange`. */
  addNode(id: string): void {
    assert(!this.nodes.has(id as NodeId), `node ${id} exists`);
    this.joined.push(id as NodeId);
    this.nodes.set(id as NodeId, new SimNode(id as NodeId));
    this.restart(id as NodeId);
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id as NodeId);
    assert(n !== undefined, `no node ${id}`);
    return n;
  }

  raft(id: string): RaftNode {
    const r = this.node(id).raft;
    assert(r !== undefined, `node ${id} is down`);
    return r;
  }

  /** The up node that leads the highest term, if any. */
  currentLeader(): NodeId | undefined {
    let best: RaftNode | undefined;
    for (const n of this.nodes.values()) {
      const r = n.raft;
      if (r !== undefined && r.role === 'leader' && (best === undefined || r.term > best.term)) best = r;
    }
    return best?.id;
  }

  // ---- life cycle ----------------------------------------------------------------

  /** Starts (or restarts) a node from what its disk holds durably. */
  restart(id: NodeId): void {
    const n = this.node(id);
    assert(!n.up, `node ${id} is already up`);
    const d = n.disk.synced;
    n.storage = new MemoryStorage();
    n.storage.restore(d.snapshot, d.start ?? d.snapshot.meta, d.entries);
    n.storage.setHardState(d.hardState);
    n.store = restoreStore(d.snapshot.data);
    n.appliedIndex = d.snapshot.meta.index;
    n.syncOwed = false;
    n.owedReady = undefined;
    n.owedApplied = false;
    const o = this.options;
    const config: RaftConfig = {
      id,
      // A joined node starts with no members and learns them from the leader's log or snapshot.
      ...(this.joined.includes(id) ? { voters: [], join: true } : { voters: this.ids }),
      // Each incarnation draws its election timeouts from the cluster's seeded Rng.
      ...(o.election !== undefined ? { election: o.election(id, seededRng(o.rng.int(2 ** 31))) } : { leader: this.leaderId }),
      ...(o.readMode !== undefined ? { readMode: o.readMode } : {}),
      applied: d.snapshot.meta.index,
      ...(this.options.heartbeatIntervalTicks !== undefined
        ? { heartbeatIntervalTicks: this.options.heartbeatIntervalTicks }
        : {}),
      ...(this.options.electionTimeoutTicks !== undefined ? { electionTimeoutTicks: this.options.electionTimeoutTicks } : {}),
      ...(this.options.limits !== undefined ? { limits: this.options.limits } : {}),
      ...(this.options.unsafe !== undefined ? { unsafe: this.options.unsafe } : {}),
    };
    n.raft = new RaftNode(config, n.storage);
    this.#checkLeaders();
  }

  /**
   * Power loss. `midReady`: the crash strikes while the node is persisting
   * its next Ready — its writes reach the page cache, then a random prefix
   * of them survives and nothing is sent.
   */
  /** `keepWrites`: how many of the writes not yet synced survive (default: the Rng decides; a test picks). */
  crash(id: NodeId, options: { midReady?: boolean; keepWrites?: number } = {}): void {
    const n = this.node(id);
    assert(n.raft !== undefined, `node ${id} is already down`);
    if (options.midReady === true && n.raft.hasReady()) this.#writeReady(n, n.raft.ready());
    n.disk.crash(options.keepWrites ?? this.options.rng.int(n.disk.pending.length + 1));
    n.raft = undefined;
    this.stats.crashes++;
    this.#checkCommittedDurable();
  }

  // ---- inputs --------------------------------------------------------------------

  tick(id: NodeId): void {
    this.raft(id).tick();
    this.#checkLeaders(); // a tick can make a leader (one voter, or a policy)
  }

  propose(id: NodeId, payload: Uint8Array): { index: LogIndex; term: Term } {
    const p = this.raft(id).propose(payload);
    this.stats.proposals++;
    return p;
  }

  /** Delivers one in-flight message (by position in `network`); returns it and whether it arrived. */
  deliver(position: number, options: { keepCopy?: boolean } = {}): { message: Message; arrived: boolean } {
    const f = this.network[position];
    assert(f !== undefined, 'deliver a message that is in flight');
    if (options.keepCopy !== true) this.network.splice(position, 1);
    const m = f.message;
    const to = this.node(m.to);
    if (to.raft === undefined || this.blocked.has(`${m.from}->${m.to}`)) {
      this.stats.lost++;
      return { message: m, arrived: false };
    }
    to.raft.step(m);
    this.stats.delivered++;
    this.#checkLeaders();
    return { message: m, arrived: true };
  }

  /** Loses one in-flight message. */
  drop(position: number): Message {
    const [f] = this.network.splice(position, 1);
    assert(f !== undefined, 'drop a message that is in flight');
    this.stats.lost++;
    return f.message;
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.blocked.clear();
    for (const g of groups) {
      for (const h of groups) {
        if (g === h) continue;
        for (const a of g) for (const b of h) this.blocked.add(`${a}->${b}`);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  /**
   * The node snapshots its store at its applied index and compacts its log
   * there, keeping a catch-up tail before it as the driver does, but only
   * when the cluster's limits set snapshotCatchUpEntries (the transcripts
   * cut the log at the snapshot, as the paper's §7 does).
   */
  compact(id: NodeId): LogIndex | undefined {
    const n = this.node(id);
    assert(n.raft !== undefined, `node ${id} is down`);
    const index = n.appliedIndex;
    if (index <= n.storage.snapshot().meta.index) return undefined;
    if (index > n.storage.lastIndex()) return undefined; // applied but not yet in stable storage (buggify only)
    const data = snapshotStore(n.store);
    const t = n.storage.term(index);
    assert(t !== undefined, 'the applied index is in the log');
    const digest = n.store.digest();
    const known = this.digestAt.get(index);
    if (known !== undefined && known !== digest)
      violated(`node ${id}: state at ${index} is ${digest}, another node had ${known}`);
    this.digestAt.set(index, digest);
    const limits = this.options.limits;
    const keepFrom = catchUpStart(
      n.storage,
      index,
      limits?.snapshotCatchUpEntries ?? 0,
      limits?.snapshotCatchUpBytes ?? defaultReplicationLimits.snapshotCatchUpBytes,
    );
    const conf = n.raft.confAt(index);
    n.disk.write({ kind: 'compact', snapshot: { meta: { index, term: t, conf }, data }, keepFrom });
    n.disk.sync();
    n.storage.compact(index, data, keepFrom, conf);
    return index;
  }

  // ---- the driver: carrying out a Ready ---------------------------------------------

  /** Carries out one Ready of node `id` in the documented order; returns it (for transcripts). */
  processReady(id: NodeId): Ready | undefined {
    const n = this.node(id);
    const raft = n.raft;
    if (raft === undefined) return undefined;
    const owed = n.owedReady;
    if (owed !== undefined) {
      n.owedReady = undefined;
      return this.#finishReady(n, raft, owed);
    }
    if (!raft.hasReady()) return undefined;
    const rd = raft.ready();
    this.stats.readies++;
    // #region driver-order
    for (const m of rd.earlyMessages) this.#send(m); // 0. an elected leader's appends, before its persist
    this.#writeReady(n, rd); // 1. persist (handed to the disk) ...
    if (rd.earlyMessages.length > 0 && this.options.splitLeaderPersist === true) {
      n.owedReady = rd; // the fsync is under way: the rest waits for the next call
      this.stats.earlySends++;
      return rd;
    }
    return this.#finishReady(n, raft, rd);
    // #endregion driver-order
  }

  /** The rest of a Ready whose writes were handed to the disk: sync, send, apply, acknowledge. */
  #finishReady(n: SimNode, raft: RaftNode, rd: Ready): Ready {
    const id = n.id;
    // #region driver-order-finish
    if (this.options.buggify?.sendBeforePersist === true) {
      n.syncOwed = true; // BUG on purpose: sync later, after sending
    } else {
      n.disk.sync(); // ... and sync before anything else
    }
    this.#afterPersist(n, rd);
    for (const m of rd.messages) this.#send(m); // 2. send
    if (rd.snapshot !== undefined) this.#installSnapshot(n, rd.snapshot); // 3. apply
    if (!n.owedApplied) for (const e of rd.committedEntries) this.#apply(n, e);
    n.owedApplied = false;
    raft.advance(rd); // 4. acknowledge
    this.#checkCommits(); // the leader's own fsync can commit
    for (const rs of rd.readStates) this.onReadState?.(id, rs); // 5. serve reads (after applying)
    // #endregion driver-order-finish
    return rd;
  }

  /**
   * The driver's early apply (ReadyPump.kick while a Ready is being
   * persisted): a leader applies what committed since, outside any Ready.
   * The apply checks (in order, no gaps, same entry everywhere) hold it to
   * the same rules as a Ready's committed entries.
   */
  applyCommitted(id: NodeId): void {
    const n = this.node(id);
    if (!n.up || n.raft === undefined) return;
    // The driver applies a Ready's committed entries before its fsync (ReadyPump's applyFirst), so an
    // early apply comes after them; a split Ready here applies them in its second half, so they are
    // applied now, as the driver would have, and the second half skips them. (Before, the early apply
    // overtook them: "applied 2 after 0", a false alarm that was all the fixed-leader early-send test caught.)
    const owed = n.owedReady;
    if (owed !== undefined && owed.snapshot === undefined && !n.owedApplied) {
      for (const e of owed.committedEntries) this.#apply(n, e);
      n.owedApplied = true;
    }
    for (const e of n.raft.takeCommitted()) {
      this.#apply(n, e);
      this.stats.earlyApplies++;
    }
  }

  /** buggify.sendBeforePersist: the late sync. */
  syncOwed(id: NodeId): void {
    const n = this.node(id);
    if (n.up && n.syncOwed) {
      n.disk.sync();
      n.syncOwed = false;
    }
  }

  #writeReady(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) n.disk.write({ kind: 'snapshot', snapshot: rd.snapshot });
    if (rd.entries.length > 0) n.disk.write({ kind: 'entries', entries: rd.entries });
    if (rd.hardState !== undefined) n.disk.write({ kind: 'hardState', hardState: rd.hardState });
  }

  #afterPersist(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      n.storage.append(rd.entries);
      this.#checkPersistedEntries(n, rd.entries);
    }
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
  }

  #send(m: Message): void {
    if (m.type === 'MsgSnap' && m.offset === 0) this.stats.snapshotsSent++;
    this.network.push({ seq: this.#seq++, message: m });
    const max = this.options.networkMessagesMax ?? 10_000;
    if (this.network.length > max) {
      this.network.shift();
      this.stats.lost++;
    }
  }

  #installSnapshot(n: SimNode, snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    n.store = restoreStore(snapshot.data);
    n.appliedIndex = index;
    this.stats.snapshotsInstalled++;
    const known = this.digestAt.get(index);
    const digest = n.store.digest();
    if (known !== undefined && known !== digest)
      violated(`node ${n.id}: snapshot at ${index} restores ${digest}, expected ${known}`);
  }

  // #region check-apply
  #apply(n: SimNode, e: Entry): void {
    if (e.index !== n.appliedIndex + 1)
      violated(`node ${n.id} applied ${e.index} after ${n.appliedIndex}: applies must be in order, without gaps`);
    const hash = payloadHash(e.payload);
    const first = this.applied.get(e.index);
    if (first === undefined) {
      this.applied.set(e.index, { term: e.term, hash });
      const conf = isConfPayload(e.payload) ? decodeConfEntry(e.payload) : undefined;
      if (conf !== undefined) this.confCommitted.push({ index: e.index, term: e.term, change: conf.change });
    } else if (first.term !== e.term || first.hash !== hash) {
      violated(
        `node ${n.id} applied ${describeEntry(e)} at ${e.index}, but ${first.term}/${e.index} was applied there before: state machine safety`,
      );
    }
    if (e.index > this.appliedIndexMax) this.appliedIndexMax = e.index;
    // A node that joins applies entries from before it was added under no configuration of its own: not its voters.
    if (!this.votersAt.has(e.index) && n.raft !== undefined && !this.joined.includes(n.id))
      this.votersAt.set(e.index, n.raft.confAt(e.index).voters);
    // A membership change is Raft's own entry: it took effect when appended, and the store never sees it.
    if (e.payload.byteLength > 0 && !isConfPayload(e.payload)) n.store.apply(decodeCommand(e.payload));
    n.appliedIndex = e.index;
    const known = this.digestAt.get(e.index);
    if (known !== undefined && known !== n.store.digest())
      violated(`node ${n.id}: state after ${e.index} differs from a snapshot taken there`);
  }
  // #endregion check-apply

  // #region check-log
  /**
   * Log matching (§5.3), checked incrementally as entries are persisted: one
   * (index, term) always names the same payload and the same preceding
   * term, anywhere. By induction two logs that share an (index, term)
   * share everything before it. And no entry of a later term is ever
   * written where a committed (applied) entry stands.
   */
  #checkPersistedEntries(n: SimNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      const committed = this.applied.get(e.index);
      // An entry of a *later* term at a committed index means its leader
      // lacked the committed entry. An *earlier* term is legal: a deposed
      // leader may still persist its own uncommitted entries (the strict
      // check failed on this: @distkv/election's leader-churn generator,
      // seed 582); they are never applied, which the apply check verifies.
      if (committed !== undefined && committed.term < e.term && this.options.checkLogsHoldCommitted !== false) {
        violated(`node ${n.id} persisted ${describeEntry(e)} over committed entry ${committed.term}/${e.index}`);
      }
      const prevTerm = n.storage.term((e.index - 1) as LogIndex);
      const key = `${e.index}/${e.term}`;
      const hash = payloadHash(e.payload);
      const seen = this.persisted.get(key);
      if (seen === undefined) {
        this.persisted.set(key, { hash, prevTerm });
      } else if (seen.hash !== hash) {
        violated(`log matching: two different entries are ${e.term}/${e.index} (node ${n.id})`);
      } else if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        violated(
          `log matching: ${e.term}/${e.index} follows term ${prevTerm} on node ${n.id} but term ${seen.prevTerm} elsewhere`,
        );
      }
    }
  }
  // #endregion check-log

  #checkLeaders(): void {
    for (const n of this.nodes.values()) {
      const r = n.raft;
      if (r === undefined || r.role !== 'leader') continue;
      const other = this.leaderOfTerm.get(r.term);
      if (other === undefined) {
        this.leaderOfTerm.set(r.term, n.id);
        this.stats.leaderTerms++;
        if (this.options.checkLogsHoldCommitted !== false) this.#checkLeaderCompleteness(n.id, r);
      } else if (other !== n.id) violated(`election safety: ${other} and ${n.id} both lead term ${r.term}`);
    }
    this.#checkCommits();
  }

  // #region check-commits
  /**
   * What each leader commits, as it commits it: recorded with the voters of
   * the configuration in force on it (`votersAt`, for the durability check
   * at each crash), and with `checkCommitQuorum`, checked: "no commit by a
   * set that is not a majority of the configuration in force", against
   * what the disks hold, not the leader's own bookkeeping.
   */
  #checkCommits(): void {
    for (const n of this.nodes.values()) {
      const r = n.raft;
      if (r === undefined || r.role !== 'leader') continue;
      const committed = r.log.committed;
      const seen = this.#commitSeen.get(n.id);
      // A node that takes office has committed nothing yet as leader of its term: what it holds was committed before.
      if (seen === undefined || seen.term !== r.term || committed < seen.index) {
        this.#commitSeen.set(n.id, { term: r.term, index: committed });
        continue;
      }
      if (committed === seen.index) continue;
      const voters = r.conf.voters;
      for (let i = seen.index + 1; i <= committed; i++) {
        if (!this.votersAt.has(i)) this.votersAt.set(i, voters);
        if (this.options.checkCommitQuorum !== true) continue;
        const t = r.log.term(i as LogIndex);
        assert(t !== undefined, 'a leader holds what it commits');
        let holders = 0;
        for (const id of voters) if (this.nodes.get(id)?.disk.holds(i as LogIndex, t) === true) holders++;
        if (holders < Math.floor(voters.length / 2) + 1) {
          violated(
            `${n.id} committed ${t}/${i} in term ${r.term}, but only ${holders} of its ${voters.length} voters (${voters.join(',')}) hold it durably: not a majority of the configuration in force`,
          );
        }
      }
      seen.index = committed;
    }
  }
  // #endregion check-commits

  // #region check-leader-completeness
  /**
   * §5.4 leader completeness: "If a log entry is committed in a given term,
   * then that entry will be present in the logs of the leaders for all
   * higher-numbered terms." Checked when a leader takes office, against
   * every entry any node has applied, except those of later terms than its
   * own: a vote that arrives seconds late (a lossy link) can make a leader
   * of an older term after a newer one committed, and that leader cannot
   * hold them (nor commit anything: every follower has a higher term).
   */
  #checkLeaderCompleteness(id: NodeId, r: RaftNode): void {
    const first = r.log.firstIndex();
    for (let i = first; i <= this.appliedIndexMax; i++) {
      const e = this.applied.get(i);
      if (e === undefined || e.term > r.term) continue;
      const t = r.log.term(i as LogIndex);
      if (t !== e.term) {
        violated(
          `leader completeness: ${id} leads term ${r.term} without committed entry ${e.term}/${i} (it has ${t === undefined ? 'nothing' : `${t}/${i}`})`,
        );
      }
    }
  }
  // #endregion check-leader-completeness

  /** A committed entry is durable on a majority, so no crash can make it vanish. */
  #checkCommittedDurable(): void {
    const c = this.appliedIndexMax;
    if (c === 0) return;
    const entry = this.applied.get(c);
    assert(entry !== undefined, 'the highest applied index was recorded');
    // A majority of the voters in force at that index (with membership changes, not of every node).
    const voters = this.votersAt.get(c) ?? this.ids;
    let holders = 0;
    for (const id of voters) if (this.nodes.get(id)?.disk.holds(c as LogIndex, entry.term) === true) holders++;
    if (holders < Math.floor(voters.length / 2) + 1) {
      violated(`committed entry ${entry.term}/${c} is durable on only ${holders} of ${voters.length} nodes`);
    }
  }

  /** After the run: every node is up, has applied everything the leader has, and all states are equal. */
  checkConverged(): string | undefined {
    const leaderId = this.electing ? this.currentLeader() : this.leaderId;
    const leader = leaderId === undefined ? undefined : this.nodes.get(leaderId)?.raft;
    if (leader === undefined) return this.electing ? 'no leader' : 'the leader is down';
    const last = leader.log.lastIndex();
    if (leader.log.committed !== last) return `leader committed ${leader.log.committed} of ${last}`;
    const digests = new Set<string>();
    for (const n of this.nodes.values()) {
      if (!isMember(leader.conf, n.id)) continue; // removed, or never added: it gets nothing more
      if (!n.up) return `node ${n.id} is down`;
      if (n.appliedIndex !== last) return `node ${n.id} applied ${n.appliedIndex} of ${last}`;
      digests.add(n.store.digest());
    }
    if (digests.size !== 1) return `digests differ: ${[...digests].join(' ')}`;
    return undefined;
  }

  /** Processes Readys and delivers every message until nothing moves (at most `roundsMax` rounds). Returns rounds used. */
  settle(roundsMax: number, onEvent?: (line: string) => void): number {
    for (let round = 0; round < roundsMax; round++) {
      let moved = false;
      for (const id of this.allIds) {
        this.syncOwed(id);
        const rd = this.processReady(id);
        if (rd !== undefined) {
          moved = true;
          if (onEvent !== undefined) for (const l of describeReady(rd)) onEvent(`${id}: ${l}`);
        }
      }
      while (this.network.length > 0) {
        moved = true;
        const { message, arrived } = this.deliver(0);
        onEvent?.(`${describeMessage(message)}${arrived ? '' : ' (lost)'}`);
      }
      if (!moved) return round;
    }
    return roundsMax;
  }
}
