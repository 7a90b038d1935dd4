import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type ClientOptions, parseInfo } from '@distkv/net';
import { reservePort } from '@distkv/net/testing';

/** This package's launcher (the same path from src/testing and dist/testing). */
export const DISTKV_BIN = fileURLToPath(new URL('../../bin/distkv.mjs', import.meta.url));

/** The bytes of a node's output kept for its log (the tail). */
export const NODE_LOG_BYTES_MAX = 1 << 20;

export interface ProcessClusterOptions {
  /** Flags every node gets, after the harness's own (so a flag given here wins). */
  flags?: readonly string[];
  /** An admin HTTP port per node, reserved once: the same across restarts. */
  http?: boolean;
  /**
   * An admin HTTP port per node at peer port + this offset: the rule by
   * which a node derives its peers' admin addresses (see peerHttpAddresses).
   */
  httpPortOffset?: number;
  /**
   * A client port per node reserved once, so a restarted node comes back on
   * it; otherwise port 0, read back from the node's listening line.
   */
  fixedClientPorts?: boolean;
  /** The launcher to run; default this checkout's bin/distkv.mjs. */
  bin?: string;
  /** How long a node may take to print its listening line. */
  listenTimeoutMs?: number;
  /**
   * Mount each node's data dir as a tmpfs of its own, this many bytes, so a
   * test can fill one node's disk to ENOSPC (the chaos disk nemesis). Needs
   * root and mount(8): without them the nodes run on plain dirs and
   * tmpfsSkipReason says why. destroy() unmounts them.
   */
  tmpfsBytes?: number;
}

export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Our SIGKILL, our shutdown, or one the caller declared expected (see expectExit); otherwise a crash. */
  expected: boolean;
}

interface NodeProcess {
  readonly dataDir: string;
  /** Added to a running cluster (addNode): started with `--join` instead of `--peers`. */
  readonly joins: boolean;
  /** Flags of this node alone, on every start (addNode's). */
  readonly flags: readonly string[];
  readonly peerPort: number;
  readonly fixedClientPort: number | undefined;
  readonly httpPort: number | undefined;
  child: ChildProcess | undefined;
  exited: Promise<NodeExit> | undefined;
  port: number | undefined;
  paused: boolean;
  starts: number;
  readonly exits: NodeExit[];
  log: string;
}

export interface AddNodeOptions {
  /** Flags of this node alone, after the cluster's (say `--learner`). */
  flags?: readonly string[];
  /** A peer port the caller reserved (say, to put a proxy in front of it first); default one reserved here. */
  peerPort?: number;
}

/**
 * A cluster of real `distkv server` processes on 127.0.0.1: the one harness
 * of the process tests (packages/cli/test) and the chaos runs (test/chaos).
 * Node `n<i>` has a data dir under one temp root and a peer port reserved
 * once (every node's `--peers` names the others' before they start). Nodes
 * can be added to the running cluster (addNode: started with `--join`) and
 * retired once removed from it (retire); `ids` is the cluster now. It
 * signals only its own children, and every wait it does is bounded; it
 * never polls, so the caller's test runner decides how to wait (vitest's
 * expect.poll in the tests, a loop with a deadline in the chaos runner).
 */
export class ProcessCluster {
  readonly root: string;
  /** The nodes of the cluster now, in the order they were made (retired ones left out). */
  #ids: string[];
  /** Every node made here, retired ones included: their exits still count, and destroy() kills them. */
  readonly #nodes = new Map<string, NodeProcess>();
  readonly #options: ProcessClusterOptions;
  #peerAddress: (from: string, to: string) => string;
  #advertise: ((id: string) => string) | undefined;
  #stopping = false;
  #mounted: string[] = [];
  /** Why the data dirs are not the tmpfs mounts that tmpfsBytes asked for ('' when they are, or none was asked). */
  tmpfsSkipReason = '';
  /** An exit of `id` that the caller caused on purpose (say, a disk it filled) is not a crash. */
  expectExit: (id: string) => boolean = () => false;

  private constructor(root: string, ids: string[], options: ProcessClusterOptions) {
    this.root = root;
    this.#ids = ids;
    this.#options = options;
    this.#peerAddress = (_from, to) => `127.0.0.1:${this.peerPort(to)}`;
  }

  static async create(size: number, options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a cluster has 1 or more nodes, not ${size}`);
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const cluster = new ProcessCluster(mkdtempSync(join(tmpdir(), 'distkv-processes-')), ids, options);
    for (const id of ids) await cluster.#make(id, false, []);
    if (options.tmpfsBytes !== undefined) cluster.#mountTmpfs(options.tmpfsBytes);
    return cluster;
  }

  get ids(): readonly string[] {
    return this.#ids;
  }

  /** A node's data dir, ports and bookkeeping (nothing runs yet). */
  async #make(id: string, joins: boolean, flags: readonly string[], reserved?: number): Promise<NodeProcess> {
    const options = this.#options;
    const dataDir = join(this.root, id);
    mkdirSync(dataDir, { recursive: true });
    const offset = options.httpPortOffset;
    const peerPort = reserved ?? (await reservePort(offset === undefined ? [0] : [0, offset]));
    const node: NodeProcess = {
      dataDir,
      joins,
      flags,
      peerPort,
      fixedClientPort: options.fixedClientPorts === true ? await reservePort() : undefined,
      httpPort: offset !== undefined ? peerPort + offset : options.http === true ? await reservePort() : undefined,
      child: undefined,
      exited: undefined,
      port: undefined,
      paused: false,
      starts: 0,
      exits: [],
      log: '',
    };
    this.#nodes.set(id, node);
    return node;
  }

  /**
   * A new node for the running cluster, not started: its first start()
   * runs `distkv server --join` with the admin (or client) endpoints of the
   * nodes running then, and every later one too (a joined node restarts by
   * `--join`; its own log lists the members). On the tmpfs of its own when
   * the others have theirs.
   */
  async addNode(id: string, options: AddNodeOptions = {}): Promise<void> {
    if (this.#nodes.has(id)) throw new Error(`${id} exists already (ids are never reused)`);
    const node = await this.#make(id, true, options.flags ?? [], options.peerPort);
    this.#ids.push(id);
    if (this.#mounted.length > 0 && this.#options.tmpfsBytes !== undefined) this.#mount(node.dataDir, this.#options.tmpfsBytes);
  }

  /**
   * Takes a node out of `ids` (the cluster removed it): killed if it still
   * runs, its exits kept for crashes(). Its data dir stays until destroy().
   */
  async retire(id: string): Promise<void> {
    this.#node(id);
    await this.kill(id);
    this.#ids = this.#ids.filter((x) => x !== id);
  }

  #mount(dir: string, bytes: number): string | undefined {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || String(r.error ?? '')).trim()}`;
    this.#mounted.push(dir);
    return undefined;
  }

  /** All or nothing: a data dir that could not be mounted leaves none mounted. */
  #mountTmpfs(bytes: number): void {
    if (process.getuid?.() !== 0) {
      this.tmpfsSkipReason = 'not root: cannot mount a tmpfs per node';
      return;
    }
    for (const id of this.ids) {
      const failed = this.#mount(this.dataDir(id), bytes);
      if (failed !== undefined) {
        this.tmpfsSkipReason = failed;
        this.#unmountTmpfs();
        return;
      }
    }
  }

  #unmountTmpfs(): void {
    for (const dir of this.#mounted.splice(0)) spawnSync('umount', ['-l', dir]);
  }

  /** Whether every data dir is the tmpfs that tmpfsBytes asked for. */
  get tmpfsMounted(): boolean {
    return this.#mounted.length > 0 && this.ids.every((id) => this.#mounted.includes(this.dataDir(id)));
  }

  #node(id: string): NodeProcess {
    const n = this.#nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id} (the cluster has ${this.ids.join(', ')})`);
    return n;
  }

  /** Where `from` dials `to` from now on (the chaos harness puts a fault proxy on each link). */
  routePeers(address: (from: string, to: string) => string): void {
    this.#peerAddress = address;
  }

  /** Each node's `--advertise-peer` from now on: the one address every other node dials it at. */
  advertisePeers(address: (id: string) => string): void {
    this.#advertise = address;
  }

  dataDir(id: string): string {
    return this.#node(id).dataDir;
  }

  peerPort(id: string): number {
    return this.#node(id).peerPort;
  }

  httpPort(id: string): number {
    const port = this.#node(id).httpPort;
    if (port === undefined) throw new Error('the cluster was created without http ports');
    return port;
  }

  /** The client port of a node that runs (or ran last). */
  port(id: string): number {
    const port = this.#node(id).port;
    if (port === undefined) throw new Error(`${id} never started`);
    return port;
  }

  pid(id: string): number {
    const pid = this.#node(id).child?.pid;
    if (pid === undefined || !this.isUp(id)) throw new Error(`${id} is not running`);
    return pid;
  }

  /** The tail of everything the node printed, over all its starts. */
  logs(id: string): string {
    return this.#node(id).log;
  }

  starts(id: string): number {
    return this.#node(id).starts;
  }

  /** Resolves when the node's current process exits. */
  exited(id: string): Promise<NodeExit> {
    const exited = this.#node(id).exited;
    if (exited === undefined) throw new Error(`${id} never started`);
    return exited;
  }

  isUp(id: string): boolean {
    const child = this.#node(id).child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  isPaused(id: string): boolean {
    return this.#node(id).paused;
  }

  /** The ids of the nodes running now (paused ones included). */
  running(): string[] {
    return this.ids.filter((id) => this.isUp(id));
  }

  /** Starts a node that is down (again, on the same ports and data dir); resolves once it listens, rejects if it exits first. */
  async start(id: string, flags: readonly string[] = []): Promise<void> {
    const n = this.#node(id);
    if (this.isUp(id)) throw new Error(`${id} is already running`);
    const others = this.ids.filter((p) => p !== id);
    const peers = others.map((p) => `${p}=${this.#peerAddress(id, p)}`).join(',');
    // A joined node asks the nodes running now (admin ports when there are, else client ports once known) to add it.
    const endpoints = n.joins
      ? others
          .filter((p) => this.isUp(p))
          .flatMap((p) => {
            const port = this.#node(p).httpPort ?? this.#node(p).port;
            return port === undefined ? [] : [`127.0.0.1:${port}`];
          })
          .join(',')
      : '';
    if (n.joins && endpoints === '') throw new Error(`${id} joins the cluster, but no node of it runs`);
    const bin = this.#options.bin ?? DISTKV_BIN;
    // biome-ignore format: one flag per pair reads better
    const args = [bin, 'server', '--id', id, '--port', String(n.fixedClientPort ?? 0), '--peer-port', String(n.peerPort),
      ...(n.joins ? ['--join', endpoints] : ['--peers', peers]), '--data-dir', n.dataDir,
      ...(this.#advertise === undefined ? [] : ['--advertise-peer', this.#advertise(id)]),
      ...(n.httpPort === undefined ? [] : ['--http-port', String(n.httpPort)]),
      ...(this.#options.flags ?? []), ...n.flags, ...flags];
    // The test runner's ts-node settings must not leak into the server (its launcher sets its own), nor DISTKV_*
    // variables: the server reads those as settings (and refuses the ones it does not know).
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('TS_NODE_') && !k.startsWith('DISTKV_')),
    );
    const child = spawn(process.execPath, args, { cwd: this.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    n.child = child;
    n.paused = false;
    n.port = n.fixedClientPort;
    n.starts++;
    const append = (d: Buffer): void => {
      n.log = (n.log + d.toString()).slice(-NODE_LOG_BYTES_MAX);
    };
    n.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal, expected: this.#stopping || signal === 'SIGKILL' || this.expectExit(id) };
        n.exits.push(exit);
        resolve(exit);
      });
    });
    child.stderr?.on('data', append);
    let out = '';
    const timeoutMs = this.#options.listenTimeoutMs ?? 60_000;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${id}: no listening line within ${timeoutMs} ms: ${n.log}`)), timeoutMs);
        child.stdout?.on('data', (d: Buffer) => {
          append(d);
          if (n.port !== undefined && n.fixedClientPort === undefined) return;
          out += d.toString();
          const match = /listening on [^\s]+:(\d+)/.exec(out);
          if (match === null) return;
          clearTimeout(timer);
          n.port = Number(match[1]);
          resolve();
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${id} exited with ${code ?? signal}: ${n.log}`));
        });
      });
    } catch (err) {
      if (this.isUp(id)) child.kill('SIGKILL');
      throw err;
    }
  }

  async startAll(flags: readonly string[] = []): Promise<void> {
    await Promise.all(this.ids.filter((id) => !this.isUp(id)).map((id) => this.start(id, flags)));
  }

  /** SIGKILL (and SIGCONT, so a paused node dies too); resolves once it exited. */
  async kill(id: string): Promise<void> {
    const n = this.#node(id);
    if (n.child === undefined || !this.isUp(id)) return;
    const exited = n.exited;
    n.child.kill('SIGKILL');
    if (n.paused) n.child.kill('SIGCONT');
    n.paused = false;
    await exited;
  }

  /** SIGSTOP: the process keeps its sockets, and what is sent to it waits in the kernel. */
  pause(id: string): void {
    const n = this.#node(id);
    if (!this.isUp(id) || n.paused) return;
    n.child?.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: string): void {
    const n = this.#node(id);
    if (!n.paused) return;
    if (this.isUp(id)) n.child?.kill('SIGCONT');
    n.paused = false;
  }

  /** A one-shot RESP client to a running node (no reconnect). */
  async client(id: string, timeoutMs = 5_000, extra: Partial<ClientOptions> = {}): Promise<Client> {
    if (!this.isUp(id)) throw new Error(`${id} is not running`);
    return Client.connect({ port: this.port(id), reconnect: { attemptsMax: 1 }, timeoutMs, ...extra });
  }

  async call(id: string, ...args: string[]): Promise<unknown> {
    const c = await this.client(id);
    try {
      return await c.call(...args);
    } finally {
      await c.close().catch(() => undefined);
    }
  }

  async info(id: string, timeoutMs = 5_000): Promise<Map<string, string>> {
    const c = await this.client(id, timeoutMs);
    try {
      return parseInfo(String(await c.call('INFO', 'replication')));
    } finally {
      await c.close().catch(() => undefined);
    }
  }

  /** The leader that every node in `among` follows and knows the client address of, once they agree; else undefined. */
  async agreedLeader(among: readonly string[] = this.running()): Promise<string | undefined> {
    const leaders = new Set<string>();
    for (const id of among) {
      const info = await this.info(id);
      leaders.add(info.get('leader_id') ?? '');
      if (info.get('leader_addr') === '') return undefined;
    }
    const [leader] = leaders;
    if (leaders.size !== 1 || leader === undefined || leader === '' || !among.includes(leader)) return undefined;
    return (await this.info(leader)).get('role') === 'leader' ? leader : undefined;
  }

  /**
   * The nodes in `among` agree on a leader, which committed its whole log,
   * and each applied it. Whoever leads: a re-election on a loaded machine
   * must not make a wait for convergence fail.
   */
  async converged(among: readonly string[] = this.running()): Promise<boolean> {
    const agreed = await this.agreedLeader(among);
    if (agreed === undefined) return false;
    const info = await this.info(agreed);
    const commit = info.get('commit_index');
    if (commit !== info.get('last_index')) return false;
    for (const id of among) if ((await this.info(id)).get('applied_index') !== commit) return false;
    return true;
  }

  /** Exits we did not cause: crashes. */
  crashes(): Array<{ id: string; code: number | null; signal: string | null; log: string }> {
    return [...this.#nodes.keys()].flatMap((id) =>
      this.#node(id)
        .exits.filter((e) => !e.expected)
        .map((e) => ({ id, code: e.code, signal: e.signal, log: this.logs(id).slice(-4000) })),
    );
  }

  /** Kills every node; from now on every exit counts as expected. */
  async killAll(): Promise<void> {
    this.#stopping = true;
    for (const id of this.#nodes.keys()) await this.kill(id);
  }

  /** Kills every node and removes the temp root (unless keepData; a tmpfs's contents go with its unmount either way). */
  async destroy(keepData = false): Promise<void> {
    await this.killAll();
    this.#unmountTmpfs();
    if (!keepData) rmSync(this.root, { recursive: true, force: true });
  }
}
