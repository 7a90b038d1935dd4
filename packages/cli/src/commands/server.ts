import { resolve } from 'node:path';
import { type KvBackend, MemoryBackend, Server, type ServerLimits } from '@distkv/net';
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
}

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
    .action(async (flags: ServerFlags) => {
      await runServer(flags);
    });
}

// #region run-server
async function runServer(flags: ServerFlags): Promise<void> {
  const log = flags.quiet ? () => {} : (line: string) => process.stderr.write(`distkv: ${line}\n`);
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
  const limits: Partial<ServerLimits> = {};
  if (flags.maxClients !== undefined) limits.clientsMax = flags.maxClients;
  if (flags.idleTimeoutMs !== undefined) limits.idleTimeoutMs = flags.idleTimeoutMs;
  if (flags.pendingRepliesMax !== undefined) limits.pendingRepliesMax = flags.pendingRepliesMax;
  if (flags.bulkBytesMax !== undefined) limits.bulkBytesMax = flags.bulkBytesMax;
  if (flags.lineBytesMax !== undefined) limits.lineBytesMax = flags.lineBytesMax;
  if (flags.argsCountMax !== undefined) limits.argsCountMax = flags.argsCountMax;
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
  // Graceful shutdown on the first SIGTERM/SIGINT; a second one exits at once.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    log(`${signal}: finishing in-flight requests (send it again to exit at once)`);
    void (async () => {
      await server.close();
      await durable?.close();
      log('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const { host, port } = server.address;
  const where = durable === undefined ? 'in memory only' : `data in ${durable.dir}, fsync ${flags.fsync}`;
  // Printed last, once signals are handled: tests and scripts read the port from this line (with --port 0).
  process.stdout.write(`distkv listening on ${host}:${port} (RESP2 and line protocol), ${where}\n`);
}
// #endregion run-server
