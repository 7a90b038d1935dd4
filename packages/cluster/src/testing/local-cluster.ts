import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from '@distkv/net/testing';
import { ClusterNode, type ClusterNodeOptions } from '../cluster-node.js';

/** What a node of a LocalCluster gets on top of its id, peers, ports and data dir. */
export type LocalNodeOptions = Partial<ClusterNodeOptions> | ((id: string) => Partial<ClusterNodeOptions>);

/**
 * Voters `n1`…`nN` as ClusterNodes in this process, on 127.0.0.1, each with
 * a data dir under one temp root. Client and admin ports are port 0 (read
 * them back from `node.server.address` and `node.admin.address`); peer
 * ports come from `reservePort`, because every node must name the others'
 * before any of them starts. `destroy()` stops what runs and removes the
 * root.
 */
export class LocalCluster {
  readonly ids: readonly string[];
  readonly root: string;
  readonly peerPorts: ReadonlyMap<string, number>;
  readonly #running = new Map<string, ClusterNode>();
  readonly #options: LocalNodeOptions;

  private constructor(ids: string[], peerPorts: Map<string, number>, options: LocalNodeOptions) {
    this.ids = ids;
    this.peerPorts = peerPorts;
    this.#options = options;
    this.root = mkdtempSync(join(tmpdir(), 'distkv-local-cluster-'));
  }

  static async create(size: number, options: LocalNodeOptions = {}): Promise<LocalCluster> {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a cluster has 1 or more nodes, not ${size}`);
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const peerPorts = new Map<string, number>();
    for (const id of ids) peerPorts.set(id, await reservePort());
    return new LocalCluster(ids, peerPorts, options);
  }

  /** The nodes running now, in id order. */
  get nodes(): ClusterNode[] {
    return this.ids.flatMap((id) => this.#running.get(id) ?? []);
  }

  node(id: string): ClusterNode {
    const node = this.#running.get(id);
    if (node === undefined) throw new Error(`${id} is not running`);
    return node;
  }

  /** Starts `id` (again, on the same peer port and data dir). */
  async start(id: string): Promise<ClusterNode> {
    if (!this.ids.includes(id)) throw new Error(`${id} is not one of ${this.ids.join(', ')}`);
    if (this.#running.has(id)) throw new Error(`${id} is already running`);
    const port = (p: string): number => this.peerPorts.get(p) as number;
    const extra = typeof this.#options === 'function' ? this.#options(id) : this.#options;
    const node = await ClusterNode.start({
      id,
      peers: new Map(this.ids.filter((p) => p !== id).map((p) => [p, { host: '127.0.0.1', port: port(p) }])),
      peerListen: { host: '127.0.0.1', port: port(id) },
      dataDir: join(this.root, id),
      client: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      ...extra,
    });
    this.#running.set(id, node);
    return node;
  }

  async startAll(): Promise<ClusterNode[]> {
    return Promise.all(this.ids.map((id) => this.start(id)));
  }

  /** Every running node reports ready (a leader it follows, or leads). */
  ready(): boolean {
    return this.nodes.length > 0 && this.nodes.every((n) => n.ready());
  }

  async stop(id: string): Promise<void> {
    const node = this.#running.get(id);
    this.#running.delete(id);
    await node?.stop();
  }

  async destroy(): Promise<void> {
    for (const id of [...this.#running.keys()]) await this.stop(id);
    rmSync(this.root, { recursive: true, force: true });
  }
}
