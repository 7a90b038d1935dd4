/**
 * One client connection of the server (server.ts): bytes in, replies out,
 * in order. The port it arrived on decides the protocol: the Redis port
 * speaks RESP2 and Redis's inline commands, the line port the seed's line
 * protocol. Parsers (resp-parser.ts, line-parser.ts) are fed chunk by
 * chunk, every complete request is dispatched to the command table
 * (resp-commands.ts, line-commands.ts), and replies are gathered so one
 * pass over a chunk becomes one socket write.
 *
 * Why it is its own file: this is where pipelining, read-your-writes
 * ordering and backpressure meet (node-redis's socket is the model).
 * Writes go to the backend at once and keep their place in the reply order;
 * reading pauses while the socket needs draining or too many replies wait,
 * and a client that never reads is disconnected within its limits.
 */
import type { Socket } from 'node:net';
import { isDistkvError } from '@distkv/core';
import { type KvBackend, respErrorPrefixes } from './backend.js';
import { PartialRequestTimer } from './client-port-security.js';
import { isLineWrite, lineDispatch } from './line-commands.js';
import { LineParser } from './line-parser.js';
import { commandTable, dispatch, type Outcome, type ServerContext, type SessionState } from './resp-commands.js';
import { ProtocolViolation, RespRequestParser } from './resp-parser.js';
import { error } from './resp-server-replies.js';

/** A reply in the connection's queue; `data` is undefined while its write awaits the backend. */
interface Slot {
  data: Buffer | undefined;
}

type Request = Buffer[] | Buffer;

// #region request-sample
/** One answered request, for metrics: its command, whether the reply was an error, and how long it took. */
export interface RequestSample {
  /** Lower-case command name (`get`, `set`, `put` for the line protocol); `unknown` for any other, so labels stay bounded. */
  command: string;
  /** False when the reply was an error (`-ERR ...` in RESP, `ERROR ...` in the line protocol). */
  ok: boolean;
  /** From the request being handled to its reply being ready (backend writes and read barriers included). */
  latencySeconds: number;
}
// #endregion request-sample

/** `resp`: the Redis port (RESP2 multibulk and inline commands); `line`: the seed's line protocol (--line-port). */
export type ClientProtocol = 'resp' | 'line';

export interface ConnectionHooks {
  readonly protocol: ClientProtocol;
  readonly backend: KvBackend;
  readonly context: ServerContext;
  readonly onCommand: () => void;
  /** Called once per answered request; left out, nothing is measured. */
  readonly onRequest?: ((sample: RequestSample) => void) | undefined;
  readonly log: (line: string) => void;
}

const LINE_COMMANDS = new Set(['put', 'get', 'del', 'size', 'scan', 'ping', 'quit', 'auth']);

/** The command's name as a metric label: only known names, so a client cannot create unbounded series. */
function commandLabel(request: Request): string {
  if (Buffer.isBuffer(request)) {
    const end = request.indexOf(0x20);
    const name = request
      .toString('latin1', 0, Math.min(end === -1 ? request.length : end, 16))
      .trim()
      .toLowerCase();
    return LINE_COMMANDS.has(name) ? name : 'unknown';
  }
  const first = request[0];
  if (first === undefined || first.length > 32) return 'unknown';
  const name = first.toString('latin1').toLowerCase();
  return commandTable.has(name) ? name : 'unknown';
}

/** An error reply: RESP's `-` or the line protocol's `ERROR`. */
function isErrorReply(reply: Buffer): boolean {
  return reply[0] === 0x2d || (reply.length >= 5 && reply.toString('latin1', 0, 5) === 'ERROR');
}

/**
 * One client connection. Requests are parsed from whatever chunks arrive
 * and handled in order; replies leave in the same order, written to a
 * single Buffer per pass, so one pass over a chunk becomes one `write`.
 *
 * Ordering rules: writes go to the backend at once (so a pipeline of
 * writes shares one fsync) and their replies wait in `#slots`; a read that
 * arrives while this connection has writes in flight waits for them, so a
 * client always reads its own writes.
 */
export class Connection {
  readonly session: SessionState;
  readonly #socket: Socket;
  readonly #hooks: ConnectionHooks;
  readonly #protocol: ClientProtocol;
  readonly #resp: RespRequestParser | undefined;
  readonly #line: LineParser | undefined;
  readonly #slots: Slot[] = [];
  #writesInFlight = 0;
  /** Reads waiting for the backend's read barrier; a write waits until they are served. */
  #readsInFlight = 0;
  /** A read waiting for this connection's writes to finish. */
  #blocked: Request | undefined;
  /** No more requests will be handled: QUIT, a protocol error, end of input, or shutdown. */
  #closing = false;
  /** A protocol error: close the socket (both ways) once the replies are sent. */
  #closeAfterReplies = false;
  #readEnded = false;
  #readingPaused = false;
  #pumping = false;
  #pumpQueued = false;
  /** The last pass stopped with requests left because its output was full. */
  #resumeLater = false;
  /** Replies of the current pass, written as one Buffer at its end (fewer stream calls than one write each). */
  #out: Buffer[] = [];
  #outBytes = 0;
  #drainTimer: NodeJS.Timeout | undefined;
  /** Slow-loris guard: a begun request (or, with passwords, the AUTH) must complete within requestTimeoutMs. */
  readonly #partialTimer: PartialRequestTimer;
  #closed: Promise<void>;

  constructor(socket: Socket, id: number, hooks: ConnectionHooks) {
    this.#socket = socket;
    this.#hooks = hooks;
    this.#protocol = hooks.protocol;
    const { limits } = hooks.context;
    if (hooks.protocol === 'resp') this.#resp = new RespRequestParser(limits);
    else this.#line = new LineParser(limits.lineBytesMax);
    this.session = { id, name: null, authenticated: !hooks.context.users.required, user: null, readOnly: false, authFailures: 0 };
    const { requestTimeoutMs } = hooks.context.securityLimits;
    this.#partialTimer = new PartialRequestTimer(requestTimeoutMs, () => {
      hooks.log(`client ${id}: a request (or AUTH) not completed within ${requestTimeoutMs} ms (requestTimeoutMs), closing`);
      socket.destroy();
    });
    this.#partialTimer.update(!this.session.authenticated);
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    this.setIdleTimeout(hooks.context.limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => {
      this.#readEnded = true;
      this.#pump();
    });
    socket.on('drain', () => {
      if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
      this.#pump();
    });
    socket.on('error', () => {}); // 'close' follows; resets by clients are routine
    socket.on('close', () => {
      if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
      this.#partialTimer.stop();
      this.#closing = true;
    });
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Graceful shutdown: handle nothing new, send the replies still owed, then close. */
  shutdown(): Promise<void> {
    this.#closing = true;
    this.#pump();
    return this.#closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Closes the connection once it has been idle this long (0: never); CONFIG SET timeout changes it on open ones. */
  setIdleTimeout(idleTimeoutMs: number): void {
    const socket = this.#socket;
    socket.removeAllListeners('timeout');
    socket.setTimeout(idleTimeoutMs);
    if (idleTimeoutMs === 0) return;
    socket.on('timeout', () => {
      this.#hooks.log(`client ${this.session.id}: idle for ${idleTimeoutMs} ms, closing`);
      socket.destroy();
    });
  }

  #onData(chunk: Buffer): void {
    // #region drop-after-close
    // Nothing new is handled once closing (QUIT, a protocol error, shutdown):
    // bytes that still arrive are dropped, never buffered.
    if (this.#closing) return;
    // #endregion drop-after-close
    if (this.#resp !== undefined) this.#resp.push(chunk);
    else this.#line?.push(chunk);
    this.#pump();
  }

  #isWrite(request: Request): boolean {
    if (Buffer.isBuffer(request)) return isLineWrite(request);
    const name = (request[0] as Buffer).toString('latin1').toLowerCase();
    return commandTable.get(name)?.flags.includes('write') === true;
  }

  /** A read waits for earlier writes, and a write for earlier reads that wait for their barrier. */
  #mustWait(request: Request): boolean {
    if (this.#writesInFlight > 0) return !this.#isWrite(request);
    return this.#readsInFlight > 0 && this.#isWrite(request);
  }

  /** Reads of the keyspace: they pass the backend's read barrier first. */
  #isRead(request: Request): boolean {
    if (Buffer.isBuffer(request)) {
      const name = request.toString('latin1', 0, Math.min(request.length, 5)).toUpperCase();
      return /^(?:GET|SCAN|SIZE)(?:\s|$)/.test(name);
    }
    const name = (request[0] as Buffer).toString('latin1').toLowerCase();
    return commandTable.get(name)?.flags.includes('readonly') === true;
  }

  #nextRequest(): Request | undefined {
    return this.#resp !== undefined ? this.#resp.next() : this.#line?.next();
  }

  // #region pump
  /** Handles every complete request that may be handled now, then sends their replies in one write. */
  #pump(): void {
    if (this.#pumping || this.#socket.destroyed) return;
    this.#pumping = true;
    const socket = this.#socket;
    try {
      // Replies settled since the last pass go first: they free slots for new requests.
      this.#flushSlots();
      for (;;) {
        if (this.#blocked !== undefined) {
          if (this.#mustWait(this.#blocked)) break;
          const request = this.#blocked;
          this.#blocked = undefined;
          this.#handle(request);
          continue;
        }
        if (this.#closing || socket.writableNeedDrain) break;
        if (this.#outBytes >= socket.writableHighWaterMark) {
          // Enough for one write: send it, and go on in a later turn (or on 'drain').
          this.#resumeLater = true;
          break;
        }
        if (this.#slots.length >= this.#hooks.context.limits.pendingRepliesMax) break;
        let request: Request | undefined;
        try {
          request = this.#nextRequest();
        } catch (err) {
          if (!(err instanceof ProtocolViolation)) throw err;
          // #region protocol-error
          // Framing is lost: answer like Redis, read nothing more, and close
          // once the replies owed (this one included) are sent.
          this.#reply(this.#protocol === 'resp' ? error(err.reply) : Buffer.from(`${err.reply}\n`));
          this.#closing = true;
          this.#closeAfterReplies = true;
          this.#resp?.discard();
          this.#line?.discard();
          // #endregion protocol-error
          break;
        }
        if (request === undefined) {
          if (this.#readEnded) this.#closing = true;
          break;
        }
        if (this.#mustWait(request)) {
          this.#blocked = request;
          break;
        }
        this.#handle(request);
      }
      this.#flushSlots();
    } finally {
      this.#writeOut();
      this.#pumping = false;
    }
    this.#afterPump();
  }
  // #endregion pump

  #afterPump(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    const { limits } = this.#hooks.context;
    if (socket.writableLength > limits.outputBytesMax) {
      this.#hooks.log(`client ${this.session.id}: ${socket.writableLength} reply bytes unread (outputBytesMax), closing`);
      socket.destroy();
      return;
    }
    if (this.#closeAfterReplies && !this.#readingPaused) {
      // After a protocol error nothing more is read: a desynced client must
      // not keep pushing bytes into us. (Other closings keep reading, and
      // dropping, so that the client's FIN is seen and the socket closes.)
      this.#readingPaused = true;
      socket.pause();
    }
    if (this.#closing && this.#slots.length === 0 && this.#blocked === undefined) {
      this.#partialTimer.stop();
      if (!socket.writableEnded) {
        // After a protocol error the socket is closed, not half-closed, once
        // the reply has left (Redis's close-after-reply): the peer may still
        // be sending, and nothing would ever read it.
        if (this.#closeAfterReplies) socket.end(() => socket.destroy());
        else socket.end();
      }
      return;
    }
    // Backpressure: read only while the client keeps up with its replies.
    const mayRead = !this.#closing && !socket.writableNeedDrain && this.#slots.length < limits.pendingRepliesMax;
    if (mayRead && this.#readingPaused) {
      this.#readingPaused = false;
      socket.resume();
    } else if (!mayRead && !this.#readingPaused) {
      this.#readingPaused = true;
      socket.pause();
    }
    const partial = (this.#resp?.bufferedBytes ?? this.#line?.bufferedBytes ?? 0) > 0 || !this.session.authenticated;
    this.#partialTimer.update(partial && mayRead && this.#slots.length === 0 && this.#blocked === undefined);
    if (this.#resumeLater) {
      this.#resumeLater = false;
      // If the socket took it all there will be no 'drain' to wake us: pump again after I/O.
      if (!socket.writableNeedDrain) setImmediate(() => this.#pump());
    }
    if (socket.writableNeedDrain && this.#drainTimer === undefined) {
      this.#drainTimer = setTimeout(() => {
        this.#hooks.log(`client ${this.session.id}: did not read its replies for ${limits.drainWaitMsMax} ms, closing`);
        socket.destroy();
      }, limits.drainWaitMsMax);
      this.#drainTimer.unref();
    }
  }

  #handle(request: Request): void {
    this.#hooks.onCommand();
    const onRequest = this.#hooks.onRequest;
    if (onRequest === undefined) {
      this.#handleTimed(request, undefined);
      return;
    }
    const command = commandLabel(request);
    const startedMs = performance.now();
    this.#handleTimed(request, (reply) => {
      try {
        onRequest({ command, ok: !isErrorReply(reply), latencySeconds: (performance.now() - startedMs) / 1000 });
      } catch {
        // metrics must not break a connection
      }
    });
  }

  /** Handles a request; `done` (when measuring) sees its reply once it is ready. */
  #handleTimed(request: Request, done: ((reply: Buffer) => void) | undefined): void {
    const barrier =
      this.#hooks.backend.readBarrier !== undefined && this.session.authenticated && this.#isRead(request)
        ? this.#hooks.backend.readBarrier()
        : undefined;
    if (barrier !== undefined) {
      // #region read
      this.#replyLater(barrier, 'read', done, () => {
        const outcome = Buffer.isBuffer(request)
          ? lineDispatch(request, this.session, this.#hooks.context)
          : dispatch(request, this.session, this.#hooks.context);
        return Buffer.isBuffer(outcome) ? outcome : this.#failure(new Error('a read produced no reply'));
      });
      // #endregion read
      return;
    }
    let outcome: Outcome | undefined;
    if (Buffer.isBuffer(request)) outcome = lineDispatch(request, this.session, this.#hooks.context);
    else outcome = dispatch(request, this.session, this.#hooks.context);
    if (outcome === undefined) return;
    if (Buffer.isBuffer(outcome)) {
      done?.(outcome);
      this.#reply(outcome);
    } else if ('close' in outcome) {
      done?.(outcome.close);
      if (outcome.close.length > 0) this.#reply(outcome.close);
      this.#closing = true;
    } else {
      // #region write
      this.#replyLater(this.#hooks.backend.execute(outcome.write), 'write', done, outcome.reply);
      // #endregion write
    }
  }

  #failure(err: unknown): Buffer {
    const code = isDistkvError(err) && respErrorPrefixes.has(err.code) ? err.code : 'ERR';
    // A named kind carries its code in the first word, so its text is the detail alone; -ERR keeps the whole message.
    const message = code !== 'ERR' && isDistkvError(err) ? err.detail : err instanceof Error ? err.message : String(err);
    return this.#protocol === 'resp'
      ? error(`${code} ${message}`)
      : Buffer.from(`ERROR ${code === 'ERR' ? '' : `${code} `}${message.replace(/[\r\n]/g, ' ')}\n`);
  }

  // #region reply-later
  /**
   * Holds the next place in the reply order until `pending` settles, then
   * fills it with `format`'s reply, or the error's, so replies leave in
   * request order however the backend interleaves them.
   */
  #replyLater<T>(
    pending: Promise<T>,
    kind: 'read' | 'write',
    done: ((reply: Buffer) => void) | undefined,
    format: (value: T) => Buffer,
  ): void {
    const slot: Slot = { data: undefined };
    this.#slots.push(slot);
    if (kind === 'read') this.#readsInFlight++;
    else this.#writesInFlight++;
    const settle = (reply: Buffer): void => {
      done?.(reply);
      slot.data = reply;
      if (kind === 'read') this.#readsInFlight--;
      else this.#writesInFlight--;
      this.#pumpSoon();
    };
    pending.then(
      (value) => settle(format(value)),
      (err: unknown) => settle(this.#failure(err)),
    );
  }
  // #endregion reply-later

  #pumpSoon(): void {
    // The backend settles a batch of writes in one go (one fsync, many
    // entries): pump once after all of them, so their replies leave in one
    // write instead of one system call each.
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #reply(data: Buffer): void {
    if (this.#slots.length === 0) this.#send(data);
    else this.#slots.push({ data });
  }

  #send(data: Buffer): void {
    this.#out.push(data);
    this.#outBytes += data.length;
  }

  #writeOut(): void {
    if (this.#out.length === 0) return;
    const data = this.#out.length === 1 ? (this.#out[0] as Buffer) : Buffer.concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    if (!this.#socket.destroyed) this.#socket.write(data);
  }

  #flushSlots(): void {
    while (this.#slots.length > 0) {
      const data = (this.#slots[0] as Slot).data;
      if (data === undefined) return;
      this.#slots.shift();
      this.#send(data);
    }
  }
}
