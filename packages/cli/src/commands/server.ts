import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClusterNode } from '@distkv/cluster';
import { isDistkvError } from '@distkv/core';
import { type KvBackend, Server, type ServerLimits } from '@distkv/net';
import { MemoryBackend } from '@distkv/net/testing';
import { formatAddress, type PeerAddress, parsePeerAddress, type RemovedInfo } from '@distkv/replication';
import { DataDirLock, DurableStore } from '@distkv/wal';
import { type Command, Option } from 'commander';
import type { Logger } from 'pino';
import {
  ConfigError,
  envName,
  flagName,
  resolveServerConfig,
  type ServerConfig,
  type SettingName,
  serverSettings,
  settingNames,
} from '../config.js';
import { createLogger, lineLogger } from '../log.js';
import { securityOf, startRefusals } from '../security-flags.js';
import { changeMembers, findMembers, MembersError, sleep, useAdminAuth } from './members-api.js';

export { parsePeers } from '../config.js';

// #region register-server
export function registerServerCommand(program: Command): void {
  const command = program
    .command('server')
    .description(
      "run a distkv server: Redis's protocol (redis-cli, ioredis, nc) on --port, the seed's line protocol on --line-port",
    )
    .option('--config <file>', 'a JSON file of settings, {"port": 7001, "dataDir": "./data"} (or DISTKV_CONFIG)');
  // One flag per setting, from the same table the config file and the environment use.
  for (const name of settingNames) {
    const setting = serverSettings[name] as { help: string; default?: unknown; schema: unknown };
    const isFlag = serverSettings[name].schema.safeParse(true).success;
    const placeholder = /Port$|^port$/.test(name) ? '<port>' : name.endsWith('Ms') ? '<ms>' : '<value>';
    // The default is shown, not set: a value set here would hide the environment and the file behind it.
    const shown = setting.default === undefined ? '' : ` (default: ${String(setting.default)})`;
    const option = new Option(
      isFlag ? flagName(name) : `${flagName(name)} ${placeholder}`,
      `${setting.help}${shown} [${envName(name)}]`,
    );
    // --user may be given more than once: each adds users (a later one must not silently replace the others).
    if (name === 'user')
      option.argParser((value: string, before?: string) => (before === undefined ? value : `${before},${value}`));
    command.addOption(option);
  }
  command
    .addHelpText(
      'after',
      [
        '',
        'Precedence: flags > environment (DISTKV_*) > --config file > defaults.',
        '',
        'Examples:',
        '  distkv server --port 6380 --data-dir ./data',
        '  distkv server --in-memory --port 0',
        '  DISTKV_PORT=7001 distkv server --config distkv.json',
        '  distkv server --id n1 --port 7001 --peer-port 7101 --http-port 7201 \\',
        '    --peers n2=127.0.0.1:7102,n3=127.0.0.1:7103 --data-dir ./data/n1',
        '  distkv server --id n4 --port 7004 --peer-port 7104 --http-port 7204 \\',
        '    --join 127.0.0.1:7001 --data-dir ./data/n4   # joins the running cluster',
      ].join('\n'),
    )
    .action(async (raw: Record<string, unknown>) => {
      const flags: Partial<Record<SettingName, unknown>> = {};
      for (const name of settingNames) if (raw[name] !== undefined) flags[name] = raw[name];
      const file = (raw.config as string | undefined) ?? process.env.DISTKV_CONFIG;
      let config: ServerConfig;
      try {
        ({ config } = resolveServerConfig({ flags, env: process.env, file }));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`distkv server: ${err.detail}\n`); // the list of problems is its own format
        process.exit(2);
      }
      await runServer(config).catch(refuseToStart);
    });
}
// #endregion register-server

/** A configuration the node refuses (an exposed port, unreadable TLS files): one clear line, exit 2, no stack. */
function refuseToStart(err: unknown): never {
  if (isDistkvError(err) && startRefusals.has(err.code)) {
    process.stderr.write(`distkv server: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

// #region run-server
async function runServer(config: ServerConfig): Promise<void> {
  const logger = createLogger({
    node: config.id ?? 'single',
    format: config.logFormat,
    quiet: config.quiet,
  });
  const log = lineLogger(logger);
  const limits = serverLimits(config);
  // One process per data directory, taken before anything reads it (see lock.ts); dropped at exit.
  if (!config.inMemory) {
    const lock = DataDirLock.acquire(resolve(config.dataDir));
    process.once('exit', () => lock.release());
  }
  if (config.peers !== undefined || config.join !== undefined) {
    await runClusterNode(config, limits, logger);
    return;
  }
  let backend: KvBackend;
  let durable: DurableStore | undefined;
  if (config.inMemory) {
    backend = new MemoryBackend();
  } else {
    durable = await DurableStore.open({
      dir: resolve(config.dataDir),
      fsync: config.fsync,
      ...(config.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: config.fsyncIntervalMs }),
      log,
    });
    backend = durable;
  }
  const server = await Server.listen({
    backend,
    port: config.port,
    host: config.bind,
    linePort: config.linePort,
    limits,
    requirepass: config.requirepass ?? null,
    ...singleServerSecurity(config),
    config: {
      appendonly: durable === undefined ? 'no' : 'yes',
      appendfsync: { always: 'always', interval: 'everysec', none: 'no' }[config.fsync],
    },
    log,
  });
  onSignals(logger, async () => {
    await server.close();
    await durable?.close();
  });
  const { host, port } = server.address;
  const where = durable === undefined ? 'in memory only' : `data in ${durable.dir}, fsync ${config.fsync}`;
  // Printed last, once signals are handled: tests and scripts read the port from this line (with --port 0).
  process.stdout.write(`distkv listening on ${host}:${port} (RESP2)${linePortText(server)}, ${where}\n`);
}
// #endregion run-server

/** --user, --tls-cert/--tls-key and --unsafe-no-auth for a single server (no peers: no cluster secret). */
function singleServerSecurity(config: ServerConfig) {
  const { users, tls, unsafeNoAuth } = securityOf(config);
  return { users: users ?? [], tls, unsafeNoAuth: unsafeNoAuth === true };
}

function serverLimits(config: ServerConfig): Partial<ServerLimits> {
  const limits: Partial<ServerLimits> = {};
  if (config.maxClients !== undefined) limits.clientsMax = config.maxClients;
  if (config.idleTimeoutMs !== undefined) limits.idleTimeoutMs = config.idleTimeoutMs;
  if (config.pendingRepliesMax !== undefined) limits.pendingRepliesMax = config.pendingRepliesMax;
  if (config.bulkBytesMax !== undefined) limits.bulkBytesMax = config.bulkBytesMax;
  if (config.lineBytesMax !== undefined) limits.lineBytesMax = config.lineBytesMax;
  if (config.argsCountMax !== undefined) limits.argsCountMax = config.argsCountMax;
  return limits;
}

// #region signals
/**
 * Graceful shutdown on the first SIGTERM/SIGINT; a second one exits at once.
 * Started by `cluster up`, the node also has an IPC channel to it: when
 * that closes (the parent exited, even by SIGKILL), the node shuts down
 * too, so a killed `cluster up` leaves no orphans.
 */
function onSignals(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = (why: string, exitNowCode: number): void => {
    if (stopping) {
      logger.warn(`${why} again: exiting now`);
      process.exit(exitNowCode);
    }
    stopping = true;
    logger.info(`${why}: finishing in-flight requests (send it again to exit at once)`);
    void (async () => {
      await shutdown();
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM', 143));
  process.on('SIGINT', () => stop('SIGINT', 130));
  if (process.channel !== undefined) {
    // The channel must not keep the process alive on its own; 'disconnect' fires when the parent is gone.
    process.channel.unref();
    process.once('disconnect', () => stop('parent process exited', 1));
  }
}
// #endregion signals

// #region start-replica
/** `--peers` (or `--join`) given: this node is one member of a replicated cluster, built as a ClusterNode. */
async function runClusterNode(config: ServerConfig, limits: Partial<ServerLimits>, logger: Logger): Promise<void> {
  const id = config.id as string;
  const joining = config.join === undefined ? undefined : await discoverCluster(config, logger);
  const peers = joining?.peers ?? (config.peers as Map<string, PeerAddress>);
  const node = await ClusterNode.start({
    id,
    peers,
    ...(joining === undefined ? {} : { join: true }),
    ...(joining === undefined && config.advertisePeer === undefined ? {} : { advertisePeer: advertisedPeer(config) }),
    // A one-node cluster (--peers none) has nobody to listen for: any free port unless one is given.
    peerListen: { host: config.bind, port: config.peerPort ?? 0 },
    dataDir: resolve(config.dataDir),
    client: { host: config.bind, port: config.port, linePort: config.linePort },
    http: config.httpPort === undefined ? undefined : { host: config.bind, port: config.httpPort },
    election: config.election,
    leader: config.leader,
    readMode: config.readMode,
    replication: config.replication,
    fsync: config.fsync,
    fsyncIntervalMs: config.fsyncIntervalMs,
    timing: config.timing,
    tickMs: config.tickMs,
    heartbeatIntervalTicks: config.heartbeatTicks,
    electionTimeoutTicks: config.electionTicks,
    compactEveryEntries: config.snapshotEvery,
    replicationLimits: {
      ...(config.snapshotCatchUpEntries === undefined ? {} : { snapshotCatchUpEntries: config.snapshotCatchUpEntries }),
      ...(config.snapshotCatchUpBytes === undefined ? {} : { snapshotCatchUpBytes: config.snapshotCatchUpBytes }),
    },
    forwardLimits: {
      ...(config.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: config.writeTimeoutMs }),
      ...(config.forwardsPendingMax === undefined ? {} : { forwardsPendingMax: config.forwardsPendingMax }),
    },
    serverLimits: limits,
    requirepass: config.requirepass ?? null,
    security: securityOf(config),
    log: lineLogger(logger),
  });
  onSignals(logger, () => node.stop());
  // #region fail-stop
  // A replica whose disk failed (full, I/O error) stops replicating for good.
  // Fail-stop, as etcd does: exit non-zero so a supervisor restarts the node
  // and Raft catches it up, rather than keep a zombie that answers clients.
  void node.failed.then(async (err) => {
    logger.fatal(`storage failed, exiting so the node can be restarted: ${err.message}`);
    await Promise.race([node.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
    process.exit(3);
  });
  // #endregion fail-stop
  void node.removed.then((how) => stopRemoved(node, how, logger));
  const joined = joining === undefined ? '' : await joinCluster(node, config, joining, logger);
  const { host, port } = node.server.address;
  const replica = node.replica;
  const admin = node.admin?.address;
  const leading = config.leader === undefined ? `${config.election} elections` : `leader ${config.leader}`;
  const http = admin === undefined ? '' : `, admin http on ${admin.host}:${admin.port}`;
  const voters = joining === undefined ? replica.raft.config.voters.length : replica.raft.conf.voters.length;
  const peersOn =
    voters === 1 && joining === undefined ? `no peers, fsync ${config.fsync}` : `peers on ${config.bind}:${config.peerPort}`;
  const where = `replica ${replica.id} of ${voters}, ${leading}, ${timingText(replica.timing)}, reads ${replica.readMode}, ${replica.mode}, ${peersOn}${http}, data in ${resolve(config.dataDir)}${joined}`;
  // Printed last, once signals are handled: tests and scripts read the port from this line (with --port 0).
  process.stdout.write(`distkv listening on ${host}:${port} (RESP2)${linePortText(node.server)}, ${where}\n`);
}
// #endregion start-replica

/** `, line protocol on host:port` when --line-port is given, else nothing. */
function linePortText(server: Server): string {
  const line = server.lineAddress;
  return line === undefined ? '' : `, line protocol on ${line.host}:${line.port}`;
}

/** `timing lan (tick 100 ms, heartbeat 100 ms, election timeout 2000-4000 ms)`: what the node elects with. */
export function timingText(t: ClusterNode['replica']['timing']): string {
  const e = t.electionTimeoutTicks * t.tickMs;
  return `timing ${t.preset} (tick ${t.tickMs} ms, heartbeat ${t.heartbeatIntervalTicks * t.tickMs} ms, election timeout ${e}-${2 * e} ms)`;
}

// #region join
/** The cluster a `--join` node joins, as its members list it (GET /v1/members), and the peers to reach. */
interface Joining {
  peers: Map<string, PeerAddress>;
  /** Where the members answered: the endpoints to find the leader from when adding this node. */
  endpoints: string;
  /** The cluster lists this node already (a restart, or an operator's `member add`): no add is sent. */
  listed: boolean;
}

/** This node's peer address as the others dial it: --advertise-peer, else --bind:--peer-port. */
function advertisedPeer(config: ServerConfig): string {
  return config.advertisePeer ?? formatAddress({ host: config.bind, port: config.peerPort as number });
}

/** How long `--join` looks for the members, and tries to be added (a pending change is retried within it). */
const JOIN_TIMEOUT_MS = 30_000;
/** The most attempts at the add, and the longest wait between two (the backoff doubles from 250 ms). */
const JOIN_ATTEMPTS_MAX = 8;
const JOIN_BACKOFF_MAX_MS = 4_000;

/** One line on stderr, the node stopped, exit 1: a join that cannot go on. */
async function refuseJoin(message: string, node?: ClusterNode): Promise<never> {
  process.stderr.write(`distkv server: ${message}\n`);
  await Promise.race([node?.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
  process.exit(1);
}

/**
 * `--join`: asks the endpoints (client or admin ports of live members) for
 * the members and their peer addresses. Peers are every member but this
 * node; at least one must have a peer address.
 */
async function discoverCluster(config: ServerConfig, logger: Logger): Promise<Joining> {
  useAdminAuth(config.joinAuth);
  const endpoints = (config.join ?? []).map((e) => `${e.host}:${e.port}`).join(',');
  let found: Awaited<ReturnType<typeof findMembers>> | undefined;
  // A node that joined before has the members in its own log (the log wins over flags): it asks once, and
  // if nobody answers (a whole cluster restarted at once, every node waiting for another) starts from its log.
  const hasLog = existsSync(join(resolve(config.dataDir), 'hardstate'));
  // The members may be starting too: asked again, for a bounded time.
  const deadline = Date.now() + (hasLog ? 0 : JOIN_TIMEOUT_MS);
  for (let attempt = 1; found === undefined; attempt++) {
    try {
      found = await findMembers(endpoints);
    } catch (err) {
      if (hasLog && err instanceof MembersError) {
        logger.warn(`membership: --join ${endpoints}: ${err.message}; starting from the members in this node's log`);
        return { peers: new Map(), endpoints, listed: false };
      }
      if (!(err instanceof MembersError) || Date.now() >= deadline)
        return refuseJoin(`--join ${endpoints}: ${(err as Error).message}`);
      if (attempt === 1)
        logger.warn(`membership: --join ${endpoints}: ${err.message}; trying again for ${JOIN_TIMEOUT_MS / 1000} s`);
      await sleep(Math.min(2_000, 250 * attempt));
    }
  }
  const peers = new Map<string, PeerAddress>();
  for (const m of found.answer.members) {
    if (m.id === config.id || m.peerAddress === null) continue;
    const address = parsePeerAddress(m.peerAddress);
    if (address !== undefined) peers.set(m.id, address);
  }
  if (peers.size === 0)
    return refuseJoin(`--join ${endpoints}: ${found.from} lists no member with a peer address to replicate from`);
  const listed = found.answer.members.some((m) => m.id === config.id);
  logger.info(
    `membership: joining the cluster of ${[...peers.keys()].join(', ')} (leader ${found.answer.leader ?? 'unknown'}, as ${found.from} lists it)${listed ? `; ${config.id} is listed already, so no add is sent` : ''}`,
  );
  // The members' admin endpoints: any of them finds the leader (the given endpoints stay first).
  const admin = found.answer.members.flatMap((m) => (m.httpAddress ? [m.httpAddress.replace(/^https?:\/\//, '')] : []));
  return { peers, endpoints: [...new Set([...endpoints.split(','), ...admin])].join(','), listed };
}

/**
 * Once the node listens: asks the leader to add it (POST /v1/members),
 * unless its own log or the cluster lists it already (a restart). A
 * pending change (CONF_CHANGE_PENDING), a leader change or no leader yet
 * is retried with a bounded backoff; any other refusal stops the node and
 * exits 1. Returns what the listening line says of it.
 */
async function joinCluster(node: ClusterNode, config: ServerConfig, joining: Joining, logger: Logger): Promise<string> {
  const id = config.id as string;
  if (node.replica.memberList().some((m) => m.self))
    return `, a member by its log (configuration index ${node.replica.status().confIndex})`;
  if (joining.listed) return ', listed as a member already: waiting for the leader to replicate to it';
  const peerAddress = advertisedPeer(config);
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      logger.info(`membership: asking the leader to add ${id} at ${peerAddress} (attempt ${attempt})`);
      const { leader, answer } = await changeMembers(
        joining.endpoints,
        { method: 'POST', path: '', body: { id, peerAddress, ...(config.learner === true ? { learner: true } : {}) } },
        Math.max(1_000, deadline - Date.now()),
      );
      const promoted = config.learner === true ? 'a learner until `distkv member promote`' : 'promoted to voter once caught up';
      return `, added by ${leader} as a learner at index ${answer.index} (${promoted})`;
    } catch (err) {
      if (!(err instanceof MembersError)) throw err;
      // Retried: a change before this one not committed yet, no leader known for now, the leader busy or gone.
      const retry = err.code === undefined || err.code === 'CONF_CHANGE_PENDING' || err.code === 'TIMEOUT';
      // A TIMEOUT may still have committed: the list says.
      if (err.code === 'TIMEOUT' || err.code === 'CONF_CHANGE_INVALID') {
        const listed = await findMembers(joining.endpoints).catch(() => undefined);
        if (listed?.answer.members.some((m) => m.id === id)) return `, listed as a member by ${listed.from} (its add committed)`;
      }
      if (!retry || attempt >= JOIN_ATTEMPTS_MAX || Date.now() >= deadline)
        return refuseJoin(`could not join the cluster as ${id} at ${peerAddress}: ${err.message}`, node);
      const wait = Math.min(JOIN_BACKOFF_MAX_MS, 250 * 2 ** (attempt - 1));
      logger.warn(`membership: ${err.message}; trying again in ${wait} ms`);
      await sleep(wait);
    }
  }
}

/** The change that removed this node committed here: say so on stdout, stop, exit 0. */
async function stopRemoved(node: ClusterNode, how: RemovedInfo, logger: Logger): Promise<void> {
  const why = how.index !== null ? `index ${how.index}` : `${how.toldBy} said so`;
  process.stdout.write(`membership: ${node.id} was removed from the cluster (${why}); stopping\n`);
  logger.info(`membership: ${node.id} was removed from the cluster (${why}); stopping`);
  await Promise.race([node.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
  process.exit(0);
}
// #endregion join
