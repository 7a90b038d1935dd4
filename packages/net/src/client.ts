import { connect as netConnect, type Socket } from 'node:net';
import { assert, type DistkvError, isDistkvError } from '@distkv/core';
import { netError, ServerError } from './errors.js';
import { encodeRequest, RespErrorReply, RespReplyDecoder, type RespValue } from './resp-client-codec.js';
import { commandTable } from './resp-commands.js';

export interface ReconnectOptions {
  /** Connection attempts per call before CONNECTION_REFUSED; 1 means no retry. */
  attemptsMax: number;
  backoffMsMin: number;
  backoffMsMax: number;
}

export interface ClientOptions {
  host?: string;
  port?: number;
  /** 'resp' (default) speaks RESP2; 'line' the seed's line protocol. */
  protocol?: 'resp' | 'line';
  /** Per request: no reply within this many ms rejects with NET_TIMEOUT and drops the connection. Default 10 s. */
  timeoutMs?: number;
  /** Sent as AUTH on every (re)connection. */
  password?: string;
  reconnect?: Partial<ReconnectOptions>;
  /**
   * Exactly-once writes: every write `call` (SET, INCR, DEL, …) is sent as
   * `SESSION <id> <seq> …` in a session opened on first use, and a retry
   * after an error that leaves the outcome unknown reuses its number, so the
   * server applies it once and answers with the first reply. RESP only.
   */
  session?: boolean | Partial<SessionOptions>;
}

// #region session-options
export interface SessionOptions {
  /** Tries after the first for one write, on CONNECTION_CLOSED, NET_TIMEOUT, CONNECTION_REFUSED, -TRYAGAIN or -TIMEOUT. */
  retriesMax: number;
  /** Wait before the first retry; doubled each time, up to 2 s. */
  retryDelayMsMin: number;
  /** Numbered writes in flight at once; keep it at most the servers' sessionResultsMax (16 by default). */
  inFlightMax: number;
}

const defaultSession: SessionOptions = { retriesMax: 10, retryDelayMsMin: 50, inFlightMax: 16 };
// #endregion session-options

/** What a session client has done, for tests and for operators. */
export interface SessionStats {
  /** The session's id, once opened. */
  id: number | undefined;
  /** Numbered writes sent (each number once, whatever its retries). */
  writes: number;
  /** Tries after the first, over all writes. */
  retries: number;
}

export type LineReply = string | string[];

interface Pending {
  resolve: (value: never) => void;
  reject: (error: DistkvError) => void;
  timer: NodeJS.Timeout | undefined;
  /** Line protocol only: 'lines' collects until END, 'none' expects no reply. */
  shape: 'one' | 'lines' | 'none';
  lines?: string[];
}

const defaultReconnect: ReconnectOptions = { attemptsMax: 5, backoffMsMin: 50, backoffMsMax: 2000 };

/**
 * A promise-based client for both protocols. Requests are pipelined: each
 * call writes at once and its promise settles when its reply arrives, in
 * order. A lost connection rejects what was in flight with
 * CONNECTION_CLOSED (indefinite: a write may have been applied) and the
 * next call reconnects, with exponential backoff.
 */
export class Client {
  readonly host: string;
  readonly port: number;
  readonly protocol: 'resp' | 'line';
  readonly #timeoutMs: number;
  readonly #password: string | undefined;
  readonly #reconnect: ReconnectOptions;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  readonly #pending: Pending[] = [];
  #decoder = new RespReplyDecoder();
  #lineBuffer = '';
  #closed = false;
  readonly #session: SessionOptions | undefined;
  #sessionId: Promise<number> | undefined;
  #nextSeq = 1;
  #sessionInFlight = 0;
  #sessionQueue: Array<() => void> = [];
  readonly sessionStats: SessionStats = { id: undefined, writes: 0, retries: 0 };

  constructor(options: ClientOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 6380;
    this.protocol = options.protocol ?? 'resp';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#password = options.password;
    this.#reconnect = { ...defaultReconnect, ...options.reconnect };
    if (options.session !== undefined && options.session !== false) {
      this.#session = { ...defaultSession, ...(options.session === true ? {} : options.session) };
      if (this.protocol !== 'resp') throw netError('NET_LIMIT_INVALID', 'session writes need protocol resp');
      for (const [name, value] of Object.entries(this.#session)) {
        if (!Number.isSafeInteger(value) || value < (name === 'inFlightMax' ? 1 : 0)) {
          throw netError(
            'NET_LIMIT_INVALID',
            `session.${name} must be a non-negative integer (inFlightMax >= 1), got ${String(value)}`,
          );
        }
      }
    }
    const r = this.#reconnect;
    for (const [name, value] of Object.entries({ timeoutMs: this.#timeoutMs, ...r })) {
      if (!Number.isSafeInteger(value) || value < (name === 'attemptsMax' || name === 'timeoutMs' ? 1 : 0)) {
        throw netError('NET_LIMIT_INVALID', `${name} must be a positive integer, got ${String(value)}`);
      }
    }
  }

  /** A client that is already connected (or the reason it could not connect). */
  static async connect(options: ClientOptions = {}): Promise<Client> {
    const client = new Client(options);
    await client.#ensureSocket();
    return client;
  }

  /** Sends one RESP command; resolves with its reply, rejects with SERVER_ERROR on an error reply. */
  call(...args: Array<string | number | bigint | Uint8Array>): Promise<RespValue> {
    assert(this.protocol === 'resp', 'call() needs protocol resp; use send() for the line protocol');
    assert(args.length > 0, 'a command has a name');
    if (this.#session !== undefined && isSessionWrite(args[0] as string | number | bigint | Uint8Array)) {
      return this.#sessionCall(this.#session, args);
    }
    return this.#request(encodeRequest(args), 'one');
  }

  // #region session-call
  /** A numbered write: one number for all its tries, so the server applies it at most once. */
  async #sessionCall(options: SessionOptions, args: Array<string | number | bigint | Uint8Array>): Promise<RespValue> {
    if (this.#sessionInFlight >= options.inFlightMax) {
      await new Promise<void>((resolve) => this.#sessionQueue.push(resolve));
    }
    this.#sessionInFlight++;
    try {
      const id = await this.#openSession(options);
      const seq = this.#nextSeq++;
      this.sessionStats.writes++;
      return await this.#withRetries(options, () => this.#request(encodeRequest(['SESSION', id, seq, ...args]), 'one'));
    } catch (err) {
      if (serverErrorKind(err) === 'SESSION_EXPIRED') {
        this.#sessionId = undefined; // the next write opens a new session
      }
      throw err;
    } finally {
      this.#sessionInFlight--;
      this.#sessionQueue.shift()?.();
    }
  }

  #openSession(options: SessionOptions): Promise<number> {
    this.#sessionId ??= this.#withRetries(options, () =>
      this.#request<RespValue>(encodeRequest(['SESSION', 'OPEN']), 'one'),
    ).then(
      (reply) => {
        if (typeof reply !== 'bigint' && typeof reply !== 'number') {
          throw netError('PROTOCOL_ERROR', `SESSION OPEN answered ${String(reply)}, not an id`, { definite: false });
        }
        const id = Number(reply);
        this.sessionStats.id = id;
        this.#nextSeq = 1;
        return id;
      },
      (err: unknown) => {
        this.#sessionId = undefined;
        throw err;
      },
    );
    return this.#sessionId;
  }

  async #withRetries<T>(options: SessionOptions, attempt: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (err) {
        if (retry >= options.retriesMax || this.#closed || !isRetryable(err)) throw err;
        this.sessionStats.retries++;
        const delayMs = Math.min(2_000, options.retryDelayMsMin * 2 ** retry);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
  // #endregion session-call

  /** Sends one line-protocol request (`PUT k v`); SCAN resolves with the list of keys, QUIT with ''. */
  send(line: string): Promise<LineReply> {
    assert(this.protocol === 'line', 'send() needs protocol line; use call() for RESP');
    assert(!/[\r\n]/.test(line) && line.trim() !== '', 'one non-blank line without line breaks');
    const name = line.trim().split(/\s+/)[0]?.toUpperCase();
    const shape = name === 'SCAN' ? 'lines' : name === 'QUIT' ? 'none' : 'one';
    return this.#request(Buffer.from(`${line}\n`, 'utf8'), shape);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
    });
  }

  async #request<T>(data: Buffer, shape: Pending['shape']): Promise<T> {
    if (this.#closed) throw netError('CLIENT_CLOSED', 'the client was closed');
    const socket = await this.#ensureSocket();
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { resolve: resolve as (v: never) => void, reject, timer: undefined, shape };
      pending.timer = setTimeout(() => {
        this.#fail(socket, netError('NET_TIMEOUT', `no reply within ${this.#timeoutMs} ms`, { definite: false }), pending);
      }, this.#timeoutMs);
      this.#pending.push(pending);
      socket.write(data);
      if (shape === 'none') {
        // QUIT: the server answers by closing.
        pending.lines = [];
      }
    });
  }

  #ensureSocket(): Promise<Socket> {
    if (this.#socket !== undefined && !this.#socket.destroyed) return Promise.resolve(this.#socket);
    this.#connecting ??= this.#connectWithBackoff().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  // #region reconnect
  async #connectWithBackoff(): Promise<Socket> {
    let lastError = '';
    for (let attempt = 0; attempt < this.#reconnect.attemptsMax; attempt++) {
      if (attempt > 0) {
        const backoffMs = Math.min(this.#reconnect.backoffMsMax, this.#reconnect.backoffMsMin * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, backoffMs * (0.5 + Math.random() / 2)));
      }
      if (this.#closed) break;
      try {
        const socket = await this.#open();
        this.#socket = socket;
        if (this.#password !== undefined) {
          if (this.protocol === 'resp') await this.call('AUTH', this.#password);
          else await this.send(`AUTH ${this.#password}`);
        }
        return socket;
      } catch (err) {
        lastError = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        if (isDistkvError(err, 'SERVER_ERROR')) throw err;
      }
    }
    throw netError(
      'CONNECTION_REFUSED',
      `could not connect to ${this.host}:${this.port} after ${this.#reconnect.attemptsMax} attempt(s): ${lastError}`,
    );
  }
  // #endregion reconnect

  #open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        this.#decoder = new RespReplyDecoder();
        this.#lineBuffer = '';
        socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
        socket.on('error', () => {});
        socket.on('close', () => {
          const quit = this.#pending[0]?.shape === 'none';
          if (quit) this.#settle(this.#pending.shift() as Pending, '');
          this.#fail(socket, netError('CONNECTION_CLOSED', 'the connection closed with requests in flight', { definite: false }));
        });
        resolve(socket);
      });
    });
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (this.protocol === 'resp') {
      this.#decoder.push(chunk);
      let replies: RespValue[];
      try {
        replies = this.#decoder.drain();
      } catch (err) {
        this.#fail(
          socket,
          netError('PROTOCOL_ERROR', `bad reply from the server: ${(err as Error).message}`, { definite: false }),
        );
        return;
      }
      for (const reply of replies) {
        const pending = this.#pending.shift();
        if (pending === undefined) {
          this.#fail(socket, netError('PROTOCOL_ERROR', 'a reply arrived that nobody asked for', { definite: false }));
          return;
        }
        if (reply instanceof RespErrorReply) this.#reject(pending, new ServerError(reply.message));
        else this.#settle(pending, reply);
      }
      return;
    }
    this.#lineBuffer += chunk.toString('utf8');
    for (let newline = this.#lineBuffer.indexOf('\n'); newline >= 0; newline = this.#lineBuffer.indexOf('\n')) {
      const line = this.#lineBuffer.slice(0, newline).replace(/\r$/, '');
      this.#lineBuffer = this.#lineBuffer.slice(newline + 1);
      const pending = this.#pending[0];
      if (pending === undefined || pending.shape === 'none') {
        this.#fail(socket, netError('PROTOCOL_ERROR', 'a reply arrived that nobody asked for', { definite: false }));
        return;
      }
      if (pending.shape === 'lines' && !line.startsWith('ERROR ')) {
        if (line !== 'END') {
          pending.lines ??= [];
          pending.lines.push(line);
          continue;
        }
        this.#pending.shift();
        this.#settle(pending, pending.lines ?? []);
        continue;
      }
      this.#pending.shift();
      if (line.startsWith('ERROR ')) this.#reject(pending, new ServerError(line));
      else this.#settle(pending, line);
    }
  }

  #settle(pending: Pending, value: unknown): void {
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.resolve(value as never);
  }

  #reject(pending: Pending, error: DistkvError): void {
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.reject(error);
  }

  /** Rejects every request in flight on `socket` (the timed-out one with `first`'s error) and drops the socket. */
  #fail(socket: Socket, error: DistkvError, timedOut?: Pending): void {
    if (socket !== this.#socket) return;
    const inFlight = this.#pending.splice(0);
    for (const pending of inFlight) {
      this.#reject(
        pending,
        pending === timedOut || timedOut === undefined
          ? error
          : netError('CONNECTION_CLOSED', 'dropped after an earlier request timed out', { definite: false }),
      );
    }
    this.#socket = undefined;
    socket.destroy();
  }
}

function isSessionWrite(name: string | number | bigint | Uint8Array): boolean {
  const text = (typeof name === 'object' ? Buffer.from(name).toString('latin1') : String(name)).toLowerCase();
  return text !== 'session' && commandTable.get(text)?.flags.includes('write') === true;
}

/** Errors after which a numbered write may or may not have been applied, or certainly was not: safe to resend with its number. */
function isRetryable(err: unknown): boolean {
  if (isDistkvError(err, 'CONNECTION_CLOSED') || isDistkvError(err, 'NET_TIMEOUT') || isDistkvError(err, 'CONNECTION_REFUSED'))
    return true;
  const kind = serverErrorKind(err);
  return kind === 'TRYAGAIN' || kind === 'TIMEOUT';
}

/** The first word of a server's error reply (`TRYAGAIN`, `ERR`, …), or undefined for other errors. */
function serverErrorKind(err: unknown): string | undefined {
  return err instanceof ServerError ? err.replyCode : undefined;
}
