/**
 * The client ports of a distkv node: a TCP (or TLS) listener on which
 * redis-cli, Redis client libraries and Redis's inline commands (`nc`,
 * telnet) work, and, when asked for, a second one for the seed's line
 * protocol (`--line-port`). Two ports, because the two protocols cannot be
 * told apart from the bytes: `GET k` is both.
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
import { type ClientProtocol, Connection, type RequestSample } from './connection.js';
import { resolveServerLimits, type ServerLimits, serverLimitTable } from './limits.js';
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
  /**
   * The seed's line protocol on its own port, on the same host, with the
   * same users, TLS and limits; left out, there is none. 0 picks a free
   * port (see `lineAddress`).
   */
  linePort?: number | undefined;
  limits?: Partial<ServerLimits>;
  /** Values CONFIG GET reports (e.g. appendonly, appendfsync), on top of the server's own. */
  config?: Record<string, string>;
  log?: LogLine;
  /** Called once per answered request (command, ok or error, latency); metrics use it. */
  onRequest?: (sample: RequestSample) => void;
}

/**
 * The client-facing server: the Redis port (RESP2 and inline commands) and
 * an optional line-protocol port, sharing users, limits, SCAN cursors and
 * INFO's counters.
 * `Server.listen()` resolves once it accepts connections; `close()` is the
 * graceful shutdown (stop accepting, finish what is in flight, flush).
 */
export class Server {
  readonly limits: Readonly<ServerLimits>;
  readonly users: UserTable;
  readonly #net: NetServer;
  readonly #lineNet: NetServer | undefined;
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
    // A copy of its own, not frozen: CONFIG SET changes maxclients and timeout in it while the server runs.
    this.limits = { ...resolveServerLimits(options.limits) };
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
      setConfig: (pairs) => this.#setConfig(pairs),
    };
    this.#net = this.#listener(options, 'resp');
    this.#lineNet = options.linePort === undefined ? undefined : this.#listener(options, 'line');
  }

  // #region listener
  /** A listener for one protocol; both get the same TLS material and handshake limit. */
  #listener(options: ServerOptions, protocol: ClientProtocol): NetServer {
    const tls = options.tls;
    if (tls === undefined)
      return createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket, protocol));
    const { requestTimeoutMs } = this.#context.securityLimits;
    return createTlsServer(
      {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        allowHalfOpen: true,
        noDelay: true,
        handshakeTimeout: requestTimeoutMs > 0 ? requestTimeoutMs : 120_000,
      },
      (socket) => this.#accept(socket, protocol),
    ).on('tlsClientError', (err) => this.#log(`client TLS handshake failed: ${err.message}`, 'warn'));
  }
  // #endregion listener

  static async listen(options: ServerOptions): Promise<Server> {
    const server = new Server(options);
    checkClientExposure({
      host: options.host ?? '127.0.0.1',
      authRequired: server.users.required,
      unsafeNoAuth: options.unsafeNoAuth ?? false,
    });
    const port = options.port ?? 6380;
    const host = options.host ?? '127.0.0.1';
    const linePort = options.linePort;
    assert(
      linePort === undefined || (Number.isInteger(linePort) && linePort >= 0 && linePort <= 65_535),
      'linePort is a TCP port',
    );
    assert(linePort === undefined || linePort === 0 || linePort !== port, 'linePort differs from port');
    const listenOn = (net: NetServer, listenPort: number): Promise<void> =>
      new Promise((resolve, reject) => {
        net.once('error', reject);
        net.listen({ port: listenPort, host }, () => {
          net.off('error', reject);
          net.on('error', (err) => server.#log(`server error: ${err.message}`, 'error'));
          resolve();
        });
      });
    await listenOn(server.#net, port);
    if (server.#lineNet !== undefined && linePort !== undefined) {
      try {
        await listenOn(server.#lineNet, linePort);
      } catch (err) {
        await new Promise<void>((resolve) => server.#net.close(() => resolve()));
        throw err;
      }
    }
    return server;
  }

  /** The Redis port. */
  get address(): { host: string; port: number } {
    const address = this.#net.address();
    if (address === null || typeof address === 'string') return { host: '', port: 0 };
    return { host: address.address, port: address.port };
  }

  /** The line-protocol port, or undefined when the server has none. */
  get lineAddress(): { host: string; port: number } | undefined {
    const address = this.#lineNet?.address();
    if (address === undefined || address === null || typeof address === 'string') return undefined;
    return { host: address.address, port: address.port };
  }

  get clientCount(): number {
    return this.#connections.size;
  }

  #accept(socket: Socket, protocol: ClientProtocol): void {
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
      protocol,
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
      const stopped = Promise.all(
        [this.#net, this.#lineNet].map(
          (net) => new Promise<void>((resolve) => (net === undefined ? resolve() : net.close(() => resolve()))),
        ),
      );
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

  // #region config-set
  /**
   * CONFIG SET of what can change while the server runs: `maxclients`
   * (new connections past it are refused; open ones stay) and `timeout`
   * (the idle timeout, in seconds, 0 = none: applied to the open
   * connections too, as Redis does). Every pair is checked before any is
   * applied. The rest of CONFIG GET's names are fixed at start: refused,
   * with Redis's text and the reason.
   */
  #setConfig(pairs: ReadonlyArray<readonly [string, string]>): string | undefined {
    const failed = (name: string, why: string) => `CONFIG SET failed (possibly related to argument '${name}') - ${why}`;
    const next: Partial<Pick<ServerLimits, 'clientsMax' | 'idleTimeoutMs'>> = {};
    const seen = new Set<string>();
    for (const [name, value] of pairs) {
      if (seen.has(name)) return failed(name, 'duplicate parameter');
      seen.add(name);
      if (name !== 'maxclients' && name !== 'timeout') {
        if (name in this.#context.config())
          return failed(name, "can't set immutable config (distkv fixes it at start: restart the server with another flag)");
        return `Unknown option or number of arguments for CONFIG SET - '${name}'`;
      }
      const [min, max] =
        name === 'maxclients' ? [1, serverLimitTable.clientsMax.max] : [0, Math.floor(serverLimitTable.idleTimeoutMs.max / 1000)];
      const n = /^-?\d{1,20}$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(n)) return failed(name, "argument couldn't be parsed into an integer");
      if (n < min || n > max) return failed(name, `argument must be between ${min} and ${max} inclusive`);
      if (name === 'maxclients') next.clientsMax = n;
      else next.idleTimeoutMs = n * 1000;
    }
    const limits = this.limits as ServerLimits; // ours: the one object every connection reads
    Object.assign(limits, next);
    if (next.idleTimeoutMs !== undefined) for (const c of this.#connections) c.setIdleTimeout(limits.idleTimeoutMs);
    return undefined;
  }
  // #endregion config-set

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
      // Redis's CPU section: seconds of this process's CPU time, in system and user mode (what exporters graph).
      CPU: cpuSeconds(process.cpuUsage()),
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

/** process.cpuUsage() (microseconds) as Redis's INFO CPU fields: seconds with six decimals. */
function cpuSeconds(usage: NodeJS.CpuUsage): Record<string, string> {
  return { used_cpu_sys: (usage.system / 1e6).toFixed(6), used_cpu_user: (usage.user / 1e6).toFixed(6) };
}
