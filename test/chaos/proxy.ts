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
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.#accept(client));
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.#server = server;
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  #accept(client: Socket): void {
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
        if (!client.destroyed) this.#connect(client);
      }, LOSS_SYN_DELAY_MS);
      return;
    }
    this.#connect(client);
  }

  #connect(client: Socket): void {
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
    this.#forward(client, upstream);
    this.#forward(upstream, client);
    if (this.#fault.kind === 'stall') this.#pause(pipe);
    else client.resume(); // a connection the loss fault held was paused
  }

  #forward(from: Socket, to: Socket): void {
    // Each direction keeps its own queue, so a delay never reorders bytes.
    let tail = Promise.resolve();
    // A loss holds back the chunks behind it until the lost one arrives, then they all go: a chunk's time
    // is the later of its own and the one before it, not their sum (TCP buffers out-of-order segments).
    let lossDue = 0;
    from.on('data', (chunk: Buffer) => {
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
    });
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
