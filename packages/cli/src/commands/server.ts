import { resolve } from 'node:path';
import { ClusterNode } from '@distkv/cluster';
import { type KvBackend, MemoryBackend, Server, type ServerLimits } from '@distkv/net';
import type { PeerAddress, ReadMode } from '@distkv/replication';
import { DurableStore, type FsyncPolicy } from '@distkv/wal';
import { type Command, InvalidArgumentError, Option } from 'commander';

function integer(name: string, min: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return value;
  };
}

interface ServerFlags {
  port: number;
  bind: string;
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs?: number;
  inMemory?: boolean;
  requirepass?: string;
  maxClients?: number;
  idleTimeoutMs?: number;
  pendingRepliesMax?: number;
  bulkBytesMax?: number;
  lineBytesMax?: number;
  argsCountMax?: number;
  quiet?: boolean;
  id?: string;
  peerPort?: number;
  peers?: Map<string, PeerAddress>;
  leader?: string;
  election: 'raft' | 'bully';
  readMode?: ReadMode;
  replication: 'sync' | 'async';
  snapshotEvery?: number;
  tickMs?: number;
  writeTimeoutMs?: number;
  forwardsPendingMax?: number;
  httpPort?: number;
}

// #region parse-peers
/** `n2=127.0.0.1:7102,n3=127.0.0.1:7103`: every other voter and its peer address. */
export function parsePeers(text: string): Map<string, PeerAddress> {
  const peers = new Map<string, PeerAddress>();
  for (const part of text.split(',')) {
    const match = /^([A-Za-z0-9_.-]{1,64})=([^:,=]+):(\d{1,5})$/.exec(part.trim());
    if (match === null) throw new InvalidArgumentError(`--peers: "${part}" is not id=host:port`);
    const [, id, host, port] = match as unknown as [string, string, string, string];
    if (peers.has(id)) throw new InvalidArgumentError(`--peers: ${id} is listed twice`);
    const portNumber = Number(port);
    if (portNumber < 1 || portNumber > 65_535) throw new InvalidArgumentError(`--peers: ${id} has port ${port}`);
    peers.set(id, { host, port: portNumber });
  }
  return peers;
}
// #endregion parse-peers

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run a distkv server: RESP2 (redis-cli, ioredis) and the line protocol on one port')
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').default(6380).argParser(integer('--port', 0)))
    .option('--bind <address>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where the write-ahead log and snapshots live', './data')
    .addOption(
      new Option('--fsync <policy>', 'when a write is acknowledged').choices(['always', 'interval', 'none']).default('always'),
    )
    .addOption(new Option('--fsync-interval-ms <ms>', 'for --fsync interval').argParser(integer('--fsync-interval-ms', 1)))
    .option('--in-memory', 'no data directory: nothing survives a restart')
    .option('--requirepass <password>', 'clients must AUTH first')
    .addOption(new Option('--max-clients <n>', 'most connected clients').argParser(integer('--max-clients', 1)))
    .addOption(
      new Option('--idle-timeout-ms <ms>', 'close idle connections (0: never)').argParser(integer('--idle-timeout-ms', 0)),
    )
    .addOption(
      new Option('--pending-replies-max <n>', 'replies queued per client').argParser(integer('--pending-replies-max', 1)),
    )
    .addOption(new Option('--bulk-bytes-max <n>', 'longest RESP argument').argParser(integer('--bulk-bytes-max', 1)))
    .addOption(new Option('--line-bytes-max <n>', 'longest line or inline command').argParser(integer('--line-bytes-max', 16)))
    .addOption(new Option('--args-count-max <n>', 'most arguments per request').argParser(integer('--args-count-max', 1)))
    .option('--quiet', 'log only errors')
    .option('--id <id>', "replication: this node's id (with --peers)")
    .addOption(new Option('--peer-port <port>', 'replication: port for peer traffic').argParser(integer('--peer-port', 1)))
    .addOption(
      new Option('--peers <list>', 'replication: the other voters, id=host:port[,id=host:port...]').argParser(parsePeers),
    )
    .option('--leader <id>', 'replication: a leader fixed by configuration (phase 4); without it the nodes elect one')
    .addOption(
      new Option('--election <algorithm>', 'replication: how the nodes elect a leader (without --leader)')
        .choices(['raft', 'bully'])
        .default('raft'),
    )
    .addOption(
      new Option(
        '--read-mode <mode>',
        'replication: how reads are confirmed (default read-index when electing, stale with --leader)',
      ).choices(['read-index', 'lease', 'stale']),
    )
    .addOption(
      new Option('--replication <mode>', 'replication: when a write is acknowledged').choices(['sync', 'async']).default('sync'),
    )
    .addOption(
      new Option('--snapshot-every <n>', 'replication: snapshot and compact the log every n applied entries').argParser(
        integer('--snapshot-every', 1),
      ),
    )
    .addOption(
      new Option('--tick-ms <ms>', 'replication: milliseconds per Raft tick (default 50)').argParser(integer('--tick-ms', 1)),
    )
    .addOption(
      new Option('--write-timeout-ms <ms>', 'replication: a write unanswered this long fails with -TIMEOUT').argParser(
        integer('--write-timeout-ms', 1),
      ),
    )
    .addOption(
      new Option(
        '--http-port <port>',
        'replication: admin HTTP endpoint (/health, /ready, /status, /metrics, /v1/kv/:key); 0 picks one',
      ).argParser(integer('--http-port', 0)),
    )
    .addOption(
      new Option('--forwards-pending-max <n>', 'replication: most writes a follower holds forwarded').argParser(
        integer('--forwards-pending-max', 1),
      ),
    )
    .action(async (flags: ServerFlags) => {
      await runServer(flags);
    });
}

// #region run-server
async function runServer(flags: ServerFlags): Promise<void> {
  const log = flags.quiet ? () => {} : (line: string) => process.stderr.write(`distkv: ${line}\n`);
  const limits = serverLimits(flags);
  if (flags.peers !== undefined) {
    await runClusterNode(flags, limits, log);
    return;
  }
  let backend: KvBackend;
  let durable: DurableStore | undefined;
  if (flags.inMemory) {
    backend = new MemoryBackend();
  } else {
    durable = await DurableStore.open({
      dir: resolve(flags.dataDir),
      fsync: flags.fsync,
      ...(flags.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: flags.fsyncIntervalMs }),
      log,
    });
    backend = durable;
  }
  const server = await Server.listen({
    backend,
    port: flags.port,
    host: flags.bind,
    limits,
    requirepass: flags.requirepass ?? null,
    config: {
      appendonly: durable === undefined ? 'no' : 'yes',
      appendfsync: { always: 'always', interval: 'everysec', none: 'no' }[flags.fsync],
    },
    log,
  });
  onSignals(log, async () => {
    await server.close();
    await durable?.close();
  });
  const { host, port } = server.address;
  const where = durable === undefined ? 'in memory only' : `data in ${durable.dir}, fsync ${flags.fsync}`;
  // Printed last, once signals are handled: tests and scripts read the port from this line (with --port 0).
  process.stdout.write(`distkv listening on ${host}:${port} (RESP2 and line protocol), ${where}\n`);
}
// #endregion run-server

function serverLimits(flags: ServerFlags): Partial<ServerLimits> {
  const limits: Partial<ServerLimits> = {};
  if (flags.maxClients !== undefined) limits.clientsMax = flags.maxClients;
  if (flags.idleTimeoutMs !== undefined) limits.idleTimeoutMs = flags.idleTimeoutMs;
  if (flags.pendingRepliesMax !== undefined) limits.pendingRepliesMax = flags.pendingRepliesMax;
  if (flags.bulkBytesMax !== undefined) limits.bulkBytesMax = flags.bulkBytesMax;
  if (flags.lineBytesMax !== undefined) limits.lineBytesMax = flags.lineBytesMax;
  if (flags.argsCountMax !== undefined) limits.argsCountMax = flags.argsCountMax;
  return limits;
}

/** Graceful shutdown on the first SIGTERM/SIGINT; a second one exits at once. */
function onSignals(log: (line: string) => void, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    log(`${signal}: finishing in-flight requests (send it again to exit at once)`);
    void (async () => {
      await shutdown();
      log('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

// #region start-replica
/** `--peers` given: this node is one voter of a replicated cluster, built as a ClusterNode. */
async function runClusterNode(flags: ServerFlags, limits: Partial<ServerLimits>, log: (line: string) => void): Promise<void> {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(why);
  };
  const peers = flags.peers as Map<string, PeerAddress>;
  if (flags.id === undefined) fail('--peers needs --id (this node)');
  if (flags.peerPort === undefined) fail('--peers needs --peer-port');
  if (flags.inMemory) fail('--in-memory cannot replicate: the Raft log lives in --data-dir');
  const id = flags.id as string;
  if (peers.has(id)) fail(`--peers lists this node (${id}) too; list only the others`);
  if (flags.leader !== undefined && flags.leader !== id && !peers.has(flags.leader))
    fail(`--leader ${flags.leader} is neither --id nor in --peers`);
  if (flags.leader !== undefined && flags.readMode === 'lease') fail('--read-mode lease needs elections (no --leader)');
  if (flags.election === 'bully' && flags.readMode === 'lease') fail('--read-mode lease needs --election raft (check-quorum)');
  const node = await ClusterNode.start({
    id,
    peers,
    peerListen: { host: flags.bind, port: flags.peerPort as number },
    dataDir: resolve(flags.dataDir),
    client: { host: flags.bind, port: flags.port },
    http: flags.httpPort === undefined ? undefined : { host: flags.bind, port: flags.httpPort },
    election: flags.election,
    leader: flags.leader,
    readMode: flags.readMode,
    replication: flags.replication,
    tickMs: flags.tickMs,
    compactEveryEntries: flags.snapshotEvery,
    forwardLimits: {
      ...(flags.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: flags.writeTimeoutMs }),
      ...(flags.forwardsPendingMax === undefined ? {} : { forwardsPendingMax: flags.forwardsPendingMax }),
    },
    serverLimits: limits,
    requirepass: flags.requirepass ?? null,
    log,
  });
  onSignals(log, () => node.stop());
  const { host, port } = node.server.address;
  const replica = node.replica;
  const leading = flags.leader === undefined ? `${flags.election} elections` : `leader ${flags.leader}`;
  const http = node.admin === undefined ? '' : `, admin http on ${node.admin.address.host}:${node.admin.address.port}`;
  const where = `replica ${replica.id} of ${replica.raft.config.voters.length}, ${leading}, reads ${replica.readMode}, ${replica.mode}, peers on ${flags.bind}:${flags.peerPort}${http}, data in ${resolve(flags.dataDir)}`;
  // Printed last, once signals are handled: tests and scripts read the port from this line (with --port 0).
  process.stdout.write(`distkv listening on ${host}:${port} (RESP2 and line protocol), ${where}\n`);
}
// #endregion start-replica
