/**
 * The admin HTTP endpoint (node:http, no framework): health and readiness
 * for orchestrators, `/status` as JSON, `/metrics` in Prometheus's text
 * format (prom-client, see metrics.ts), the dashboard at `/` with its data
 * at `/dashboard/state` (see dashboard.ts), and `/v1/kv/:key` — the same
 * write and read paths as RESP (`execute`, `readBarrier`), so a REST write
 * is forwarded and a REST read is linearizable exactly like a client's.
 */
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { commands, errorContract, isDistkvError } from '@distkv/core';
import type { TlsMaterial } from '@distkv/net';
import type { NodeId, ReplicationNode } from '@distkv/replication';
import { applyHttpLimits, type HttpGuard, type HttpLimits, httpServerOptions, resolveHttpLimits } from './cluster-security.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { clusterError } from './errors.js';
import type { NodeEvent } from './events.js';
import type { NodeMonitor } from './monitor.js';
import type { SeriesPoint } from './series.js';
import { membershipOf } from './wiring.js';

// #region admin-limits
export interface AdminLimits {
  /** Longest REST request body (a PUT's value); HTTP_BODY_TOO_LARGE (413) beyond. */
  httpBodyBytesMax: number;
  /** Most admin HTTP connections at once. */
  httpConnectionsMax: number;
}

export const defaultAdminLimits: Readonly<AdminLimits> = Object.freeze({
  httpBodyBytesMax: 1024 * 1024,
  httpConnectionsMax: 256,
});
// #endregion admin-limits

export function resolveAdminLimits(partial: Partial<AdminLimits> = {}): AdminLimits {
  const limits = { ...defaultAdminLimits, ...partial };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 1024 * 1024 * 1024)
      throw clusterError('CLUSTER_CONFIG_INVALID', `${k} must be an integer in 1..2^30, got ${v}`);
  }
  return limits;
}

// #region status
/** `/status`: who this node is, whom it follows, and (on the leader) how far each peer lags. */
export interface NodeStatus {
  id: string;
  role: string;
  term: number;
  leader: string | null;
  leaderAddress: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  readMode: string;
  replicationMode: string;
  keys: number;
  /** Last heartbeat: ms since a follower heard its leader, or the leader a majority; null when it has not. */
  lastContactMs: number | null;
  /** Membership (chapter 5): this node's place, the configuration's index and its members. */
  membership: 'voter' | 'learner' | 'none';
  confIndex: number;
  voters: string[];
  learners: string[];
  /** Leader only: every other member's replication, learners' too (`role`). */
  peers: Array<{ id: string; role: 'voter' | 'learner'; matchIndex: number; lag: number; state: string }>;
}
// #endregion status

export function nodeStatus(replica: ReplicationNode): NodeStatus {
  const s = replica.status();
  const info = replica.replicationInfo();
  const peers: NodeStatus['peers'] = [];
  if (s.progress !== undefined) {
    for (const [id, p] of s.progress) {
      if (id === s.id) continue;
      const role = s.conf.learners.includes(id) ? 'learner' : 'voter';
      peers.push({ id, role, matchIndex: p.match, lag: s.lastIndex - p.match, state: p.state });
    }
  }
  const leaderAddress = String(info.leader_addr ?? '');
  return {
    id: s.id,
    role: s.role,
    term: s.term,
    leader: s.leader,
    leaderAddress: leaderAddress === '' ? null : leaderAddress,
    commitIndex: s.commit,
    appliedIndex: s.applied,
    lastIndex: s.lastIndex,
    readMode: replica.readMode,
    replicationMode: replica.mode,
    keys: replica.store.size,
    lastContactMs: replica.lastContactMs() ?? null,
    membership: membershipOf(replica).membership,
    confIndex: s.confIndex,
    voters: [...s.conf.voters],
    learners: [...s.conf.learners],
    peers,
  };
}

/** Ready to serve: a leader is known and this node applied everything it knows committed. */
export function isReady(status: NodeStatus): boolean {
  return status.leader !== null && status.appliedIndex >= status.commitIndex;
}

// #region dashboard-state
/** `GET /dashboard/state`: everything one node's card, the chart and the event list need, in one answer. */
export interface DashboardState {
  id: string;
  /** This admin endpoint, `host:port`. */
  httpAddress: string;
  /** The other voters' admin endpoints (`host:port`), as configured or derived (see ClusterNodeOptions.peerHttp). */
  peerHttp: Record<string, string>;
  pid: number;
  startedAtMs: number;
  nowMs: number;
  ready: boolean;
  status: NodeStatus;
  /** This node's outgoing peer connections. */
  links: Array<{ id: string; state: string }>;
  /** The newest events (at most DASHBOARD_EVENTS_MAX), oldest first. */
  events: NodeEvent[];
  /** Requests per second and latency, one point per second, oldest first. */
  series: SeriesPoint[];
}
// #endregion dashboard-state

export const DASHBOARD_EVENTS_MAX = 50;

/** The admin routes that answer GET and nothing else. */
const readOnlyPaths: ReadonlySet<string> = new Set([
  '/health',
  '/ready',
  '/status',
  '/metrics',
  '/',
  '/dashboard',
  '/dashboard/state',
]);

/** 405 with the Allow header RFC 9110 asks for: the path exists, the method does not. */
function methodNotAllowed(res: ServerResponse, method: string, path: string, allowed: string[]): Error {
  res.setHeader('allow', allowed.join(', '));
  return clusterError('HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`);
}

/** What the admin endpoint shows besides the replica: metrics, events, series, and where the peers' endpoints are. */
export interface AdminObservability {
  monitor: NodeMonitor;
  links: () => Array<{ id: string; state: string }>;
  /** Asked on each dashboard refresh: peers announce their admin endpoints as they come up. */
  peerHttp: () => ReadonlyMap<string, string>;
}

// #region http-status
/**
 * How an error becomes an HTTP status: its code's contract names it (503
 * for a retry later, 504 for an unknown outcome, 413, 404, 405, …), so the
 * endpoint and docs/errors.md cannot disagree. An error without a
 * registered code is a bug: 500.
 */
export function httpStatusOf(err: unknown): number {
  return isDistkvError(err) && errorContract(err.code) !== undefined ? err.httpStatus : 500;
}
// #endregion http-status

/** Basic auth with the client port's users, HTTPS with its certificate, and the HTTP limits (see cluster-security.ts). */
export interface AdminSecurity {
  guard?: HttpGuard | undefined;
  tls?: TlsMaterial | undefined;
  httpLimits?: Partial<HttpLimits> | undefined;
}

export class AdminServer {
  readonly #http: HttpServer;
  readonly #replica: ReplicationNode;
  readonly #seen: AdminObservability;
  readonly limits: Readonly<AdminLimits>;
  readonly #guard: HttpGuard | undefined;

  private constructor(replica: ReplicationNode, limits: AdminLimits, seen: AdminObservability, security: AdminSecurity) {
    this.#replica = replica;
    this.#seen = seen;
    this.limits = limits;
    this.#guard = security.guard;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      seen.monitor.metrics.httpRequests.inc();
      this.#route(req, res).catch((err: unknown) => this.#fail(res, err));
    };
    const httpLimits = resolveHttpLimits(security.httpLimits);
    const tls = security.tls;
    this.#http =
      tls === undefined
        ? createServer(httpServerOptions(httpLimits), handler)
        : (createHttpsServer(
            { ...httpServerOptions(httpLimits), cert: tls.cert, key: tls.key },
            handler,
          ) as unknown as HttpServer);
    this.#http.maxConnections = limits.httpConnectionsMax;
    applyHttpLimits(this.#http, httpLimits); // headers, request and idle timeouts (slow-loris), garbage answered 400
  }

  static async listen(
    replica: ReplicationNode,
    where: { host: string; port: number },
    limits: Partial<AdminLimits>,
    seen: AdminObservability,
    security: AdminSecurity = {},
  ): Promise<AdminServer> {
    const admin = new AdminServer(replica, resolveAdminLimits(limits), seen, security);
    await new Promise<void>((resolve, reject) => {
      admin.#http.once('error', reject);
      admin.#http.listen(where.port, where.host, () => {
        admin.#http.off('error', reject);
        resolve();
      });
    });
    return admin;
  }

  get address(): { host: string; port: number } {
    const a = this.#http.address();
    if (a === null || typeof a === 'string') throw new Error('the admin server is not listening on TCP');
    return { host: a.address, port: a.port };
  }

  dashboardState(): DashboardState {
    const status = nodeStatus(this.#replica);
    const a = this.address;
    const monitor = this.#seen.monitor;
    return {
      id: status.id,
      httpAddress: `${a.host}:${a.port}`,
      peerHttp: Object.fromEntries(this.#seen.peerHttp()),
      pid: process.pid,
      startedAtMs: monitor.startedAtMs,
      nowMs: Date.now(),
      ready: isReady(status),
      status,
      links: this.#seen.links(),
      events: monitor.events.list(0, DASHBOARD_EVENTS_MAX),
      series: monitor.series.points(),
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  #send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  #json(res: ServerResponse, status: number, value: unknown): void {
    this.#send(res, status, `${JSON.stringify(value)}\n`, 'application/json');
  }

  /** The JSON error body: a registered code, its detail, and whether nothing happened. */
  #fail(res: ServerResponse, err: unknown): void {
    const known = isDistkvError(err) && errorContract(err.code) !== undefined;
    const e = known ? err : clusterError('HTTP_INTERNAL_ERROR', err instanceof Error ? err.message : String(err));
    const status = httpStatusOf(e);
    if (status === 503) res.setHeader('retry-after', '1');
    this.#json(res, status, { error: e.code, message: e.detail, definite: e.definite });
  }

  /** A store's refusal (KEY_TOO_LARGE, STORE_FULL, …): nothing was written, answered with its code's status. */
  #refuse(res: ServerResponse, result: { code: string; message: string }): void {
    this.#json(res, errorContract(result.code)?.httpStatus ?? 500, {
      error: result.code,
      message: result.message,
      definite: true,
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (this.#guard !== undefined && !this.#guard.allow(req, res, method, path)) return; // see cluster-security.ts
    if (method === 'GET' && path === '/health') return this.#send(res, 200, 'ok\n');
    if (method === 'GET' && path === '/ready') {
      const status = nodeStatus(this.#replica);
      return this.#send(res, isReady(status) ? 200 : 503, isReady(status) ? 'ready\n' : 'not ready\n');
    }
    // #region cors
    // Read-only JSON may be read by a dashboard page served by another node
    // (another origin: another port). Nothing that writes gets this header,
    // and no preflight (OPTIONS) is answered, so a page cannot PUT or DELETE.
    if (method === 'GET' && (path === '/status' || path === '/dashboard/state' || path === '/health'))
      res.setHeader('access-control-allow-origin', '*');
    // #endregion cors
    if (method === 'GET' && path === '/status') return this.#json(res, 200, nodeStatus(this.#replica));
    if (method === 'GET' && path === '/metrics') {
      const metrics = this.#seen.monitor.metrics;
      return this.#send(res, 200, await metrics.text(), metrics.contentType);
    }
    if (method === 'GET' && (path === '/' || path === '/dashboard'))
      return this.#send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8');
    if (method === 'GET' && path === '/dashboard/state') return this.#json(res, 200, this.dashboardState());
    if (path === '/v1/leader/transfer') return this.#transfer(method, req, res);
    if (path === '/v1/members' || path.startsWith('/v1/members/')) return this.#members(method, path, req, res);
    if (path === '/v1/snapshot') return this.#snapshot(method, req, res);
    if (path.startsWith('/v1/kv/') && path.length > '/v1/kv/'.length) {
      const key = Buffer.from(decodeURIComponent(path.slice('/v1/kv/'.length)), 'utf8');
      return this.#kv(method, key, req, res);
    }
    req.resume();
    if (readOnlyPaths.has(path)) throw methodNotAllowed(res, method, path, ['GET']);
    throw clusterError('HTTP_NOT_FOUND', `no route for ${method} ${path}`);
  }

  // #region rest
  async #kv(method: string, key: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const replica = this.#replica;
    if (method === 'GET') {
      req.resume();
      await replica.readBarrier(); // the same linearizable read path as RESP GET
      const value = replica.store.get(key);
      if (value === undefined) return this.#fail(res, clusterError('HTTP_KEY_NOT_FOUND', 'no such key'));
      return this.#send(res, 200, value, 'application/octet-stream');
    }
    if (method === 'PUT') {
      const value = await this.#body(req);
      const result = await replica.execute(commands.put(key, value));
      if (!result.ok) return this.#refuse(res, result);
      return this.#send(res, 204, '');
    }
    if (method === 'DELETE') {
      req.resume();
      const result = await replica.execute(commands.del(key));
      if (!result.ok) return this.#refuse(res, result);
      const deleted = result.op === 'del' ? result.deleted : 0;
      return deleted > 0 ? this.#send(res, 204, '') : this.#fail(res, clusterError('HTTP_KEY_NOT_FOUND', 'no such key'));
    }
    req.resume();
    throw methodNotAllowed(res, method, '/v1/kv/:key', ['GET', 'PUT', 'DELETE']);
  }
  // #endregion rest

  // #region leader-transfer
  /**
   * POST /v1/leader/transfer with `{"to": "n2"}` (optional `"timeoutMs"`):
   * asks this node, which must lead, to hand leadership to n2, and answers
   * `{"leader": "n2", "tookMs": …}` once it sees n2 lead. Errors carry
   * their registered status: 421 NOT_LEADER (ask the leader), 400
   * TRANSFER_TARGET_INVALID, 409 TRANSFER_IN_PROGRESS, 504 TRANSFER_TIMEOUT.
   */
  async #transfer(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method !== 'POST') {
      req.resume();
      throw methodNotAllowed(res, method, '/v1/leader/transfer', ['POST']);
    }
    const request = this.#jsonBody(await this.#body(req), '{"to": "<node id>"}');
    if (typeof request.to !== 'string' || request.to === '')
      throw clusterError('HTTP_BODY_INVALID', 'the body needs "to": the id of the voter to hand leadership to');
    if (request.timeoutMs !== undefined && typeof request.timeoutMs !== 'number')
      throw clusterError('HTTP_BODY_INVALID', '"timeoutMs" must be a number of milliseconds');
    const tookMs = await this.#replica.transferLeadership(
      request.to as NodeId,
      request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs },
    );
    return this.#json(res, 200, { leader: request.to, tookMs: Math.round(tookMs) });
  }
  // #endregion leader-transfer

  // #region members
  /**
   * The members (membership, chapter 5), on any node:
   * - `GET /v1/members`: the configuration in force, with each member's
   *   role, addresses and, from the leader, its lag;
   * - `POST /v1/members` with `{"id": "n4", "peerAddress": "host:port"}`
   *   (optional `"learner": true`: stay a learner): the leader checks that a
   *   node answers the peer handshake there, adds it as a learner and, by
   *   default, promotes it once it is caught up;
   * - `POST /v1/members/<id>/promote`: a learner becomes a voter;
   * - `DELETE /v1/members/<id>`: a voter or learner leaves.
   * Changes go to the leader (421 NOT_LEADER elsewhere) and answer once
   * committed: `{"index": …, "members": …}`.
   */
  async #members(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const replica = this.#replica;
    const answer = (index?: number) => {
      const status = replica.status();
      return {
        ...(index === undefined ? {} : { index }),
        leader: status.leader,
        term: status.term,
        confIndex: status.confIndex,
        members: replica.memberList(),
      };
    };
    const rest = path
      .slice('/v1/members'.length)
      .split('/')
      .filter((p) => p !== '');
    const id = rest[0] === undefined ? undefined : decodeURIComponent(rest[0]);
    if (id === undefined) {
      if (method === 'GET') {
        req.resume();
        return this.#json(res, 200, answer());
      }
      if (method !== 'POST') {
        req.resume();
        throw methodNotAllowed(res, method, '/v1/members', ['GET', 'POST']);
      }
      const request = this.#jsonBody(await this.#body(req), '{"id": "<node id>", "peerAddress": "host:port"}');
      const { id: newId, peerAddress, learner } = request;
      if (typeof newId !== 'string' || newId === '' || typeof peerAddress !== 'string' || peerAddress === '')
        throw clusterError(
          'HTTP_BODY_INVALID',
          'the body needs "id" (the new node) and "peerAddress" (host:port of its peer port)',
        );
      if (learner !== undefined && typeof learner !== 'boolean')
        throw clusterError('HTTP_BODY_INVALID', '"learner" must be true or false');
      const index = await replica.addMember(newId, peerAddress, { autoPromote: learner !== true });
      return this.#json(res, 200, answer(index));
    }
    if (rest.length === 2 && rest[1] === 'promote') {
      req.resume();
      if (method !== 'POST') throw methodNotAllowed(res, method, '/v1/members/:id/promote', ['POST']);
      const index = await replica.proposeConfChange({ type: 'promote', node: id as NodeId });
      return this.#json(res, 200, answer(index));
    }
    req.resume();
    if (rest.length !== 1) throw clusterError('HTTP_NOT_FOUND', `no route for ${method} ${path}`);
    if (method !== 'DELETE') throw methodNotAllowed(res, method, '/v1/members/:id', ['DELETE']);
    const index = await replica.proposeConfChange({ type: 'remove', node: id as NodeId });
    return this.#json(res, 200, answer(index));
  }
  // #endregion members

  // #region snapshot
  /**
   * `GET /v1/snapshot`: an online backup of this node (ReplicationNode.backup),
   * the bytes of a snapshot file, with the index and term it covers in
   * headers. `distkv snapshot save` writes it to a file.
   */
  async #snapshot(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (method !== 'GET') throw methodNotAllowed(res, method, '/v1/snapshot', ['GET']);
    const { bytes, meta } = await this.#replica.backup();
    if (res.headersSent) return;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': bytes.byteLength,
      'x-distkv-index': String(meta.index),
      'x-distkv-term': String(meta.term),
    });
    res.end(bytes);
  }
  // #endregion snapshot

  #jsonBody(body: Buffer, shape: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw clusterError('HTTP_BODY_INVALID', `the body is not JSON; send ${shape}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw clusterError('HTTP_BODY_INVALID', `the body must be a JSON object: ${shape}`);
    return value as Record<string, unknown>;
  }

  /** Reads a request body, refusing (before buffering it) one longer than httpBodyBytesMax. */
  #body(req: IncomingMessage): Promise<Buffer> {
    const max = this.limits.httpBodyBytesMax;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      req.resume();
      return Promise.reject(clusterError('HTTP_BODY_TOO_LARGE', `the body has ${declared} bytes; httpBodyBytesMax is ${max}`));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) {
          req.removeAllListeners('data');
          req.resume();
          reject(clusterError('HTTP_BODY_TOO_LARGE', `the body has more than ${max} bytes (httpBodyBytesMax)`));
          return;
        }
        chunks.push(chunk);
      });
      req.once('end', () => resolve(Buffer.concat(chunks, size)));
      req.once('error', reject);
    });
  }
}
