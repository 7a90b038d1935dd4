/**
 * One full distkv node: the replicated store (WAL, Raft state machine and
 * its driver, peer connections), the client server (RESP2 and the line
 * protocol) and the admin HTTP endpoint, started in that order and
 * stopped in the reverse one. The only place where the pure protocol meets
 * every kind of I/O at once.
 *
 * "Node" means four things in distkv; this is the biggest: a ClusterNode
 * is one server process. Inside it runs one ReplicationNode (the Raft
 * driver of @distkv/replication: timers, peer sockets, the WAL), which runs
 * one RaftNode (the pure state machine). SimNode is a RaftNode in
 * replication's simulator, with a simulated disk instead of the driver.
 */
import { isDistkvError } from '@distkv/core';
import { type ElectionConfig, electionConfig } from '@distkv/election';
import { defaultSecurityLimits, Server, type ServerLimits } from '@distkv/net';
import {
  type ForwardLimits,
  type NodeId,
  type PeerAddress,
  type ReadMode,
  type RemovedInfo,
  type ReplicationLimits,
  type ReplicationMode,
  ReplicationNode,
  seededRng,
  type TimingPreset,
} from '@distkv/replication';
import { type AdminLimits, AdminServer, isReady, type NodeStatus, nodeStatus } from './admin.js';
import {
  type ClusterSecurityOptions,
  checkExposure,
  countAuthFailures,
  HttpGuard,
  type HttpLimits,
  peerSecurityOf,
} from './cluster-security.js';
import { clusterError } from './errors.js';
import { type MonitorLimits, NodeMonitor } from './monitor.js';
import { listenPeers, monitorSource, peerHttpAddresses } from './wiring.js';

// #region options
export interface ClusterNodeOptions {
  /** This node's id; unique among the voters. */
  id: string;
  /**
   * Every other voter and its peer address, when the cluster is created;
   * with `join`, the members to reach (see ReplicationNodeOptions.peers).
   */
  peers: ReadonlyMap<string, PeerAddress>;
  /**
   * This node joins a running cluster (membership, chapter 5): it starts as
   * no member and waits for the leader to add it (`POST /v1/members`, which
   * `distkv server --join` sends). On restart its log says who it is.
   */
  join?: boolean | undefined;
  /** This node's peer address as the others dial it, `host:port`; default the peer listen address (see ReplicationNodeOptions.advertise). */
  advertisePeer?: string | undefined;
  /** Where this node listens for its peers. */
  peerListen: PeerAddress;
  /** Where the Raft log and snapshots live. */
  dataDir: string;
  /**
   * Where clients connect: redis-cli and ioredis on `port`, the seed's line
   * protocol on `linePort` (left out, none). Port 0 picks one.
   */
  client: { host: string; port: number; linePort?: number | undefined };
  /** The admin HTTP endpoint; left out, none. Port 0 picks one. */
  http?: { host: string; port: number } | undefined;
  /**
   * The peers' admin endpoints (`host:port`), for the dashboard. By default
   * each peer's own word (its hello), else derived (see peerHttpAddresses).
   */
  peerHttp?: ReadonlyMap<string, string> | undefined;
  /**
   * When the Raft log counts an entry as persisted: `always` (default);
   * `interval` or `none` only with no peers (a single voter), see
   * ReplicationNodeOptions.fsync.
   */
  fsync?: 'always' | 'interval' | 'none' | undefined;
  fsyncIntervalMs?: number | undefined;
  /** `raft` (default) or `bully`: who decides leadership when `leader` is not set. */
  election?: 'raft' | 'bully' | undefined;
  /** A leader fixed by configuration (phase 4): nobody campaigns. */
  leader?: string | undefined;
  /** Default `read-index` when electing, `stale` with a fixed leader. */
  readMode?: ReadMode | undefined;
  /** When a write is acknowledged; default `sync`. */
  replication?: ReplicationMode | undefined;
  /**
   * Election timing preset (see ReplicationNodeOptions.timing): `auto`
   * (default) picks `loopback` when this node and every peer are on
   * loopback addresses, else `lan`. The three below override its values.
   */
  timing?: TimingPreset | undefined;
  tickMs?: number | undefined;
  heartbeatIntervalTicks?: number | undefined;
  electionTimeoutTicks?: number | undefined;
  compactEveryEntries?: number | undefined;
  /** The replication limits (see ReplicationLimits), e.g. the catch-up tail kept at compaction. */
  replicationLimits?: Partial<ReplicationLimits> | undefined;
  forwardLimits?: Partial<ForwardLimits> | undefined;
  serverLimits?: Partial<ServerLimits> | undefined;
  adminLimits?: Partial<AdminLimits> | undefined;
  /** Events kept, series length, sampling period of the metrics and dashboard monitor. */
  monitorLimits?: Partial<MonitorLimits> | undefined;
  requirepass?: string | null | undefined;
  /** Users, TLS, the cluster secret and id, and the exposure check's escape hatch (see cluster-security.ts). */
  security?: ClusterSecurityOptions | undefined;
  /** The admin endpoint's HTTP timeouts and header size (see cluster-security.ts). */
  httpLimits?: Partial<HttpLimits> | undefined;
  log?: ((line: string) => void) | undefined;
}
// #endregion options

function validate(options: ClusterNodeOptions): void {
  const fail = (why: string): never => {
    throw clusterError('CLUSTER_CONFIG_INVALID', why);
  };
  if (options.peers.has(options.id)) fail(`peers list this node (${options.id}) too; list only the others`);
  if (options.join === true && options.leader !== undefined) fail('a joining node needs elections, not a fixed leader');
  if (options.leader !== undefined && options.leader !== options.id && !options.peers.has(options.leader))
    fail(`leader ${options.leader} is neither this node nor a peer`);
  const security = options.security ?? {};
  const passwords = (options.requirepass ?? '') !== '' || (security.users ?? []).length > 0;
  checkExposure({ client: options.client, peerListen: options.peerListen, http: options.http, passwords, security });
}

/**
 * Who leads, as @distkv/election decides from the options (its rules, in one
 * place); an impossible combination is this node's CLUSTER_CONFIG_INVALID.
 * Raft's election timeouts draw from a seed of the id, the clock and the pid:
 * only the pure core must replay, and two nodes must not time out in step.
 */
function electionOf(options: ClusterNodeOptions): ElectionConfig {
  const choice =
    options.leader !== undefined
      ? { leader: options.leader as NodeId }
      : {
          election: options.election ?? 'raft',
          ...(options.election === 'bully' ? {} : { rng: seededRng(clockSeed(options.id)) }),
        };
  try {
    return electionConfig({ ...choice, ...(options.readMode !== undefined ? { readMode: options.readMode } : {}) });
  } catch (err) {
    if (!isDistkvError(err, 'ELECTION_CONFIG_INVALID')) throw err;
    throw clusterError('CLUSTER_CONFIG_INVALID', err.message);
  }
}

function clockSeed(id: string): number {
  let h = 2166136261;
  for (const c of `${id}:${Date.now()}:${process.pid}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Configured addresses win; then what each peer announced; then the port rule's guess. */
function mergePeerHttp(
  options: ClusterNodeOptions,
  announced: ReadonlyMap<string, string>,
  resolved: ReadonlyMap<string, string>,
): Map<string, string> {
  const out = new Map(resolved);
  for (const [id, address] of announced) if (!options.peerHttp?.has(id)) out.set(id, address);
  return out;
}

/** One distkv server process (see the header for the other kinds of node). */
export class ClusterNode {
  readonly replica: ReplicationNode;
  readonly server: Server;
  readonly admin: AdminServer | undefined;
  /** Metrics, recent events and the ops/latency series of this node. */
  readonly monitor: NodeMonitor;
  #stopping: Promise<void> | undefined;

  private constructor(replica: ReplicationNode, server: Server, admin: AdminServer | undefined, monitor: NodeMonitor) {
    this.replica = replica;
    this.server = server;
    this.admin = admin;
    this.monitor = monitor;
  }

  // #region start
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    validate(options);
    const leading = electionOf(options);
    const log = options.log ?? (() => undefined);
    const fixed = options.leader !== undefined;
    const configuredHttp = peerHttpAddresses(options);
    const monitor = new NodeMonitor(options.id, options.dataDir, options.monitorLimits);
    const giveUp = async (err: unknown, transport?: { close(): Promise<void> }): Promise<never> => {
      await transport?.close();
      monitor.stop();
      throw err;
    };
    const security = options.security ?? {};
    const transport = await listenPeers(options.peerListen, !fixed, peerSecurityOf(security), log).catch((err: unknown) =>
      giveUp(err),
    );
    const replica = await ReplicationNode.start({
      id: options.id,
      leader: leading.leader,
      election: leading.election,
      readMode: leading.readMode,
      peers: options.peers,
      ...(options.join === true ? { join: true } : {}),
      ...(options.advertisePeer === undefined ? {} : { advertise: options.advertisePeer }),
      dataDir: options.dataDir,
      mode: options.replication ?? 'sync',
      listen: transport,
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
      ...(options.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: options.fsyncIntervalMs }),
      ...(options.timing === undefined ? {} : { timing: options.timing }),
      ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
      ...(options.heartbeatIntervalTicks === undefined ? {} : { heartbeatIntervalTicks: options.heartbeatIntervalTicks }),
      ...(options.electionTimeoutTicks === undefined ? {} : { electionTimeoutTicks: options.electionTimeoutTicks }),
      ...(options.replicationLimits === undefined ? {} : { limits: options.replicationLimits }),
      ...(options.compactEveryEntries === undefined ? {} : { compactEveryEntries: options.compactEveryEntries }),
      ...(options.forwardLimits === undefined ? {} : { forwardLimits: options.forwardLimits }),
      log,
    }).catch((err: unknown) => giveUp(err, transport));
    monitor.attach(monitorSource(replica, transport));
    let server: Server | undefined;
    try {
      server = await Server.listen({
        backend: replica,
        port: options.client.port,
        host: options.client.host,
        linePort: options.client.linePort,
        limits: options.serverLimits ?? {},
        requirepass: options.requirepass ?? null,
        users: security.users ?? [],
        tls: security.tls,
        unsafeNoAuth: security.unsafeNoAuth === true,
        config: {
          appendonly: 'yes',
          appendfsync: { always: 'always', interval: 'everysec', none: 'no' }[options.fsync ?? 'always'],
        },
        log,
        onRequest: monitor.onRequest,
      });
      // Told to every peer, so a follower's INFO (and /status) names the leader's client address.
      replica.setClientAddress(`${server.address.host}:${server.address.port}`);
      countAuthFailures(server.users, monitor.metrics.registry);
      const admin =
        options.http === undefined
          ? undefined
          : await AdminServer.listen(
              replica,
              options.http,
              options.adminLimits ?? {},
              {
                monitor,
                links: () => transport.peerStates(),
                peerHttp: () => mergePeerHttp(options, replica.peerHttpAddresses(), configuredHttp),
              },
              {
                guard: new HttpGuard(server.users, options.http.host, defaultSecurityLimits.authFailuresMax),
                tls: security.tls,
                httpLimits: options.httpLimits,
              },
            );
      // Told to every peer too: their dashboards and `distkv status` find this endpoint from any node.
      if (admin !== undefined) replica.setHttpAddress(`${admin.address.host}:${admin.address.port}`);
      return new ClusterNode(replica, server, admin, monitor);
    } catch (err) {
      await server?.close();
      await replica.stop();
      monitor.stop();
      throw err;
    }
  }
  // #endregion start

  get id(): string {
    return this.replica.id;
  }

  status(): NodeStatus {
    return nodeStatus(this.replica);
  }

  /**
   * Settles if the replica stopped on its own because its storage failed
   * (see ReplicationNode.failed): the process should then exit rather than
   * keep answering clients from a state that no longer advances.
   */
  get failed(): Promise<Error> {
    return this.replica.failed;
  }

  /**
   * Settles once the change that removed this node from the members has
   * committed here: it no longer votes or serves writes, and the process
   * should stop (`distkv server` exits 0 with a line that says so).
   */
  get removed(): Promise<RemovedInfo> {
    return this.replica.removed;
  }

  /** A leader is known and this node applied everything it knows committed. */
  ready(): boolean {
    return isReady(this.status());
  }

  /** Graceful: stop taking clients and finish their requests, then the admin endpoint, then the replica. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.server.close();
      await this.admin?.close();
      await this.replica.stop();
      this.monitor.stop();
    })();
    return this.#stopping;
  }
}
