/**
 * The client port of a distkv node: a TCP (or TLS) listener on which
 * redis-cli, Redis client libraries and the seed's line protocol all work.
 *
 * It owns what is shared by every connection (the limits, the user table,
 * SCAN cursors, INFO and CONFIG's view of the server) and hands each
 * accepted socket to a `Connection` (connection.ts), which parses, orders
 * and answers. Data itself lives behind the `KvBackend` it is given:
 * `MemoryBackend` in this phase, `DurableStore` with a WAL, or a
 * `ReplicationNode` that puts writes through Raft. So the same server
 * fronts a single process and a cluster, and only the backend changes.
 * The exposure check refuses to serve a non-loopback address without
 * authentication unless told to (client-port-security.ts).
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { arch, platform } from 'node:os';
import { createServer as createTlsServer } from 'node:tls';
import { assert, type LogLine } from '@distkv/core';
import type { KvBackend } from './backend.js';
import { type ClientPortSecurityOptions, checkClientExposure, resolveSecurityLimits, UserTable } from './client-port-security.js';
import { Connection, type RequestSample } from './connection.js';
import { resolveServerLimits, type ServerLimits } from './limits.js';
import type { ServerContext } from './resp-commands.js';
import { REDIS_COMPAT_VERSION } from './resp-server-commands.js';
import { ScanCursors } from './scan-cursors.js';
import { DISTKV_VERSION } from './version.js';

export interface ServerOptions extends ClientPortSecurityOptions {
  backend: KvBackend;
  /** Default 6380; 0 picks a free port (see `address`). */
  port?: number;
  /** Default 127.0.0.1: a fresh server is not reachable from other machines. */
  host?: string;
  limits?: Partial<ServerLimits>;
  /** Values CONFIG GET reports (e.g. appendonly, appendfsync), on top of the server's own. */
  config?: Record<string, string>;
  log?: LogLine;
  /** Called once per answered request (command, ok or error, latency); metrics use it. */
  onRequest?: (sample: RequestSample) => void;
}

/**
 * The client-facing server: one port, RESP2 and the seed's line protocol.
 * `Server.listen()` resolves once it accepts connections; `close()` is the
 * graceful shutdown (stop accepting, finish what is in flight, flush).
 */
export class Server {
  readonly limits: Readonly<ServerLimits>;
  readonly users: UserTable;
  readonly #net: NetServer;
  readonly #backend: KvBackend;
  readonly #connections = new Set<Connection>();
  readonly #context: ServerContext;
  readonly #log: LogLine;
  readonly #onRequest: ((sample: RequestSample) => void) | undefined;
  readonly #startedAtMs = Date.now();
  #nextClientId = 1;
  #commandsProcessed = 0;
  #connectionsReceived = 0;
  #connectionsRejected = 0;
  #closing: Promise<void> | undefined;

  private constructor(options: ServerOptions) {
    this.limits = resolveServerLimits(options.limits);
    this.#backend = options.backend;
    this.#log = options.log ?? (() => {});
    this.#onRequest = options.onRequest;
    const requirepass = options.requirepass ?? null;
    assert(requirepass === null || typeof requirepass === 'string', 'requirepass is a string or null');
    this.users = new UserTable(options.users ?? [], requirepass);
    const securityLimits = resolveSecurityLimits(options.securityLimits);
    const extraConfig = options.config ?? {};
    const backend = options.backend;
    this.#context = {
      // A getter: a replica swaps its store when it installs a snapshot.
      get store() {
        return backend.store;
      },
      limits: this.limits,
      requirepass: requirepass === '' ? null : requirepass,
      users: this.users,
      securityLimits,
      cursors: new ScanCursors(this.limits.scanCursorsMax),
      info: () => this.#info(),
      config: () => ({
        save: '',
        appendonly: 'no',
        databases: '1',
        maxclients: String(this.limits.clientsMax),
        timeout: String(Math.ceil(this.limits.idleTimeoutMs / 1000)),
        'proto-max-bulk-len': String(this.limits.bulkBytesMax),
        port: String(this.address.port),
        bind: this.address.host,
        ...extraConfig,
      }),
    };
    const tls = options.tls;
    this.#net =
      tls === undefined
        ? createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket))
        : createTlsServer(
            {
              cert: tls.cert,
              key: tls.key,
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              allowHalfOpen: true,
              noDelay: true,
              handshakeTimeout: securityLimits.requestTimeoutMs > 0 ? securityLimits.requestTimeoutMs : 120_000,
            },
            (socket) => this.#accept(socket),
          ).on('tlsClientError', (err) => this.#log(`client TLS handshake failed: ${err.message}`, 'warn'));
  }

  static listen(options: ServerOptions): Promise<Server> {
    const server = new Server(options);
    checkClientExposure({
      host: options.host ?? '127.0.0.1',
      authRequired: server.users.required,
      unsafeNoAuth: options.unsafeNoAuth ?? false,
    });
    const port = options.port ?? 6380;
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      server.#net.once('error', reject);
      server.#net.listen({ port, host }, () => {
        server.#net.off('error', reject);
        server.#net.on('error', (err) => server.#log(`server error: ${err.message}`, 'error'));
        resolve(server);
      });
    });
  }

  get address(): { host: string; port: number } {
    const address = this.#net.address();
    if (address === null || typeof address === 'string') return { host: '', port: 0 };
    return { host: address.address, port: address.port };
  }

  get clientCount(): number {
    return this.#connections.size;
  }

  #accept(socket: Socket): void {
    this.#connectionsReceived++;
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.limits.clientsMax) {
      this.#connectionsRejected++;
      socket.on('error', () => {});
      // Closed once the reply is flushed: a flood must not keep half-open sockets (and descriptors) around.
      socket.end('-ERR max number of clients reached\r\n', () => socket.destroy());
      return;
    }
    const connection = new Connection(socket, this.#nextClientId++, {
      backend: this.#backend,
      context: this.#context,
      onCommand: () => {
        this.#commandsProcessed++;
      },
      onRequest: this.#onRequest,
      log: this.#log,
    });
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
  }

  // #region close
  /**
   * Graceful shutdown: stop accepting, let every connection finish the
   * requests it already read and send their replies, then flush the
   * backend. Connections still open after `timeoutMs` are destroyed.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#net.close(() => resolve()));
      const timer = setTimeout(() => {
        for (const connection of this.#connections) connection.destroy();
      }, timeoutMs);
      await Promise.all([...this.#connections].map((c) => c.shutdown()));
      clearTimeout(timer);
      await stopped;
      await this.#backend.flush?.();
    })();
    return this.#closing;
  }
  // #endregion close

  #info(): Record<string, Record<string, string | number>> {
    const memory = process.memoryUsage();
    return {
      Server: {
        redis_version: REDIS_COMPAT_VERSION,
        distkv_version: DISTKV_VERSION,
        redis_mode: 'standalone',
        os: `${platform()} ${arch()}`,
        process_id: process.pid,
        tcp_port: this.address.port,
        uptime_in_seconds: Math.floor((Date.now() - this.#startedAtMs) / 1000),
      },
      Clients: { connected_clients: this.#connections.size, maxclients: this.limits.clientsMax },
      Memory: { used_memory: memory.heapUsed, used_memory_rss: memory.rss },
      Persistence: { loading: 0 },
      Stats: {
        total_connections_received: this.#connectionsReceived,
        total_commands_processed: this.#commandsProcessed,
        rejected_connections: this.#connectionsRejected,
        acl_access_denied_auth: this.users.authFailures,
        acl_access_denied_cmd: this.users.permissionDenials,
      },
      Replication: this.#backend.replicationInfo?.() ?? { role: 'master', connected_slaves: 0 },
      Keyspace: this.#context.store.size > 0 ? { db0: `keys=${this.#context.store.size},expires=0,avg_ttl=0` } : {},
    };
  }
}
