/**
 * The chaos harness's cluster: the workspace's one process harness
 * (`ProcessCluster` from @distkv/cli/testing: real `distkv server`
 * processes, reserved peer ports, client port 0 read back, exits told from
 * crashes) with every peer link routed through a FaultProxy. Each node B
 * has one ingress address (an IngressProxy), the one in every `--peers`
 * and its `--advertise-peer`, so a node that joins later is reached there
 * too; the ingress tells the link A → B from the hello A sends first, and
 * hands the connection to that link's FaultProxy, which forwards to B's
 * peer port. What it adds is what only chaos needs: partitions and lossy
 * links (the proxies), full disks (a filler file on each node's own
 * tmpfs), nodes added by `--join` and retired once removed, the leader as
 * the highest term that claims it, and healing everything at once.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessCluster } from '@distkv/cli/testing';
import { mulberry32 } from '@distkv/core/testing';
import { reservePort } from '@distkv/net/testing';
import { FaultProxy, IngressProxy } from './proxy.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The servers run from this checkout, or from DISTKV_CHAOS_ROOT (another
 * checkout with its own node_modules, e.g. a `git archive` of a commit): a
 * long run then tests one fixed version while the working tree moves on.
 */
export const serverRoot = process.env.DISTKV_CHAOS_ROOT ?? repoRoot;

/** Each node's tmpfs when the disk nemesis may fill it. */
const DISK_BYTES = 48 << 20;

export interface ClusterOptions {
  nodes: number;
  election: 'raft' | 'bully';
  replication: 'sync' | 'async';
  readMode: 'read-index' | 'lease' | 'stale';
  /** Put each data dir on its own small tmpfs, so the disk nemesis can fill it (needs root). */
  smallDisks: boolean;
  writeTimeoutMs: number;
  snapshotEvery: number;
  /** Extra server flags. */
  extra?: string[];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How a lossy link behaves (see FaultProxy's `loss`), without the per-link seed. */
export interface LossRates {
  rate: number;
  resetRate: number;
}

export class ChaosCluster {
  /** The processes: start, kill, pause, resume, INFO, clients. */
  readonly processes: ProcessCluster;
  /** proxies.get(a).get(b): the link a uses to reach b (made when first needed). */
  readonly proxies = new Map<string, Map<string, FaultProxy>>();
  /** node id -> the address the others dial it at. */
  readonly #ingress = new Map<string, { proxy: IngressProxy; port: number; peerPort: number; unknown: FaultProxy }>();
  /** Nodes being removed: their exit (0, once told) is ours, not a crash. */
  readonly #leaving = new Set<string>();
  /** Nodes being added or removed right now: faults leave them alone, and healing does not restart them. */
  readonly #changing = new Set<string>();
  /** Connections whose first frame named no sender (routed unfaulted): a hello format the ingress misreads shows here. */
  unknownSenders = 0;
  readonly options: ClusterOptions;
  /** node id -> the filler file the disk nemesis wrote on its tmpfs. */
  readonly #fillers = new Map<string, string>();
  /** node id -> which of its starts had its disk filled (a fail-stop may come after the disk is freed). */
  readonly #filledStart = new Map<string, number>();

  private constructor(processes: ProcessCluster, options: ClusterOptions) {
    this.processes = processes;
    this.options = options;
    // A node whose disk we filled may fail-stop (exit 3): that exit is ours, not a crash.
    processes.expectExit = (id) => this.#filledStart.get(id) === processes.starts(id) || this.#leaving.has(id);
  }

  static async create(options: ClusterOptions): Promise<ChaosCluster> {
    const o = options;
    const processes = await ProcessCluster.create(o.nodes, {
      bin: join(serverRoot, 'packages', 'cli', 'bin', 'distkv.mjs'),
      // biome-ignore format: one flag per pair reads better
      flags: ['--election', o.election, '--replication', o.replication, '--read-mode', o.readMode,
        '--write-timeout-ms', String(o.writeTimeoutMs), '--snapshot-every', String(o.snapshotEvery), '--quiet',
        ...(o.extra ?? [])],
      listenTimeoutMs: 90_000,
      http: true, // admin endpoints: the membership nemesis changes the members through them
      ...(o.smallDisks ? { tmpfsBytes: DISK_BYTES } : {}),
    });
    const c = new ChaosCluster(processes, options);
    for (const id of processes.ids) await c.#listen(id);
    processes.routePeers((_from, to) => c.#address(to));
    processes.advertisePeers((id) => c.#address(id));
    return c;
  }

  #address(id: string): string {
    const ingress = this.#ingress.get(id);
    if (ingress === undefined) throw new Error(`${id} has no ingress`);
    return `127.0.0.1:${ingress.port}`;
  }

  /** The ingress of `to`: connections from A go to link(A, to); those that name nobody, unfaulted. */
  async #listen(to: string, peerPort = this.processes.peerPort(to)): Promise<void> {
    const unknown = new FaultProxy({ port: peerPort });
    const proxy = new IngressProxy((from) => {
      if (from !== undefined) return this.link(from, to);
      this.unknownSenders++;
      return unknown;
    });
    this.#ingress.set(to, { proxy, port: await proxy.listen(), peerPort, unknown });
  }

  /** The link `from` uses to reach `to`, made on first use (healthy). */
  link(from: string, to: string): FaultProxy {
    let row = this.proxies.get(from);
    if (row === undefined) {
      row = new Map();
      this.proxies.set(from, row);
    }
    let proxy = row.get(to);
    if (proxy === undefined) {
      proxy = new FaultProxy({ port: this.#ingress.get(to)?.peerPort ?? this.processes.peerPort(to) });
      row.set(to, proxy);
    }
    return proxy;
  }

  /** A fresh node for the running cluster (started by the caller: processes.start(id) runs `--join`). */
  async addNode(id: string, flags: readonly string[] = []): Promise<void> {
    // Its ingress first: a node that (re)starts meanwhile names every member in --peers, this one included.
    const peerPort = await reservePort();
    await this.#listen(id, peerPort);
    await this.processes.addNode(id, { flags, peerPort });
  }

  /** A node whose removal is under way: its exit from now on is expected (it exits 0 once told). */
  leaving(id: string, yes = true): void {
    if (yes) this.#leaving.add(id);
    else this.#leaving.delete(id);
  }

  /** Out of the cluster for good: killed if it still runs, its ingress and links closed. */
  async retire(id: string): Promise<void> {
    this.#leaving.add(id);
    await this.processes.retire(id);
    const ingress = this.#ingress.get(id);
    this.#ingress.delete(id);
    await ingress?.proxy.close();
    await ingress?.unknown.close();
    for (const [from, row] of this.proxies) {
      if (from === id) for (const p of row.values()) await p.close();
      await row.get(id)?.close();
      row.delete(id);
    }
    this.proxies.delete(id);
  }

  get ids(): readonly string[] {
    return this.processes.ids;
  }

  /** The members no change is under way for: the ones the fault nemeses pick from. */
  get steady(): string[] {
    return this.ids.filter((id) => !this.#changing.has(id));
  }

  /** Marks a node as being added or removed (or no longer). */
  changing(id: string, yes: boolean): void {
    if (yes) this.#changing.add(id);
    else this.#changing.delete(id);
  }

  get root(): string {
    return this.processes.root;
  }

  /** Whether the data dirs really are small tmpfs mounts (smallDisks asked, and mount worked). */
  get disksMounted(): boolean {
    return this.processes.tmpfsMounted;
  }

  get diskSkipReason(): string {
    return this.processes.tmpfsSkipReason;
  }

  // #region partition
  /** Cuts every link between the two sides (both directions). `mode` picks how (see FaultProxy). */
  cut(a: string, b: string, mode: 'stall' | 'reset'): void {
    this.link(a, b).set({ kind: mode });
    this.link(b, a).set({ kind: mode });
  }

  /** Partitions into groups: links inside a group work, links across are cut. */
  partition(groups: string[][], mode: 'stall' | 'reset' = 'reset'): void {
    this.healNetwork();
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const id of g) groupOf.set(id, i);
    });
    // A node in no group (one joining or leaving) keeps all its links.
    for (const a of this.ids)
      for (const b of this.ids) {
        const [ga, gb] = [groupOf.get(a), groupOf.get(b)];
        if (a < b && ga !== undefined && gb !== undefined && ga !== gb) this.cut(a, b, mode);
      }
  }
  // #endregion partition

  /** A bridge: `bridge` talks to both halves, which do not talk to each other. */
  bridge(left: string[], bridge: string, right: string[], mode: 'stall' | 'reset' = 'reset'): void {
    this.healNetwork();
    for (const a of left) for (const b of right) this.cut(a, b, mode);
    void bridge;
  }

  // #region loss
  /**
   * Makes every link to and from each of `nodes` lossy (both directions),
   * each link with a seed of its own drawn from `seed`: the same run seed
   * drops the same sequence of chunks and connections on each link.
   */
  lossy(nodes: readonly string[], rates: LossRates, seed: number): void {
    this.healNetwork();
    const rng = mulberry32(seed);
    for (const a of this.ids)
      for (const b of this.ids)
        if (a !== b && (nodes.includes(a) || nodes.includes(b)))
          this.link(a, b).set({ kind: 'loss', ...rates, seed: Math.floor(rng() * 2 ** 32) });
  }
  // #endregion loss

  /** Chunks delayed and connections reset by lossy links so far, over every proxy. */
  lossCounts(): { delayed: number; resets: number } {
    let delayed = 0;
    let resets = 0;
    for (const row of this.proxies.values())
      for (const p of row.values()) {
        delayed += p.lossDelayed;
        resets += p.lossResets;
      }
    return { delayed, resets };
  }

  healNetwork(): void {
    for (const row of this.proxies.values()) for (const p of row.values()) p.heal();
  }

  isFilled(id: string): boolean {
    return this.#fillers.has(id);
  }

  /** Fills the node's tmpfs until ENOSPC (bounded by the mount's size). */
  fillDisk(id: string): boolean {
    if (!this.disksMounted || this.#fillers.has(id)) return false;
    const path = join(this.processes.dataDir(id), 'chaos-filler');
    this.#fillers.set(id, path);
    this.#filledStart.set(id, this.processes.starts(id));
    const fd = openSync(path, 'w');
    const chunk = Buffer.alloc(1 << 20);
    try {
      // 48 MiB mount: at most 64 chunks of 1 MiB, then single pages for the rest.
      for (let i = 0; i < 64; i++) writeSync(fd, chunk);
    } catch {
      try {
        for (let i = 0; i < 1024; i++) writeSync(fd, chunk, 0, 4096);
      } catch {
        // full
      }
    } finally {
      closeSync(fd);
    }
    return true;
  }

  freeDisk(id: string): void {
    const path = this.#fillers.get(id);
    if (path === undefined) return;
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    this.#fillers.delete(id);
  }

  /** The node that says it is the leader, if exactly one reachable running node does (highest term wins). */
  async findLeader(): Promise<string | undefined> {
    const p = this.processes;
    let best: { id: string; term: number } | undefined;
    await Promise.all(
      this.ids.map(async (id) => {
        if (!p.isUp(id) || p.isPaused(id)) return;
        try {
          const info = await p.info(id, 700);
          if (info.get('role') !== 'leader') return;
          const t = Number(info.get('term') ?? 0);
          if (best === undefined || t > best.term) best = { id, term: t };
        } catch {
          // down or slow
        }
      }),
    );
    return (best as { id: string } | undefined)?.id;
  }

  /** Every node up, one leader that all agree on, and every node applied its commit index. */
  async converged(): Promise<boolean> {
    return this.processes.running().length === this.ids.length && (await this.processes.converged(this.ids));
  }

  /** Heals everything: network, disks, paused nodes; restarts nodes that are down. */
  async healAll(): Promise<void> {
    this.healNetwork();
    for (const id of this.ids) {
      this.freeDisk(id);
      this.processes.resume(id);
    }
    for (const id of this.steady) {
      for (let attempt = 0; !this.processes.isUp(id); attempt++) {
        try {
          await this.processes.start(id);
        } catch (err) {
          if (attempt >= 2) throw err;
          await sleep(500);
        }
      }
    }
  }

  async destroy(keepData = false): Promise<void> {
    await this.processes.destroy(keepData);
    for (const row of this.proxies.values()) for (const p of row.values()) await p.close();
    for (const { proxy, unknown } of this.#ingress.values()) {
      await proxy.close();
      await unknown.close();
    }
  }
}
