/**
 * Who may join the peer port. Two mechanisms, usable together:
 *
 * - mutual TLS (`tls`): both ends present a certificate signed by the
 *   cluster's CA (`ca`), so the link is encrypted and both ends are known;
 * - a shared cluster secret (`clusterSecret`): an HMAC challenge-response
 *   run on every new connection, in both directions, with fresh nonces and
 *   the cluster id bound in, so a node with the wrong secret or of another
 *   cluster is refused, and the log of both ends says why.
 *
 * The secret never crosses the wire, and a recorded handshake cannot be
 * replayed (the other side's nonce differs each time). What it does not
 * give without TLS: secrecy of the traffic, and protection from an
 * attacker on the path who takes over a connection after its handshake.
 * See docs/security.md.
 */
import { createHmac, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket, connect as tlsConnect } from 'node:tls';
import { FramedConnection, type FramedConnectionOptions, type TlsMaterial } from '@distkv/net';
import { replicationError } from '../errors.js';

export interface PeerSecurity {
  /** This node's certificate and key, and the CA every peer's certificate must chain to (required). */
  tls?: TlsMaterial | undefined;
  /** Shared by every node of the cluster; at least 16 bytes. */
  clusterSecret?: string | undefined;
  /** Names the cluster; nodes with different ids refuse each other. Default `distkv`. */
  clusterId?: string | undefined;
}

export interface ResolvedPeerSecurity {
  readonly tls: (TlsMaterial & { ca: Buffer; caCert: X509Certificate; context: SecureContext }) | undefined;
  readonly secret: Buffer | undefined;
  readonly clusterId: string;
  /** A handshake runs on every connection (a secret or TLS is configured). */
  readonly handshake: boolean;
}

export const CLUSTER_SECRET_BYTES_MIN = 16;

export function resolvePeerSecurity(security: PeerSecurity = {}): ResolvedPeerSecurity {
  const clusterId = security.clusterId ?? 'distkv';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(clusterId)) {
    throw replicationError('CONFIG_INVALID', `cluster id "${clusterId}": 1 to 64 of A-Z a-z 0-9 _ . -`);
  }
  const secret = security.clusterSecret;
  if (secret !== undefined && Buffer.byteLength(secret) < CLUSTER_SECRET_BYTES_MIN) {
    throw replicationError(
      'CONFIG_INVALID',
      `the cluster secret has ${Buffer.byteLength(secret)} bytes; use at least ${CLUSTER_SECRET_BYTES_MIN} (e.g. openssl rand -hex 32)`,
    );
  }
  let tls: ResolvedPeerSecurity['tls'];
  if (security.tls !== undefined) {
    const { cert, key, ca } = security.tls;
    if (ca === undefined) {
      throw replicationError('CONFIG_INVALID', 'TLS on the peer port is mutual: give the CA that signs every node (--tls-ca)');
    }
    let context: SecureContext;
    let caCert: X509Certificate;
    try {
      context = createSecureContext({ cert, key, ca });
      caCert = new X509Certificate(ca);
    } catch (err) {
      throw replicationError('CONFIG_INVALID', `peer TLS: ${(err as Error).message}`);
    }
    tls = { cert, key, ca, caCert, context };
  }
  return {
    tls,
    secret: secret === undefined ? undefined : Buffer.from(secret, 'utf8'),
    clusterId,
    handshake: tls !== undefined || secret !== undefined,
  };
}

// Handshake frames are control frames (first byte >= 0xf0) the driver never uses.
export const FRAME_AUTH_HELLO = 0xfa; // connector → acceptor: cluster id, nonce
export const FRAME_AUTH_CHALLENGE = 0xfb; // acceptor → connector: cluster id, nonce, proof
export const FRAME_AUTH_PROOF = 0xfc; // connector → acceptor: proof
export const FRAME_AUTH_OK = 0xfd; // acceptor → connector: accepted
export const FRAME_AUTH_FAIL = 0xfe; // either way: refused, and why
/** Handshake frames are small; a longer one is refused before it is parsed. */
export const AUTH_FRAME_BYTES_MAX = 1024;
const NONCE_BYTES = 32;
const VERSION = 1;

function frame(type: number, body: Record<string, unknown>): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(body), 'utf8')]);
}

function parse(data: Buffer): { type: number; body: Record<string, unknown> } | undefined {
  if (data.length < 1 || data.length > AUTH_FRAME_BYTES_MAX) return undefined;
  try {
    const body: unknown = JSON.parse(data.toString('utf8', 1));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    return { type: data[0] as number, body: body as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

function hex(value: unknown, bytes: number): Buffer | undefined {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !/^[0-9a-f]+$/.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}

// #region proof
/** HMAC-SHA256 under the secret of: version, role, cluster id, and both nonces in the order the role says. */
function proof(secret: Buffer, role: 'acceptor' | 'connector', clusterId: string, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', secret)
    .update(`distkv-peer-v${VERSION}\0${role}\0${clusterId}\0`)
    .update(first)
    .update(second)
    .digest();
}
// #endregion proof

function proofMatches(expected: Buffer, given: unknown): boolean {
  const bytes = hex(given, 32);
  return bytes !== undefined && timingSafeEqual(expected, bytes);
}

export type HandshakeStep =
  | { readonly state: 'pending'; readonly reply?: Buffer }
  | { readonly state: 'done'; readonly reply?: Buffer }
  | { readonly state: 'failed'; readonly reason: string; readonly reply?: Buffer };

const refuse = (reason: string, tell = reason): HandshakeStep => ({
  state: 'failed',
  reason,
  reply: frame(FRAME_AUTH_FAIL, { reason: tell }),
});

function remoteFailure(data: Buffer): string | undefined {
  const f = parse(data);
  if (f === undefined || f.type !== FRAME_AUTH_FAIL) return undefined;
  return typeof f.body.reason === 'string' ? f.body.reason.slice(0, 300) : 'no reason given';
}

// #region handshake
/** The side that opened the connection: hello, then answer the challenge, then wait for OK. */
export class ConnectorHandshake {
  readonly #security: ResolvedPeerSecurity;
  readonly #nonce = randomBytes(NONCE_BYTES);
  #state: 'challenge' | 'ok' | 'done' = 'challenge';

  constructor(security: ResolvedPeerSecurity) {
    this.#security = security;
  }

  hello(): Buffer {
    return frame(FRAME_AUTH_HELLO, { v: VERSION, cluster: this.#security.clusterId, nonce: this.#nonce.toString('hex') });
  }

  onFrame(data: Buffer): HandshakeStep {
    const refusedBy = remoteFailure(data);
    if (refusedBy !== undefined) return { state: 'failed', reason: `refused by the peer: ${refusedBy}` };
    const f = parse(data);
    const s = this.#security;
    if (this.#state === 'challenge' && f?.type === FRAME_AUTH_CHALLENGE) {
      if (f.body.cluster !== s.clusterId) {
        return refuse(`the peer belongs to cluster "${String(f.body.cluster).slice(0, 64)}", this node to "${s.clusterId}"`);
      }
      const theirs = hex(f.body.nonce, NONCE_BYTES);
      if (theirs === undefined) return refuse('the peer sent a malformed challenge');
      let mac = '';
      if (s.secret !== undefined) {
        if (!proofMatches(proof(s.secret, 'acceptor', s.clusterId, this.#nonce, theirs), f.body.proof)) {
          return refuse(
            'the peer does not know our cluster secret (wrong --cluster-secret?)',
            'your proof does not match this node’s cluster secret (wrong --cluster-secret?)',
          );
        }
        mac = proof(s.secret, 'connector', s.clusterId, theirs, this.#nonce).toString('hex');
      }
      this.#state = 'ok';
      return { state: 'pending', reply: frame(FRAME_AUTH_PROOF, { proof: mac }) };
    }
    if (this.#state === 'ok' && f?.type === FRAME_AUTH_OK) {
      this.#state = 'done';
      return { state: 'done' };
    }
    return refuse('the peer does not speak the distkv peer handshake (is --cluster-secret or TLS set on both?)');
  }
}

/** The side that accepted the connection: expect a hello, challenge it, check its proof. */
export class AcceptorHandshake {
  readonly #security: ResolvedPeerSecurity;
  readonly #nonce = randomBytes(NONCE_BYTES);
  #theirs: Buffer | undefined;

  constructor(security: ResolvedPeerSecurity) {
    this.#security = security;
  }

  onFrame(data: Buffer): HandshakeStep {
    const refusedBy = remoteFailure(data);
    if (refusedBy !== undefined) return { state: 'failed', reason: `refused by the peer: ${refusedBy}` };
    const f = parse(data);
    const s = this.#security;
    if (this.#theirs === undefined) {
      if (f?.type !== FRAME_AUTH_HELLO) {
        return refuse('the peer did not start the handshake (is --cluster-secret or TLS set on it?)');
      }
      if (f.body.v !== VERSION)
        return refuse(`the peer speaks handshake version ${String(f.body.v).slice(0, 16)}, not ${VERSION}`);
      if (f.body.cluster !== s.clusterId) {
        return refuse(`the peer belongs to cluster "${String(f.body.cluster).slice(0, 64)}", this node to "${s.clusterId}"`);
      }
      const theirs = hex(f.body.nonce, NONCE_BYTES);
      if (theirs === undefined) return refuse('the peer sent a malformed hello');
      this.#theirs = theirs;
      const mac = s.secret === undefined ? '' : proof(s.secret, 'acceptor', s.clusterId, theirs, this.#nonce).toString('hex');
      return {
        state: 'pending',
        reply: frame(FRAME_AUTH_CHALLENGE, { cluster: s.clusterId, nonce: this.#nonce.toString('hex'), proof: mac }),
      };
    }
    if (f?.type !== FRAME_AUTH_PROOF) return refuse('the peer did not answer the challenge');
    if (
      s.secret !== undefined &&
      !proofMatches(proof(s.secret, 'connector', s.clusterId, this.#nonce, this.#theirs), f.body.proof)
    ) {
      return refuse(
        'the peer does not know our cluster secret (wrong --cluster-secret?)',
        'your proof does not match this node’s cluster secret (wrong --cluster-secret?)',
      );
    }
    return { state: 'done', reply: frame(FRAME_AUTH_OK, {}) };
  }
}
// #endregion handshake

/**
 * Logs each distinct refusal once per peer and then at most every
 * `everyMs`, so a misconfigured node retrying every 250 ms does not flood
 * the log, yet the reason stays visible.
 */
export class RefusalLog {
  readonly #last = new Map<string, { reason: string; atMs: number; repeats: number }>();
  readonly #log: (line: string) => void;
  readonly #everyMs: number;

  constructor(log: (line: string) => void, everyMs = 30_000) {
    this.#log = log;
    this.#everyMs = everyMs;
  }

  refused(who: string, reason: string): void {
    const now = Date.now();
    const last = this.#last.get(who);
    if (last !== undefined && last.reason === reason && now - last.atMs < this.#everyMs) {
      last.repeats++;
      return;
    }
    const again = last !== undefined && last.reason === reason && last.repeats > 0 ? ` (${last.repeats} more since)` : '';
    if (this.#last.size >= 1024 && last === undefined) this.#last.clear(); // bounded: forget, log again
    this.#last.set(who, { reason, atMs: now, repeats: 0 });
    this.#log(`peer auth: ${who} refused: ${reason}${again}`);
  }
}

export interface PeerGateLimits {
  /** A new peer connection must finish TLS and the handshake within this. */
  handshakeTimeoutMs: number;
  /** Most authenticated inbound peer connections; one more is closed (a cluster needs one per peer). */
  inboundConnectionsMax: number;
  /** Most inbound connections still in their handshake; a new one evicts the oldest (floods cannot lock peers out). */
  handshakesPendingMax: number;
  /** A frame begun on an inbound connection must complete within this (slow-loris on the peer port). */
  frameTimeoutMs: number;
}

/** Follows frame boundaries (4-byte length, then the body) to tell whether a frame is half-received. */
export class FrameBoundary {
  #headerLeft = 4;
  #header = 0;
  #bodyLeft = 0;

  /** Feeds a chunk; true when it ends inside a frame. */
  push(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= take;
        i += take;
        if (this.#bodyLeft === 0) this.#headerLeft = 4;
        continue;
      }
      this.#header = (this.#header * 256 + (chunk[i] as number)) % 2 ** 32;
      this.#headerLeft--;
      i++;
      if (this.#headerLeft === 0) {
        this.#bodyLeft = this.#header;
        this.#header = 0;
        this.#headerLeft = this.#bodyLeft === 0 ? 4 : 0;
      }
    }
    return this.#headerLeft !== 4 || this.#bodyLeft > 0;
  }
}

/**
 * A TLSSocket made by hand (not by tls.Server) does not set `authorized`,
 * so the client certificate is checked here: present, signed by the
 * cluster's CA, and within its validity dates.
 */
function clientCertificateProblem(socket: TLSSocket, ca: X509Certificate): string | undefined {
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined) return 'none presented';
  if (peer.checkIssued(ca) === false || !peer.verify(ca.publicKey))
    return `"${peer.subject.replace(/\n/g, ', ')}" is not signed by our CA`;
  const now = Date.now();
  if (now < Date.parse(peer.validFrom) || now > Date.parse(peer.validTo)) return 'outside its validity dates';
  return undefined;
}

// #region inbound-gate
/**
 * Every inbound peer connection passes here before its frames reach the
 * driver: TLS (client certificate required), then the handshake, within
 * handshakeTimeoutMs; at most handshakesPendingMax of them at once (the
 * oldest is evicted), at most inboundConnectionsMax once admitted, and no
 * frame may stay half-received for frameTimeoutMs.
 */
export class InboundGate {
  readonly #security: ResolvedPeerSecurity;
  readonly #limits: PeerGateLimits;
  readonly #refusals: RefusalLog;
  readonly #pending = new Set<Socket>();
  readonly #admitted = new Set<Socket>();

  constructor(security: ResolvedPeerSecurity, limits: PeerGateLimits, refusals: RefusalLog) {
    this.#security = security;
    this.#limits = limits;
    this.#refusals = refusals;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get admittedCount(): number {
    return this.#admitted.size;
  }

  /** Takes a raw accepted socket; `onFrame` sees the frames that follow a successful handshake. */
  admit(raw: Socket, frameBytesMax: number, onFrame: (frame: Buffer) => void): void {
    const who = `inbound peer ${raw.remoteAddress ?? '?'}`;
    raw.on('error', () => undefined);
    if (this.#pending.size >= this.#limits.handshakesPendingMax) {
      const oldest = this.#pending.values().next().value as Socket;
      this.#pending.delete(oldest);
      oldest.destroy();
    }
    this.#pending.add(raw);
    const timer = setTimeout(() => {
      this.#refusals.refused(who, `no completed handshake within ${this.#limits.handshakeTimeoutMs} ms (handshakeTimeoutMs)`);
      raw.destroy();
    }, this.#limits.handshakeTimeoutMs);
    timer.unref();
    raw.once('close', () => {
      clearTimeout(timer);
      this.#pending.delete(raw);
      this.#admitted.delete(raw);
    });
    const established = (): boolean => {
      clearTimeout(timer);
      this.#pending.delete(raw);
      if (this.#admitted.size >= this.#limits.inboundConnectionsMax) {
        this.#refusals.refused(who, `already ${this.#admitted.size} peer connections (inboundConnectionsMax)`);
        raw.destroy();
        return false;
      }
      this.#admitted.add(raw);
      return true;
    };
    const run = (socket: Socket): void => {
      const handshake = this.#security.handshake ? new AcceptorHandshake(this.#security) : undefined;
      let open = false;
      const framed = new FramedConnection(socket, {
        frameBytesMax,
        onFrame: (data) => {
          if (open) {
            onFrame(data);
            return;
          }
          if (handshake === undefined) {
            // No authentication configured: the first frame admits the connection, so silent ones stay pending
            // (evicted by newer ones, closed after handshakeTimeoutMs) and cannot use up inboundConnectionsMax.
            open = established();
            if (open) onFrame(data);
            return;
          }
          const step = (handshake as AcceptorHandshake).onFrame(data);
          if (step.reply !== undefined) framed.send(step.reply);
          if (step.state === 'failed') {
            this.#refusals.refused(who, step.reason);
            socket.end();
            socket.destroySoon();
          } else if (step.state === 'done') {
            open = established();
          }
        },
      });
      this.#watchFrames(socket, raw);
    };
    const tls = this.#security.tls;
    if (tls === undefined) {
      run(raw);
      return;
    }
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: tls.context,
      requestCert: true,
      rejectUnauthorized: true,
    });
    secure.on('error', (err) => {
      this.#refusals.refused(who, `TLS: ${err.message}`);
      raw.destroy();
    });
    secure.once('secure', () => {
      const problem = clientCertificateProblem(secure, tls.caCert);
      if (problem !== undefined) {
        this.#refusals.refused(who, `TLS: client certificate not accepted (${problem})`);
        raw.destroy();
        return;
      }
      run(secure);
    });
  }

  #watchFrames(socket: Socket, raw: Socket): void {
    const boundary = new FrameBoundary();
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      const partial = boundary.push(chunk);
      if (!partial && timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      } else if (partial && timer === undefined) {
        timer = setTimeout(() => {
          this.#refusals.refused(
            `inbound peer ${raw.remoteAddress ?? '?'}`,
            `a frame incomplete for ${this.#limits.frameTimeoutMs} ms (frameTimeoutMs)`,
          );
          raw.destroy();
        }, this.#limits.frameTimeoutMs);
        timer.unref();
      }
    });
    socket.once('close', () => clearTimeout(timer));
  }
}
// #endregion inbound-gate

/**
 * Opens an outgoing peer connection: TLS with our certificate when
 * configured, then the handshake; resolves once the peer accepted us.
 * Without TLS or a secret it is FramedConnection.connect as before.
 */
export function connectPeer(
  security: ResolvedPeerSecurity,
  address: { host: string; port: number },
  options: FramedConnectionOptions,
  handshakeTimeoutMs: number,
  refusals: RefusalLog,
): Promise<FramedConnection> {
  if (!security.handshake) return FramedConnection.connect(address.host, address.port, options);
  const who = `peer ${address.host}:${address.port}`;
  return new Promise((resolve, reject) => {
    const tls = security.tls;
    const socket =
      tls === undefined
        ? netConnect({ host: address.host, port: address.port })
        : tlsConnect({ host: address.host, port: address.port, secureContext: tls.context, rejectUnauthorized: true });
    let settled = false;
    const fail = (reason: string, log: boolean): void => {
      if (log) refusals.refused(who, reason);
      socket.destroy();
      if (!settled) {
        settled = true;
        reject(replicationError('CONFIG_INVALID', `${who}: ${reason}`));
      }
    };
    const timer = setTimeout(() => fail(`no completed handshake within ${handshakeTimeoutMs} ms`, true), handshakeTimeoutMs);
    timer.unref();
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // Refused, reset, unreachable: the peer is down, which is routine. Anything else on a TLS link is TLS saying no.
      const tlsProblem =
        tls !== undefined &&
        !/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(err.code ?? '');
      fail(tlsProblem ? `TLS: ${err.message}` : (err.code ?? err.message), tlsProblem);
    });
    socket.once('close', () => fail('closed during the handshake', false));
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      const handshake = new ConnectorHandshake(security);
      let open = false;
      const framed = new FramedConnection(socket, {
        ...options,
        onFrame: (data) => {
          if (open) {
            options.onFrame(data);
            return;
          }
          const step = handshake.onFrame(data);
          if (step.reply !== undefined) framed.send(step.reply);
          if (step.state === 'failed') {
            socket.end();
            fail(step.reason, true);
          } else if (step.state === 'done') {
            open = true;
            clearTimeout(timer);
            settled = true;
            resolve(framed);
          }
        },
      });
      framed.send(handshake.hello());
    });
  });
}
