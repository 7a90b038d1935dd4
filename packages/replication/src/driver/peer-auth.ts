/**
 * Who may join the peer port, enforced on sockets: the inbound gate every
 * accepted peer connection passes before its frames reach the driver, and
 * `connectPeer` for outgoing ones. Each runs TLS when configured, then the
 * pure handshake of peer-handshake.ts, under deadlines and connection
 * limits, and logs each refusal with its reason (rate-limited by
 * RefusalLog). The settings themselves are peer-security.ts.
 * See docs/security.md.
 */
import type { X509Certificate } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import type { LogLine } from '@distkv/core';
import { FramedConnection, type FramedConnectionOptions } from '@distkv/net';
import { replicationError } from '../errors.js';
import { FrameBoundary } from './frame-boundary.js';
import { AcceptorHandshake, ConnectorHandshake } from './peer-handshake.js';
import type { ResolvedPeerSecurity } from './peer-security.js';

// Kept for importers of the settings type through this file (driver/node.ts).
export type { PeerSecurity } from './peer-security.js';

// #region refusal-log
/**
 * What the peer port says about its links, rate-limited per peer: each
 * distinct line once, then at most every `everyMs` with a count, so a node
 * retrying every 250 ms does not flood the log, yet the reason stays
 * visible. Two kinds, worded apart because they mean different things:
 *
 * - `refused`: the handshake said no (wrong secret, another cluster, a
 *   certificate our CA did not sign, a forged sender): a configuration
 *   error or an intruder, at warn level;
 * - `unreachable`: nothing was refused; the peer did not answer in time or
 *   closed the connection (it is down, booting, or cut off), at info level,
 *   and `reachable` says when it answers again and after how many failures.
 */
export class RefusalLog {
  readonly #last = new Map<string, { line: string; atMs: number; repeats: number; failures: number }>();
  readonly #log: LogLine;
  readonly #everyMs: number;

  constructor(log: LogLine, everyMs = 30_000) {
    this.#log = log;
    this.#everyMs = everyMs;
  }

  refused(who: string, reason: string): void {
    this.#say(who, `peer auth: ${who} refused: ${reason}`, 'warn');
  }

  unreachable(who: string, what: string): void {
    this.#say(who, `peer link: ${who}: ${what}`, 'info');
  }

  /** A link to `who` works again: say so if failures were logged for it. */
  reachable(who: string): void {
    const last = this.#last.get(who);
    if (last === undefined) return;
    this.#last.delete(who);
    this.#log(`peer link: ${who}: connected again after ${last.failures} failed attempt${last.failures === 1 ? '' : 's'}`);
  }

  #say(who: string, line: string, level: 'info' | 'warn'): void {
    const now = Date.now();
    const last = this.#last.get(who);
    if (last !== undefined && last.line === line && now - last.atMs < this.#everyMs) {
      last.repeats++;
      last.failures++;
      return;
    }
    const again =
      last !== undefined && last.line === line && last.repeats > 0
        ? ` (${last.repeats} more times in the last ${Math.round((now - last.atMs) / 1000)} s)`
        : '';
    if (this.#last.size >= 1024 && last === undefined) this.#last.clear(); // bounded: forget, log again
    this.#last.set(who, { line, atMs: now, repeats: 0, failures: (last?.failures ?? 0) + 1 });
    this.#log(`${line}${again}`, level);
  }
}
// #endregion refusal-log

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

  /**
   * Takes a raw accepted socket; `onFrame` sees the frames that follow a
   * successful handshake, with the connection (to answer on it, or close it).
   */
  admit(raw: Socket, frameBytesMax: number, onFrame: (frame: Buffer, connection: FramedConnection) => void): void {
    const who = `inbound peer ${raw.remoteAddress ?? '?'}`;
    raw.on('error', () => undefined);
    if (this.#pending.size >= this.#limits.handshakesPendingMax) {
      const oldest = this.#pending.values().next().value as Socket;
      this.#pending.delete(oldest);
      oldest.destroy();
    }
    this.#pending.add(raw);
    let heard = false; // a first frame arrived
    const timer = setTimeout(() => {
      const ms = this.#limits.handshakeTimeoutMs;
      this.#refusals.unreachable(
        who,
        heard
          ? `began the handshake but did not finish it within ${ms} ms (handshakeTimeoutMs); closed (a lossy link, or an overloaded peer?)`
          : `connected but sent no hello within ${ms} ms (handshakeTimeoutMs); closed (a peer cut off or still starting, or not a distkv node?)`,
      );
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
            onFrame(data, framed);
            return;
          }
          heard = true;
          if (handshake === undefined) {
            // No authentication configured: the first frame admits the connection, so silent ones stay pending
            // (evicted by newer ones, closed after handshakeTimeoutMs) and cannot use up inboundConnectionsMax.
            open = established();
            if (open) onFrame(data, framed);
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
    let connected = false;
    const fail = (reason: string, log: 'refused' | 'unreachable' | false): void => {
      if (log === 'refused') refusals.refused(who, reason);
      else if (log === 'unreachable') refusals.unreachable(who, reason);
      socket.destroy();
      if (!settled) {
        settled = true;
        reject(replicationError('CONFIG_INVALID', `${who}: ${reason}`));
      }
    };
    const timer = setTimeout(
      () =>
        fail(
          connected
            ? `connected, but the handshake did not finish within ${handshakeTimeoutMs} ms (handshakeTimeoutMs): a lossy link, or an overloaded peer?`
            : `no connection within ${handshakeTimeoutMs} ms (handshakeTimeoutMs): the peer is down, starting, or cut off`,
          'unreachable',
        ),
      handshakeTimeoutMs,
    );
    timer.unref();
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // Refused, reset, unreachable: the peer is down, which is routine. Anything else on a TLS link is TLS saying no.
      const tlsProblem =
        tls !== undefined &&
        !/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(err.code ?? '');
      fail(tlsProblem ? `TLS: ${err.message}` : (err.code ?? err.message), tlsProblem ? 'refused' : false);
    });
    socket.once('close', () => fail('closed during the handshake', false));
    socket.once('connect', () => {
      connected = true;
    });
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
            fail(step.reason, 'refused');
          } else if (step.state === 'done') {
            open = true;
            clearTimeout(timer);
            settled = true;
            refusals.reachable(who);
            resolve(framed);
          }
        },
      });
      framed.send(handshake.hello());
    });
  });
}
