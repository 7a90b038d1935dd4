// The closed-loop load generator `pnpm bench cluster` uses for both distkv
// and etcd, so that the two are measured the same way: `clients`
// connections, each with one request in flight at a time, 16-byte values
// over `keyspace` keys, for `requests` requests in total. distkv is driven
// with RESP SET over raw TCP, etcd with its v3 JSON gateway
// (POST /v3/kv/put) over HTTP/1.1 keep-alive: each store's own simplest
// client protocol, one round trip per write.
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface LoadOptions {
  clients: number;
  requests: number;
  keyspace: number;
  /** Ends the run early, once true (asked before each request): a load that lasts as long as something takes. */
  stop?: () => boolean;
}

export interface LoadResult {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const VALUE = 'v'.repeat(16);

function summarize(latencies: number[], elapsedMs: number): LoadResult {
  const s = latencies.sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { opsPerSec: (s.length * 1000) / elapsedMs, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** Runs `options.clients` loops that each await `one(client, key)` until `options.requests` are done. */
async function closedLoop(options: LoadOptions, one: (client: number, key: string) => Promise<void>): Promise<LoadResult> {
  let issued = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      while (issued < options.requests && options.stop?.() !== true) {
        issued++;
        const key = `key:${Math.floor(Math.random() * options.keyspace)}`;
        const t0 = performance.now();
        await one(client, key);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return summarize(latencies, performance.now() - started);
}

/** RESP SETs through `clients` TCP connections to 127.0.0.1:`port`. */
export async function respSetLoad(port: number, options: LoadOptions): Promise<LoadResult> {
  const sockets: Socket[] = [];
  const waiting: Array<(() => void) | undefined> = [];
  for (let i = 0; i < options.clients; i++) {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end = pending.indexOf('\r\n');
      while (end >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (line !== '+OK') throw new Error(`distkv answered ${line}`);
        const done = waiting[i];
        waiting[i] = undefined;
        done?.();
        end = pending.indexOf('\r\n');
      }
    });
    sockets.push(socket);
  }
  try {
    return await closedLoop(options, (client, key) => {
      const frame = `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${VALUE.length}\r\n${VALUE}\r\n`;
      return new Promise<void>((resolve) => {
        waiting[client] = resolve;
        sockets[client]?.write(frame);
      });
    });
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/** etcd v3 puts through its JSON gateway at 127.0.0.1:`port`, one keep-alive connection per client. */
export async function etcdPutLoad(port: number, options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  try {
    return await closedLoop(options, (_client, key) => {
      const body = JSON.stringify({ key: b64(key), value: b64(VALUE) });
      return new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/v3/kv/put', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`etcd answered ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    });
  } finally {
    agent.destroy();
  }
}
