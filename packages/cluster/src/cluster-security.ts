/**
 * A full node's security settings in one place: who may use the client
 * port and the admin endpoint (the same users), how peers prove they belong
 * to the cluster, which addresses may be exposed, and the admin endpoint's
 * HTTP limits. See docs/security.md.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isLoopbackHost, parseBasicAuth, type TlsMaterial, type UserSpec, type UserTable } from '@distkv/net';
import type { PeerSecurity } from '@distkv/replication';
import { Counter, type Registry } from 'prom-client';
import { clusterError } from './errors.js';

// #region security-options
export interface ClusterSecurityOptions {
  /** Named users (`name:ro|rw:password`), for the client port and the admin endpoint's Basic auth. */
  users?: readonly UserSpec[] | undefined;
  /** TLS for the client port, the admin endpoint (HTTPS) and the peer port (mutual; `ca` required). */
  tls?: TlsMaterial | undefined;
  /** Peers prove they know it with an HMAC challenge on every connection. */
  clusterSecret?: string | undefined;
  /** Nodes of different clusters refuse each other. Default `distkv`. */
  clusterId?: string | undefined;
  /** Start even when a non-loopback address is served without authentication. */
  unsafeNoAuth?: boolean | undefined;
}
// #endregion security-options

export function peerSecurityOf(security: ClusterSecurityOptions): PeerSecurity {
  return {
    ...(security.tls === undefined ? {} : { tls: security.tls }),
    ...(security.clusterSecret === undefined ? {} : { clusterSecret: security.clusterSecret }),
    ...(security.clusterId === undefined ? {} : { clusterId: security.clusterId }),
  };
}

// #region exposure
/**
 * Refuses to start a node that anyone on the network could command: a
 * non-loopback client or admin address without any password, or a
 * non-loopback peer address without mutual TLS or a cluster secret (a
 * stranger could otherwise vote, or append entries). `unsafeNoAuth` says
 * the network itself is the boundary.
 */
export function checkExposure(options: {
  client: { host: string };
  peerListen: { host: string };
  http?: { host: string } | undefined;
  passwords: boolean;
  security: ClusterSecurityOptions;
}): void {
  if (options.security.unsafeNoAuth === true) return;
  const problems: string[] = [];
  const exposed = (host: string) => !isLoopbackHost(host);
  if (exposed(options.client.host) && !options.passwords)
    problems.push(`the client port on ${options.client.host} has no password (--requirepass or --user)`);
  if (options.http !== undefined && exposed(options.http.host) && !options.passwords)
    problems.push(`the admin HTTP port on ${options.http.host} has no password (--requirepass or --user)`);
  const peersAuthenticated =
    (options.security.tls !== undefined && options.security.tls.ca !== undefined) || options.security.clusterSecret !== undefined;
  if (exposed(options.peerListen.host) && !peersAuthenticated)
    problems.push(
      `the peer port on ${options.peerListen.host} lets any node join (--tls-cert/--tls-key/--tls-ca, or --cluster-secret)`,
    );
  if (problems.length > 0) {
    throw clusterError(
      'CLUSTER_UNSAFE_BIND',
      `refusing to start: ${problems.join('; ')}. Bind 127.0.0.1, configure them, or pass --unsafe-no-auth if the network itself is the boundary`,
    );
  }
}
// #endregion exposure

// #region http-limits
export interface HttpLimits {
  /** The request line and headers must arrive within this (slow-loris on HTTP). */
  httpHeadersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. */
  httpRequestTimeoutMs: number;
  /** Largest request line plus headers; 431 beyond. */
  httpHeaderBytesMax: number;
  /** A kept-alive connection idle this long is closed. */
  httpIdleTimeoutMs: number;
}

export const defaultHttpLimits: Readonly<HttpLimits> = Object.freeze({
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpHeaderBytesMax: 16 * 1024,
  httpIdleTimeoutMs: 5_000,
});
// #endregion http-limits

export function resolveHttpLimits(partial: Partial<HttpLimits> = {}): HttpLimits {
  const limits = { ...defaultHttpLimits };
  for (const key of Object.keys(defaultHttpLimits) as Array<keyof HttpLimits>) {
    const v = partial[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1 || v > 2_147_483_647)
      throw clusterError('CLUSTER_CONFIG_INVALID', `${key} must be an integer in 1..2^31-1, got ${v}`);
    limits[key] = v;
  }
  if (limits.httpHeadersTimeoutMs > limits.httpRequestTimeoutMs)
    throw clusterError('CLUSTER_CONFIG_INVALID', 'httpHeadersTimeoutMs must not exceed httpRequestTimeoutMs');
  return limits;
}

/** node:http options and settings for the limits; Node checks its timeouts every connectionsCheckingInterval. */
export function httpServerOptions(limits: HttpLimits): { maxHeaderSize: number; connectionsCheckingInterval: number } {
  return {
    maxHeaderSize: limits.httpHeaderBytesMax,
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.httpHeadersTimeoutMs / 4))),
  };
}

export function applyHttpLimits(http: HttpServer, limits: HttpLimits): void {
  http.headersTimeout = limits.httpHeadersTimeoutMs;
  http.requestTimeout = limits.httpRequestTimeoutMs;
  http.keepAliveTimeout = limits.httpIdleTimeoutMs;
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Garbage or oversized headers get a 400 (431) and a close. A slow request is only closed: writing a reply to
    // it (as Node's default handler does) left such sockets open here, so a slow-loris kept its connection.
    if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
}

// #region http-auth
/**
 * Who may do what on the admin endpoint, with the client port's users:
 * `/health` and `/ready` are always open (orchestrators probe them);
 * the other read-only pages are open when the endpoint listens on loopback
 * or no password is configured, and otherwise need any user; keys
 * (`/v1/kv/...`) need a user whenever passwords are configured, and writes
 * a read-write one. Failures count like AUTH's, and a connection that
 * fails `authFailuresMax` times is closed.
 */
export class HttpGuard {
  readonly #users: UserTable;
  readonly #loopback: boolean;
  readonly #authFailuresMax: number;
  readonly #failures = new WeakMap<Socket, number>();

  constructor(users: UserTable, host: string, authFailuresMax: number) {
    this.#users = users;
    this.#loopback = isLoopbackHost(host);
    this.#authFailuresMax = authFailuresMax;
  }

  /** True when the request may go on; otherwise the answer (401 or 403) is sent here. */
  allow(req: IncomingMessage, res: ServerResponse, method: string, path: string): boolean {
    if (!this.#users.required || path === '/health' || path === '/ready') return true;
    // The keys, and a backup that holds them all: never open, not even a GET on loopback.
    const data = path.startsWith('/v1/kv/') || path === '/v1/snapshot';
    if (!data && this.#loopback && method === 'GET') return true;
    const credentials = parseBasicAuth(req.headers.authorization);
    const permission = credentials === undefined ? undefined : this.#users.verify(credentials.user, credentials.password);
    if (permission === undefined) {
      let close = false;
      if (credentials !== undefined) {
        const n = (this.#failures.get(req.socket) ?? 0) + 1;
        this.#failures.set(req.socket, n);
        close = n >= this.#authFailuresMax;
      }
      req.resume();
      const body = `${JSON.stringify({
        error: credentials === undefined ? 'NOAUTH' : 'WRONGPASS',
        message: credentials === undefined ? 'authentication required (HTTP Basic)' : 'invalid username-password pair',
        definite: true,
      })}\n`;
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="distkv", charset="UTF-8"',
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(close ? { connection: 'close' } : {}),
      });
      res.end(body);
      return false;
    }
    const write = method !== 'GET' && method !== 'HEAD';
    if (write && permission === 'ro') {
      this.#users.permissionDenials++;
      req.resume();
      const body = `${JSON.stringify({
        error: 'NOPERM',
        message: `User ${credentials?.user} has no permissions to run ${method}`,
        definite: true,
      })}\n`;
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return false;
    }
    return true;
  }
}
// #endregion http-auth

/** `distkv_auth_failures_total` on the node's registry, fed by the user table (RESP, line protocol and HTTP). */
export function countAuthFailures(users: UserTable, registry: Registry): void {
  const counter = new Counter({
    name: 'distkv_auth_failures_total',
    help: 'Failed authentication attempts (AUTH on the client port, HTTP Basic on the admin endpoint).',
    registers: [registry],
  });
  counter.inc(users.authFailures);
  users.onAuthFailure = () => counter.inc();
}
