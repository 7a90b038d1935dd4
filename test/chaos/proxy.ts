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
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyFault = { kind: 'none' } | { kind: 'stall' } | { kind: 'reset' } | { kind: 'delay'; delayMs: number };

interface Pipe {
  client: Socket;
  upstream: Socket;
}

export class FaultProxy {
  readonly #target: { host: string; port: number };
  #server: Server | undefined;
  #pipes = new Set<Pipe>();
  #fault: ProxyFault = { kind: 'none' };
  /** Bytes forwarded, both directions: lets a test see that traffic flowed. */
  bytesForwarded = 0;

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
  }

  #forward(from: Socket, to: Socket): void {
    // Each direction keeps its own queue, so a delay never reorders bytes.
    let tail = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const fault = this.#fault;
      if (fault.kind === 'delay') {
        tail = tail.then(() => new Promise((resolve) => setTimeout(resolve, fault.delayMs)));
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
    for (const pipe of this.#pipes) {
      pipe.client.destroy();
      pipe.upstream.destroy();
    }
    this.#pipes.clear();
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
