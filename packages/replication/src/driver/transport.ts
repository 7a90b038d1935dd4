/**
 * Peer links over TCP with @distkv/net's FramedConnection: one listening
 * socket for what peers send us, one outgoing connection per peer for what
 * we send them. Raft tolerates loss, so the transport never blocks the
 * node: a peer's queue is bounded (peerQueueMessagesMax) and sheds its
 * oldest message when full, a failed connection attempt empties it, and a
 * lost connection is retried with exponential backoff
 * (reconnectDelayMsMin..reconnectDelayMsMax).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { assert, type LogLine } from '@distkv/core';
import type { FramedConnection } from '@distkv/net';
import { type DecodeLimits, decodeMessage, encodeMessage } from '../codec.js';
import { replicationError } from '../errors.js';
import type { Message, NodeId } from '../types.js';
import { decodeControl } from './control-frames.js';
import { connectPeer, InboundGate, RefusalLog } from './peer-auth.js';
import { type PeerSecurity, type ResolvedPeerSecurity, resolvePeerSecurity } from './peer-security.js';

/** Control frames (hello, forwarded writes) start with a byte at least this; messages start with their format version. */
export const CONTROL_FRAME_MIN = 0xf0;

export function isControlFrame(frame: Uint8Array): boolean {
  return frame.byteLength > 0 && (frame[0] as number) >= CONTROL_FRAME_MIN;
}

export interface PeerAddress {
  host: string;
  port: number;
}

export interface TransportLimits {
  peerQueueMessagesMax: number;
  reconnectDelayMsMin: number;
  reconnectDelayMsMax: number;
  frameBytesMax: number;
  /** A new peer connection must finish TLS and the handshake within this (see peer-auth.ts). */
  handshakeTimeoutMs: number;
  /** Most authenticated inbound peer connections. */
  inboundConnectionsMax: number;
  /** Most inbound connections in their handshake at once; a new one evicts the oldest. */
  handshakesPendingMax: number;
  /** A frame begun on an inbound connection must complete within this (slow-loris). */
  frameTimeoutMs: number;
}

export const defaultTransportLimits: Readonly<TransportLimits> = Object.freeze({
  peerQueueMessagesMax: 1024,
  reconnectDelayMsMin: 20,
  reconnectDelayMsMax: 2000,
  frameBytesMax: 64 * 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  inboundConnectionsMax: 64,
  handshakesPendingMax: 16,
  frameTimeoutMs: 30_000,
});

class PeerLink {
  queue: Buffer[] = [];
  connection: FramedConnection | undefined;
  connecting = false;
  /** The socket buffer is full: queue until it drains. */
  blocked = false;
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
  dropped = 0;
  /** The peer's id, so the hello frame can name it. */
  id = '';
  /** setPeers dropped it: a connection that opens late is closed, and nothing is retried. */
  retired = false;
  constructor(
    readonly address: PeerAddress,
    readonly limits: TransportLimits,
  ) {
    this.delayMs = limits.reconnectDelayMsMin;
  }
}

export class TcpTransport {
  readonly limits: Readonly<TransportLimits>;
  readonly #server: Server;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #inbound = new Set<Socket>();
  #onMessage: (m: Message) => void = () => undefined;
  readonly #log: LogLine;
  #onControl: (frame: Buffer) => void = () => undefined;
  #refusePeer: (id: NodeId) => Buffer | undefined = () => undefined;
  #onDialReply: (frame: Buffer, to: NodeId) => void = () => undefined;
  #hello: Buffer | undefined;
  #decodeLimits: DecodeLimits;
  #closed = false;
  readonly #security: ResolvedPeerSecurity;
  readonly #refusals: RefusalLog;
  readonly #gate: InboundGate;

  private constructor(
    server: Server,
    limits: TransportLimits,
    decodeLimits: DecodeLimits,
    security: ResolvedPeerSecurity,
    log: LogLine,
  ) {
    this.#security = security;
    this.#log = log;
    this.#refusals = new RefusalLog(log);
    this.#gate = new InboundGate(security, limits, this.#refusals);
    this.#server = server;
    this.limits = limits;
    this.#decodeLimits = decodeLimits;
  }

  /** Listens on `listen` (port 0 picks one; see `address`). Peers are added later with `setPeers`. */
  static async listen(
    listen: PeerAddress,
    decodeLimits: DecodeLimits,
    limits: Partial<TransportLimits> = {},
    security: PeerSecurity = {},
    log: LogLine = () => undefined,
  ): Promise<TcpTransport> {
    const resolved = { ...defaultTransportLimits, ...limits };
    for (const [k, v] of Object.entries(resolved)) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw replicationError('CONFIG_INVALID', `${k} must be a positive integer, got ${v}`);
    }
    const server = createServer();
    const t = new TcpTransport(server, resolved, decodeLimits, resolvePeerSecurity(security), log);
    server.on('connection', (socket) => t.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return t;
  }

  get address(): PeerAddress {
    const a = this.#server.address();
    if (a === null || typeof a === 'string') throw new Error('the transport is not listening on TCP');
    return { host: a.address, port: a.port };
  }

  onMessage(handler: (m: Message) => void): void {
    this.#onMessage = handler;
  }

  /**
   * Control frames share the peer connections with Raft messages: their
   * first byte is CONTROL_FRAME_MIN or more, where a message's first byte
   * is its format version (a small number). The driver uses them for the
   * hello handshake and for forwarded writes.
   */
  onControl(handler: (frame: Buffer) => void): void {
    this.#onControl = handler;
  }

  // #region refuse-removed
  /**
   * Asked for each frame that arrives, with the sender it names (so it must
   * be cheap): a control frame to answer a sender that must not be heard
   * (a node removed from the cluster) before the connection is closed, or
   * undefined to go on. A connection opened before the sender was removed
   * is refused at its next frame. The dialer reads the answer with
   * `onDialReply`.
   */
  setRefusePeer(refuse: (id: NodeId) => Buffer | undefined): void {
    this.#refusePeer = refuse;
  }

  /** Control frames that come back on a connection this node dialed (`setRefusePeer`'s answers), with the peer dialed. */
  onDialReply(handler: (frame: Buffer, to: NodeId) => void): void {
    this.#onDialReply = handler;
  }
  // #endregion refuse-removed

  /** The first frame sent on every new outgoing connection (the driver's hello: id and client address). */
  setHello(frame: Buffer): void {
    assert(isControlFrame(frame), 'a hello is a control frame');
    this.#hello = frame;
  }

  /** Queues a control frame to a peer, shed like a message when its queue is full; false: no such peer. */
  sendControl(to: NodeId, frame: Buffer): boolean {
    assert(isControlFrame(frame), 'a control frame starts with a byte >= CONTROL_FRAME_MIN');
    const link = this.#links.get(to);
    if (link === undefined || this.#closed) return false;
    this.#sendBytes(link, frame);
    return true;
  }

  /**
   * Dials `address` as a peer link would, TLS and the handshake included,
   * then hangs up: a node answers there and, with a cluster secret or TLS,
   * proves it is one of this cluster's. Rejects with the reason otherwise.
   */
  async probe(address: PeerAddress): Promise<void> {
    const options = { frameBytesMax: this.limits.frameBytesMax, onFrame: () => undefined, onClose: () => undefined };
    const c = await connectPeer(this.#security, address, options, this.limits.handshakeTimeoutMs, this.#refusals);
    c.destroy();
  }

  /**
   * The peers to link to, all of them: a peer no longer named (it left the
   * members) loses its link and what was queued for it; one whose address
   * changed is dialed at the new one.
   */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, link] of this.#links) {
      const address = peers.get(id);
      if (address !== undefined && address.host === link.address.host && address.port === link.address.port) continue;
      link.retired = true;
      if (link.timer !== undefined) clearTimeout(link.timer);
      link.connection?.destroy();
      this.#links.delete(id);
    }
    for (const [id, address] of peers) {
      if (this.#links.has(id)) continue;
      const link = new PeerLink(address, this.limits);
      link.id = id;
      this.#links.set(id, link);
    }
  }

  // #region peer-states
  /**
   * Read-only, for metrics and the dashboard: each peer's outgoing link.
   * `connected`: a connection is open; `connecting`: an attempt is under
   * way or waits for its backoff; otherwise `idle` (nothing to send yet).
   */
  peerStates(): Array<{
    id: NodeId;
    address: PeerAddress;
    state: 'connected' | 'connecting' | 'idle';
    queued: number;
    dropped: number;
  }> {
    return [...this.#links].map(([id, l]) => ({
      id,
      address: { ...l.address },
      state: l.connection !== undefined ? 'connected' : l.connecting || l.timer !== undefined ? 'connecting' : 'idle',
      queued: l.queue.length,
      dropped: l.dropped,
    }));
  }
  // #endregion peer-states

  /** Messages dropped so far because a peer's queue was full. */
  droppedCount(): number {
    let n = 0;
    for (const l of this.#links.values()) n += l.dropped;
    return n;
  }

  send(m: Message): void {
    const link = this.#links.get(m.to);
    if (link === undefined || this.#closed) return;
    this.#sendBytes(link, encodeMessage(m));
  }

  /** Sends a Ready's messages: queued per peer, then each peer's queue leaves in one corked write. */
  sendAll(messages: readonly Message[]): void {
    if (this.#closed) return;
    const touched = new Set<PeerLink>();
    for (const m of messages) {
      const link = this.#links.get(m.to);
      if (link === undefined) continue;
      link.queue.push(encodeMessage(m));
      if (link.queue.length > this.limits.peerQueueMessagesMax) {
        link.queue.shift();
        link.dropped++;
      }
      touched.add(link);
    }
    for (const link of touched) {
      if (link.connection !== undefined && !link.blocked) this.#flush(link);
      else this.#connect(link);
    }
  }

  #sendBytes(link: PeerLink, bytes: Buffer): void {
    const c = link.connection;
    if (c !== undefined && link.queue.length === 0 && !link.blocked) {
      try {
        // false: this one is buffered, but later ones wait in the queue until the socket drains.
        if (!c.send(bytes)) this.#waitForDrain(link, c);
        return;
      } catch {
        link.connection = undefined;
      }
    }
    link.queue.push(bytes);
    if (link.queue.length > this.limits.peerQueueMessagesMax) {
      link.queue.shift();
      link.dropped++;
    }
    this.#connect(link);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const l of this.#links.values()) {
      if (l.timer !== undefined) clearTimeout(l.timer);
      l.connection?.destroy();
    }
    for (const s of this.#inbound) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#inbound.add(socket);
    socket.once('close', () => this.#inbound.delete(socket));
    // TLS, the handshake and the peer-port limits first; then frames as before.
    const speaksFor = new SenderBinding(`inbound peer ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
    let refused = false;
    /** False once the sender is one the driver refuses: answered once, then closed; what else it sent is dropped. */
    const heard = (id: string, connection: FramedConnection): boolean => {
      if (refused) return false;
      const answer = this.#refusePeer(id as NodeId);
      if (answer === undefined) return true;
      refused = true;
      try {
        connection.send(answer);
      } catch {
        // closed meanwhile: it learns at its next connection
      }
      // Closed once the answer has left (through TLS too), or at once if it cannot.
      void connection.drained().then(() => {
        socket.end();
        socket.destroySoon();
      });
      return false;
    };
    this.#gate.admit(socket, this.limits.frameBytesMax, (frame, connection) => {
      if (isControlFrame(frame)) {
        const claim = controlSender(frame);
        if (claim !== undefined && !this.#claims(speaksFor, claim.id, claim.what, socket)) return;
        if (claim !== undefined && !heard(claim.id, connection)) return;
        this.#onControl(frame);
        return;
      }
      let m: Message;
      try {
        m = decodeMessage(frame, this.#decodeLimits);
      } catch (err) {
        // A peer that sends garbage, or impossible content, loses its connection, not our process.
        this.#log(
          `peer ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: refused a message and closed the connection: ${(err as Error).message}`,
        );
        socket.destroy();
        return;
      }
      if (!this.#claims(speaksFor, m.from, m.type, socket)) return;
      if (!heard(m.from, connection)) return;
      this.#onMessage(m);
    });
  }

  /** False, with the connection closed and the refusal logged, when a frame claims a sender the connection is not. */
  #claims(binding: SenderBinding, id: string, what: string, socket: Socket): boolean {
    const refusal = binding.claim(id, what);
    if (refusal === undefined) return true;
    this.#refusals.refused(binding.who, refusal);
    socket.destroy();
    return false;
  }

  #connect(link: PeerLink): void {
    if (link.connection !== undefined || link.connecting || link.timer !== undefined || this.#closed) return;
    link.connecting = true;
    const options = {
      frameBytesMax: this.limits.frameBytesMax,
      // Replies come on the peer's own connection to us; on this one only a refusal (setRefusePeer).
      onFrame: (frame: Buffer) => {
        if (isControlFrame(frame)) this.#onDialReply(frame, link.id as NodeId);
      },
      onClose: () => {
        link.connection = undefined;
        link.blocked = false;
        if (link.queue.length > 0) this.#retry(link);
      },
    };
    connectPeer(this.#security, link.address, options, this.limits.handshakeTimeoutMs, this.#refusals).then(
      (c) => {
        link.connecting = false;
        if (this.#closed || link.retired) {
          c.destroy();
          return;
        }
        link.connection = c;
        link.delayMs = this.limits.reconnectDelayMsMin;
        if (this.#hello !== undefined) link.queue.unshift(this.#hello);
        this.#flush(link);
      },
      () => {
        link.connecting = false;
        // The peer is unreachable: what waited for it is stale by the time it
        // returns, and Raft resends what still matters. Keep nothing.
        link.dropped += link.queue.length;
        link.queue = [];
        this.#retry(link);
      },
    );
  }

  #retry(link: PeerLink): void {
    if (this.#closed || link.retired || link.timer !== undefined) return;
    link.timer = setTimeout(() => {
      link.timer = undefined;
      this.#connect(link);
    }, link.delayMs);
    link.timer.unref();
    link.delayMs = Math.min(link.delayMs * 2, this.limits.reconnectDelayMsMax);
  }

  #waitForDrain(link: PeerLink, c: FramedConnection): void {
    link.blocked = true;
    void c.drained().then(() => {
      link.blocked = false;
      this.#flush(link);
    });
  }

  #flush(link: PeerLink): void {
    const c = link.connection;
    if (c === undefined || link.queue.length === 0) return;
    const batch = link.queue;
    link.queue = [];
    try {
      // One cork for the whole queue: a Ready's messages to a peer leave in one system call.
      if (!c.sendMany(batch)) this.#waitForDrain(link, c);
    } catch {
      link.connection = undefined;
      this.#retry(link);
    }
  }
}

// #region sender-binding
/**
 * Which node an inbound connection speaks for: the first id it claims (the
 * hello the driver sends first on every connection, or else the `from` of
 * its first message). Every later frame must claim the same, or it is not
 * delivered and the connection is closed: a correct peer sends only its own
 * messages on its own connection (replies travel on the replier's), so a
 * second id is a forgery, say an admitted peer sending the leader's
 * heartbeat with a commit index the leader never had. What the claim rests
 * on is the handshake: with a cluster secret or mutual TLS only members get
 * this far, but a member can still claim any id on a connection of its own;
 * per-node identities (a certificate naming its node) are not checked yet.
 */
export class SenderBinding {
  #id: string | undefined;
  constructor(readonly who: string) {}

  get id(): string | undefined {
    return this.#id;
  }

  /** Undefined when the frame may pass; otherwise why it may not. */
  claim(id: string, what: string): string | undefined {
    if (this.#id === undefined) {
      this.#id = id;
      return undefined;
    }
    if (id === this.#id) return undefined;
    return `${what} claims to come from ${id}, but this connection speaks for ${this.#id}; closed`;
  }
}

/** The sender a control frame names (a hello's id, a forwarded write's or read's from), if it decodes. */
function controlSender(frame: Buffer): { id: string; what: string } | undefined {
  try {
    const f = decodeControl(frame);
    return f.type === 'hello' ? { id: f.id, what: 'hello' } : { id: f.from, what: `${f.type} frame` };
  } catch {
    return undefined; // malformed: the driver refuses it with the reason
  }
}
// #endregion sender-binding
