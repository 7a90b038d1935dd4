/**
 * A fault-injecting TCP proxy for one directed peer link. The chaos harness
 * points node A at a proxy that forwards to node B, and then partitions,
 * delays or cuts that link at will, the way Jepsen drives iptables.
 *
 * Two ways to partition, because TCP makes them differ:
 * - `stall`: stop forwarding in both directions but keep the connections;
 *   bytes wait in socket buffers and flow again on heal (a network that
 *   drops packets while TCP keeps retransmitting).
 * - `reset`: destroy every connection and refuse new ones until heal (a
 *   partition long enough for TCP to give up).
 *
 * And `loss`, a lossy link. TCP never hands the application a stream with
 * a hole in it, so a lost packet shows up as time: the segment is resent
 * after the retransmission timeout (at least 200 ms on Linux, doubled when
 * the resend is lost too), and everything behind it waits (head-of-line
 * blocking); a lost SYN is resent after 1 s; and a link lossy enough for
 * long enough ends in a reset. The proxy draws each of those from a seeded
 * generator, so one seed makes one sequence of decisions.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mulberry32, type TestRng } from '@distkv/core/testing';

export type ProxyFault =
  | { kind: 'none' }
  | { kind: 'stall' }
  | { kind: 'reset' }
  | { kind: 'delay'; delayMs: number }
  | LossFault;

// #region loss-fault
/**
 * Each chunk read from either side is "lost" with probability `rate`: it
 * and all that follows it on that direction wait 200–400 ms (one or two
 * retransmission timeouts). With probability `resetRate` a chunk instead
 * resets the connection (both sockets destroyed; the peers reconnect). A
 * new connection is "lost" with probability `rate`: it is held 1 s (the
 * SYN's resend) before it reaches the target.
 */
export interface LossFault {
  kind: 'loss';
  rate: number;
  resetRate: number;
  /** Seeds the link's decisions: the same seed, the same sequence of losses. */
  seed: number;
}

/** One retransmission timeout or two: Linux's minimum RTO is 200 ms, and it doubles on each loss. */
export const LOSS_DELAY_MS: readonly [number, number] = [200, 400];
/** Linux's initial SYN retransmission timeout. */
export const LOSS_SYN_DELAY_MS = 1_000;
// #endregion loss-fault

/** A server on 127.0.0.1 (port 0: any free port), once it listens. */
function listenLoopback(onConnection: (client: Socket) => void, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function boundPort(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
}

export class FaultProxy {
  readonly #target: { host: string; port: number };
  #server: Server | undefined;
  #pipes = new Set<Pipe>();
  /** Connections the loss fault holds back (a lost SYN), not yet piped to the target. */
  #held = new Set<Socket>();
  #fault: ProxyFault = { kind: 'none' };
  /** The loss fault's generator, seeded anew by each set({ kind: 'loss' }). */
  #lossRng: TestRng = mulberry32(0);
  /** Bytes forwarded, both directions: lets a test see that traffic flowed. */
  bytesForwarded = 0;
  /** Chunks and connections the loss fault delayed, and connections it reset (cumulative). */
  lossDelayed = 0;
  lossResets = 0;

  constructor(target: { host?: string; port: number }) {
    this.#target = { host: target.host ?? '127.0.0.1', port: target.port };
  }

  get fault(): ProxyFault {
    return this.#fault;
  }

  /** Starts listening on 127.0.0.1 (port 0: any free port); resolves to the port. */
  async listen(port = 0): Promise<number> {
    this.#server = await listenLoopback((client) => this.#accept(client), port);
    return boundPort(this.#server);
  }

  /**
   * Takes over a connection another listener accepted (the IngressProxy),
   * with the bytes it read already (`head`): from here on, as if this
   * proxy had accepted it.
   */
  adopt(client: Socket, head: Buffer): void {
    this.#accept(client, head);
  }

  #accept(client: Socket, head: Buffer = Buffer.alloc(0)): void {
    if (this.#fault.kind === 'reset') {
      client.destroy();
      return;
    }
    if (this.#fault.kind === 'loss' && this.#lossRng() < this.#fault.rate) {
      // A lost SYN: the dialer is connected (to us) but nothing reaches the target until the resend.
      this.lossDelayed++;
      this.#held.add(client);
      client.pause();
      client.on('error', () => client.destroy());
      setTimeout(() => {
        this.#held.delete(client);
        if (!client.destroyed) this.#connect(client, head);
      }, LOSS_SYN_DELAY_MS);
      return;
    }
    this.#connect(client, head);
  }

  #connect(client: Socket, head: Buffer): void {
    const upstream = createConnection(this.#target);
    const pipe: Pipe = { client, upstream };
    this.#pipes.add(pipe);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#pipes.delete(pipe);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    const toUpstream = this.#forward(client, upstream);
    this.#forward(upstream, client);
    if (head.length > 0) toUpstream(head); // the bytes read before this proxy took over go first, fault and all
    if (this.#fault.kind === 'stall') this.#pause(pipe);
    else client.resume(); // a connection the loss fault held was paused
  }

  /** Pipes `from` into `to` under the fault; returns the handler of one chunk (so a caller can feed one). */
  #forward(from: Socket, to: Socket): (chunk: Buffer) => void {
    // Each direction keeps its own queue, so a delay never reorders bytes.
    let tail = Promise.resolve();
    // A loss holds back the chunks behind it until the lost one arrives, then they all go: a chunk's time
    // is the later of its own and the one before it, not their sum (TCP buffers out-of-order segments).
    let lossDue = 0;
    const onChunk = (chunk: Buffer): void => {
      const fault = this.#fault;
      if (fault.kind === 'delay') {
        tail = tail.then(() => new Promise((resolve) => setTimeout(resolve, fault.delayMs)));
      } else if (fault.kind === 'loss') {
        const roll = this.#lossRng();
        if (roll < fault.resetRate) {
          this.lossResets++;
          from.destroy();
          to.destroy();
          return;
        }
        const [lo, hi] = LOSS_DELAY_MS;
        const lost = roll < fault.resetRate + fault.rate;
        if (lost) this.lossDelayed++;
        lossDue = Math.max(lossDue, lost ? Date.now() + lo + this.#lossRng() * (hi - lo) : 0);
        const due = lossDue;
        if (due > Date.now()) tail = tail.then(() => new Promise((resolve) => setTimeout(resolve, due - Date.now())));
      }
      tail = tail.then(() => {
        if (!to.destroyed) {
          this.bytesForwarded += chunk.length;
          if (!to.write(chunk)) {
            from.pause();
            to.once('drain', () => {
              if (this.#fault.kind !== 'stall') from.resume();
            });
          }
        }
      });
    };
    from.on('data', onChunk);
    return onChunk;
  }

  #pause(pipe: Pipe): void {
    pipe.client.pause();
    pipe.upstream.pause();
  }

  /** Changes the link's behaviour from now on. */
  set(fault: ProxyFault): void {
    this.#fault = fault;
    if (fault.kind === 'loss') this.#lossRng = mulberry32(fault.seed);
    if (fault.kind === 'reset') for (const client of this.#held) client.destroy();
    for (const pipe of [...this.#pipes]) {
      if (fault.kind === 'reset') {
        pipe.client.destroy();
        pipe.upstream.destroy();
        this.#pipes.delete(pipe);
      } else if (fault.kind === 'stall') {
        this.#pause(pipe);
      } else {
        pipe.client.resume();
        pipe.upstream.resume();
      }
    }
  }

  heal(): void {
    this.set({ kind: 'none' });
  }

  get connections(): number {
    return this.#pipes.size;
  }

  close(): Promise<void> {
    for (const client of this.#held) client.destroy();
    for (const pipe of this.#pipes) {
      pipe.client.destroy();
      pipe.upstream.destroy();
    }
    this.#pipes.clear();
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/**
 * One listening address per node, the address every other node dials it
 * at (its --advertise-peer, so also the address a joined node's
 * configuration entry holds). A pair proxy per directed link cannot serve
 * a node that joins later: the configuration gives every member the same
 * one address for it. So the ingress reads who is calling from the
 * connection's first frame — the driver's hello, which names the sender —
 * and hands the connection, bytes read and all, to that link's
 * FaultProxy (`route`). A connection that sends no hello within
 * `helloTimeoutMs`, or whose first frame is something else, is routed as
 * from an unknown sender (`route(undefined)`). Without a cluster secret
 * only: with one, the first frame is the handshake's, which names no node.
 */
export class IngressProxy {
  #server: Server | undefined;
  readonly #pending = new Set<Socket>();

  constructor(
    readonly route: (sender: string | undefined) => FaultProxy,
    readonly helloTimeoutMs = 5_000,
  ) {}

  async listen(port = 0): Promise<number> {
    this.#server = await listenLoopback((client) => this.#accept(client), port);
    return boundPort(this.#server);
  }

  #accept(client: Socket): void {
    this.#pending.add(client);
    let head = Buffer.alloc(0);
    let routed = false;
    const done = (sender: string | undefined): void => {
      if (routed) return;
      routed = true;
      clearTimeout(timer);
      this.#pending.delete(client);
      client.off('data', onData);
      client.pause();
      if (client.destroyed) return;
      this.route(sender).adopt(client, head);
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const sender = helloSender(head);
      if (sender !== 'more') done(sender);
    };
    const timer = setTimeout(() => done(undefined), this.helloTimeoutMs);
    client.on('data', onData);
    client.on('error', () => client.destroy());
    client.once('close', () => {
      clearTimeout(timer);
      this.#pending.delete(client);
    });
  }

  close(): Promise<void> {
    for (const client of this.#pending) client.destroy();
    this.#pending.clear();
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

// #region ingress
/** The hello's tag (@distkv/replication's FRAME_HELLO in driver/control-frames.ts: CONTROL_FRAME_MIN). */
export const FRAME_HELLO = 0xf0;
/** A hello is an id and two addresses of at most 255 bytes each: a longer first frame is not one. */
const HELLO_BYTES_MAX = 1 + 3 * 256;

/**
 * The sender a connection's first bytes name: 'more' until a whole first
 * frame (4-byte big-endian length, then the body) is in; then the hello's
 * id, or undefined when the frame is not a hello.
 */
export function helloSender(head: Buffer): string | undefined | 'more' {
  if (head.length < 4) return 'more';
  const length = head.readUInt32BE(0);
  if (length < 2 || length > HELLO_BYTES_MAX) return undefined;
  if (head.length < 4 + length) return 'more';
  if (head[4] !== FRAME_HELLO) return undefined;
  const idBytes = head[5] as number;
  if (idBytes === 0 || 2 + idBytes > length) return undefined;
  return head.toString('utf8', 6, 6 + idBytes);
}
// #endregion ingress
