// A distkv server in a dozen lines: the store in memory (or durable with
// --data-dir), Redis on --port and the seed's line protocol on --line-port
// (if given). Run from packages/net:
//   node --loader ts-node/esm --no-warnings examples/server.ts [--port 6380] [--line-port 12345] [--data-dir ./data] [--requirepass pw]
// then try `redis-cli -p 6380 SET hello world`, `printf 'GET hello\r\n' | nc 127.0.0.1 6380`,
// or type `PUT hello world` into `distkv client --line -p 12345`. Ctrl-C shuts it down gracefully.
import { parseArgs } from 'node:util';
import { type KvBackend, Server } from '@distkv/net';
import { MemoryBackend } from '@distkv/net/testing';
import { DurableStore } from '@distkv/wal';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6380' },
    'line-port': { type: 'string' },
    'data-dir': { type: 'string' },
    fsync: { type: 'string', default: 'always' },
    requirepass: { type: 'string' },
    'idle-timeout-ms': { type: 'string', default: '0' },
  },
});

// #region example
const dataDir = values['data-dir'];
const backend: KvBackend =
  dataDir === undefined
    ? new MemoryBackend()
    : await DurableStore.open({ dir: dataDir, fsync: values.fsync as 'always' | 'interval' | 'none' });
const server = await Server.listen({
  backend,
  port: Number(values.port),
  ...(values['line-port'] === undefined ? {} : { linePort: Number(values['line-port']) }),
  requirepass: values.requirepass ?? null,
  limits: { idleTimeoutMs: Number(values['idle-timeout-ms']) },
});
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
const line = server.lineAddress;
console.log(
  `distkv listening on ${server.address.host}:${server.address.port}${line === undefined ? '' : `, line protocol on ${line.host}:${line.port}`}`,
);
// #endregion example
