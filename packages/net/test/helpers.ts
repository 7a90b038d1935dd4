// Shared by the tests: servers in this process or in a child process, and
// raw sockets. Everything listens on 127.0.0.1 with port 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRequest, type KvBackend, Server, type ServerOptions } from '@distkv/net';
import { MemoryBackend } from '@distkv/net/testing';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A server on the Redis port and a line port (`linePort`), both picked free. */
export async function startServer(
  options: Partial<ServerOptions> = {},
): Promise<{ server: Server; port: number; linePort: number; backend: KvBackend }> {
  const backend = options.backend ?? new MemoryBackend();
  const server = await Server.listen({ linePort: 0, ...options, backend, port: 0, host: '127.0.0.1' });
  return { server, port: server.address.port, linePort: server.lineAddress?.port ?? 0, backend };
}

/** Runs examples/server.ts in a child process; resolves once it prints its port (and line port, with --line-port). */
export function spawnExampleServer(
  args: string[] = [],
): Promise<{ child: ChildProcess; port: number; linePort: number | undefined }> {
  const child = spawn(
    process.execPath,
    ['--loader', 'ts-node/esm', '--no-warnings', 'examples/server.ts', '--port', '0', ...args],
    {
      cwd: packageDir,
      env: { ...process.env, TS_NODE_PROJECT: join(packageDir, 'tsconfig.test.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s: ${out}${err}`)), 60_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on [^\s]+:(\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        const line = /line protocol on [^\s]+:(\d+)/.exec(out);
        resolve({ child, port: Number(match[1]), linePort: line === null ? undefined : Number(line[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}${err}`));
    });
  });
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    if (child.pid !== undefined) process.kill(child.pid, signal);
  });
}

/** A raw TCP connection that collects everything the server sends. */
export class RawSocket {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;
  readonly #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static open(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => resolve(new RawSocket(socket)));
      socket.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until the received bytes satisfy `done` or the socket closes (bounded by the test timeout). */
  async until(done: (text: string) => boolean): Promise<string> {
    while (!done(this.received.toString('latin1')) && !this.closed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.received.toString('latin1');
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Writes `data` on a raw connection (text or bytes as they are, or RESP
 * requests encoded one after another) and returns all the server sent
 * until it closed the connection.
 */
export async function sendUntilClosed(port: number, data: string | Buffer | string[][]): Promise<string> {
  const raw = await RawSocket.open(port);
  raw.write(Array.isArray(data) ? Buffer.concat(data.map((args) => encodeRequest(args))) : data);
  await raw.waitClosed();
  return raw.received.toString();
}
