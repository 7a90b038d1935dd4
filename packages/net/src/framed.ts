import { connect as netConnect, type Socket } from 'node:net';
import { DistkvError } from '@distkv/core';
import { netError } from './errors.js';

/** Largest frame the type allows at all; a connection's own frameBytesMax is at most this. */
export const FRAME_BYTES_HARD_MAX = 1024 * 1024 * 1024;
const HEADER_BYTES = 4;
const EMPTY = Buffer.alloc(0);

export function validateFrameBytesMax(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > FRAME_BYTES_HARD_MAX) {
    throw netError(
      'NET_LIMIT_INVALID',
      `frameBytesMax must be an integer from 1 to ${FRAME_BYTES_HARD_MAX}, got ${String(value)}`,
    );
  }
  return value;
}

// #region frame-decoder
/**
 * Node-to-node framing: each frame is a 4-byte big-endian length, then that
 * many bytes. The length is checked against frameBytesMax before anything
 * is allocated, so a corrupt or hostile header cannot make us reserve 4 GiB.
 */
export class FrameDecoder {
  readonly #frameBytesMax: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected = -1;

  constructor(frameBytesMax: number) {
    this.#frameBytesMax = validateFrameBytesMax(frameBytesMax);
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next whole frame, or undefined. Throws FRAME_TOO_LARGE (the stream is then unusable). */
  next(): Buffer | undefined {
    if (this.#expected < 0) {
      if (this.#buffered < HEADER_BYTES) return undefined;
      const length = this.#take(HEADER_BYTES).readUInt32BE(0);
      if (length > this.#frameBytesMax) {
        throw netError('FRAME_TOO_LARGE', `a frame of ${length} bytes exceeds frameBytesMax ${this.#frameBytesMax}`);
      }
      this.#expected = length;
    }
    if (this.#buffered < this.#expected) return undefined;
    const frame = this.#take(this.#expected);
    this.#expected = -1;
    return frame;
  }

  /** Removes n buffered bytes: a subarray when they sit in one chunk, one copy when they span several. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.#chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.#chunks[0] as Buffer;
        const take = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, take);
        filled += take;
        if (take === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(take);
      }
    }
    this.#buffered -= n;
    return out;
  }
}
// #endregion frame-decoder

export function encodeFrame(payload: Uint8Array): Buffer[] {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payload.byteLength, 0);
  return [header, Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)];
}

export interface FramedConnectionOptions {
  /** Largest frame accepted or sent. Default 64 MiB. */
  frameBytesMax?: number;
  /** Called once per received frame, in order. */
  onFrame: (frame: Buffer) => void;
  /** Called once when the connection is gone; `error` says why when it was not a clean close. */
  onClose?: (error: DistkvError | undefined) => void;
}

/**
 * A length-prefixed message connection over TCP for node-to-node traffic
 * (replication and election reuse it). `send` obeys backpressure: it
 * returns false when the socket's buffer is full, and `drained()` resolves
 * when sending may go on.
 */
export class FramedConnection {
  readonly frameBytesMax: number;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #closed: Promise<void>;
  #error: DistkvError | undefined;

  constructor(socket: Socket, options: FramedConnectionOptions) {
    this.frameBytesMax = validateFrameBytesMax(options.frameBytesMax ?? 64 * 1024 * 1024);
    this.#socket = socket;
    this.#decoder = new FrameDecoder(this.frameBytesMax);
    socket.setNoDelay(true);
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        options.onClose?.(this.#error);
        resolve();
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error ??= netError('CONNECTION_CLOSED', `peer connection failed: ${err.code ?? err.message}`, {
        definite: false,
        cause: err,
      });
    });
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      try {
        for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) {
          options.onFrame(frame);
          if (socket.destroyed) return;
        }
      } catch (err) {
        if (!(err instanceof DistkvError)) throw err;
        this.#error = err;
        socket.destroy();
      }
    });
  }

  static connect(host: string, port: number, options: FramedConnectionOptions): Promise<FramedConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          netError('CONNECTION_REFUSED', `could not connect to ${host}:${port}: ${err.code ?? err.message}`, { cause: err }),
        );
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new FramedConnection(socket, options));
      });
    });
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Queues one frame; false means "wait for drained() before sending more". */
  send(payload: Uint8Array): boolean {
    if (payload.byteLength > this.frameBytesMax) {
      throw netError('FRAME_TOO_LARGE', `a frame of ${payload.byteLength} bytes exceeds frameBytesMax ${this.frameBytesMax}`);
    }
    if (this.#socket.destroyed || this.#socket.writableEnded) {
      // Definite, unlike the code's usual case: nothing of this frame left.
      throw netError('CONNECTION_CLOSED', 'the peer connection is closed', { definite: true });
    }
    const [header, body] = encodeFrame(payload) as [Buffer, Buffer];
    this.#socket.cork();
    this.#socket.write(header);
    const ok = this.#socket.write(body);
    this.#socket.uncork();
    return ok;
  }

  /** Queues several frames with one cork, so they leave in one system call; false as for send(). */
  sendMany(payloads: readonly Uint8Array[]): boolean {
    this.#socket.cork();
    let ok = true;
    try {
      for (const p of payloads) ok = this.send(p);
    } finally {
      this.#socket.uncork();
    }
    return ok;
  }

  drained(): Promise<void> {
    if (!this.#socket.writableNeedDrain || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    });
  }

  close(): Promise<void> {
    this.#socket.end();
    return this.#closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
