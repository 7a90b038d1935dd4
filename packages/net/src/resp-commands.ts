import { type Command, type CommandResult, commands, type Store } from '@distkv/core';
import { globPrefix, globToRegExp } from './glob.js';
import type { ServerLimits } from './limits.js';
import { array, bulk, bulkArray, EMPTY_ARRAY, error, integer, NIL, OK, PONG, simple } from './reply.js';
import { authenticate, refuseWrite, type SecurityLimits, TOO_MANY_AUTH_FAILURES, type UserTable } from './security.js';

/** A connection's state that commands may read and change. */
export interface SessionState {
  readonly id: number;
  name: string | null;
  authenticated: boolean;
  /** Who AUTHed (`default` for AUTH password); null before AUTH or when no password is set. */
  user: string | null;
  /** A read-only user: writes are answered -NOPERM. */
  readOnly: boolean;
  /** Failed AUTH attempts on this connection (see SecurityLimits.authFailuresMax). */
  authFailures: number;
}

/** The server-wide facts commands need: limits, counters, SCAN cursors. */
export interface ServerContext {
  readonly store: Store;
  readonly limits: Readonly<ServerLimits>;
  readonly requirepass: string | null;
  /** Passwords and permissions (--requirepass is the `default` user); see security.ts. */
  readonly users: UserTable;
  readonly securityLimits: Readonly<SecurityLimits>;
  readonly cursors: ScanCursors;
  readonly info: () => Record<string, Record<string, string | number>>;
  readonly config: () => Record<string, string>;
}

/**
 * What a command produces: a reply now (reads), a write for the backend
 * whose reply is made from its result, or a last reply before closing.
 */
export type Outcome =
  | Buffer
  | { readonly write: Command; readonly reply: (result: CommandResult) => Buffer }
  | { readonly close: Buffer };

export type Handler = (args: Buffer[], session: SessionState, server: ServerContext) => Outcome;

export interface CommandSpec {
  /** Redis's convention: n means exactly n arguments with the name, -n at least n. */
  readonly arity: number;
  readonly flags: readonly string[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  readonly group: string;
  readonly summary: string;
  readonly handler: Handler;
  /** Served before AUTH when a password is set. */
  readonly noAuth?: boolean;
}

export const WRONG_INTEGER = error('ERR value is not an integer or out of range');
const SYNTAX = error('ERR syntax error');
const INT64_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function parseInt64(arg: Buffer | undefined): bigint | undefined {
  if (arg === undefined || arg.length > 20) return undefined;
  const text = arg.toString('latin1');
  if (!INT64_TEXT.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

function upper(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1').toUpperCase();
}

/** Turns an operating error returned by the store into the error text Redis would use for it. */
export function resultError(result: CommandResult & { ok: false }): Buffer {
  if (result.code === 'NOT_INTEGER') return WRONG_INTEGER;
  if (result.code === 'INTEGER_OVERFLOW') return error('ERR increment or decrement would overflow');
  return error(`ERR ${result.message}`);
}

type OkResult = Extract<CommandResult, { ok: true }>;

function writeReply(format: (result: OkResult) => Buffer): (result: CommandResult) => Buffer {
  return (result) => (result.ok ? format(result) : resultError(result));
}

const UNSUPPORTED_SET_OPTIONS = new Set(['EX', 'PX', 'EXAT', 'PXAT', 'KEEPTTL']);

// #region set
/** SET key value [NX | XX | IFEQ expected] [GET]; expiry options are refused, not ignored. */
function set(args: Buffer[]): Outcome {
  const key = args[1] as Buffer;
  const value = args[2] as Buffer;
  let when: 'always' | 'ifAbsent' | 'ifPresent' = 'always';
  let expected: Buffer | undefined;
  let get = false;
  for (let i = 3; i < args.length; i++) {
    const option = upper(args[i]);
    if (option === 'NX' && when === 'always' && expected === undefined) when = 'ifAbsent';
    else if (option === 'XX' && when === 'always' && expected === undefined) when = 'ifPresent';
    else if (option === 'IFEQ' && when === 'always' && expected === undefined && i + 1 < args.length) expected = args[++i];
    else if (option === 'GET' && !get) get = true;
    else if (UNSUPPORTED_SET_OPTIONS.has(option)) {
      return error(`ERR distkv does not support key expiry yet: SET ... ${option} is refused, not ignored`);
    } else return SYNTAX;
  }
  if (expected !== undefined) {
    return {
      write: commands.cas(key, expected, value),
      reply: writeReply((r) => {
        if (r.op !== 'cas') return NIL;
        if (get) return bulk(r.previous);
        return r.swapped ? OK : NIL;
      }),
    };
  }
  return {
    write: commands.put(key, value, { when, returnPrevious: get }),
    reply: writeReply((r) => {
      if (r.op !== 'put') return NIL;
      if (get) return bulk(r.previous);
      return r.written ? OK : NIL;
    }),
  };
}
// #endregion set

// #region session
/** The codes the store answers a session write with instead of its command's result; sent as `-CODE message`. */
const SESSION_ERROR_CODES: ReadonlySet<string> = new Set(['SESSION_EXPIRED', 'SESSION_SEQ_TOO_OLD', 'SESSION_RESULT_TOO_LARGE']);

/**
 * Exactly-once writes (Raft dissertation §6.3):
 *
 *   SESSION OPEN                                  → :id (a new session, replicated like a write)
 *   SESSION <id> <seq> <write command> [arg ...]  → that command's own reply
 *
 * The store applies a (id, seq) at most once; sending it again returns the
 * first reply. Errors: `-SESSION_EXPIRED` (the id is unknown: evicted or
 * never opened), `-SESSION_SEQ_TOO_OLD` (below the results kept), both
 * saying that this try was not applied and an earlier one may have been;
 * `-SESSION_RESULT_TOO_LARGE` (applied once, reply not kept); `-ERR` for a
 * bad id or number, or a command that is not a write (reads are safe to
 * repeat: send them plain).
 */
function sessionCommand(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
  if (upper(args[1]) === 'OPEN') {
    if (args.length !== 2) return error("ERR wrong number of arguments for 'session|open' command");
    return {
      write: commands.openSession(),
      reply: writeReply((r) => (r.op === 'openSession' ? integer(r.session) : NIL)),
    };
  }
  if (args.length < 4)
    return error("ERR wrong number of arguments for 'session' command: SESSION <id> <seq> <command> [arg ...]");
  const id = parseInt64(args[1]);
  const seq = parseInt64(args[2]);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (id === undefined || seq === undefined || id < 1n || seq < 1n || id > max || seq > max) {
    return error(`ERR SESSION id and sequence number must be integers from 1 to ${max}`);
  }
  const inner = args.slice(3);
  const name = (inner[0] as Buffer).toString('latin1').toLowerCase();
  const spec = commandTable.get(name);
  if (spec !== undefined && (name === 'session' || !spec.flags.includes('write'))) {
    return error(`ERR SESSION wraps one write command; '${name}' is not one (send reads without SESSION)`);
  }
  const outcome = dispatch(inner, session, server);
  if (Buffer.isBuffer(outcome) || 'close' in outcome) return outcome; // unknown command, arity, syntax: nothing to number
  return {
    write: commands.session(Number(id), Number(seq), outcome.write),
    reply: (r) => {
      if (!r.ok && SESSION_ERROR_CODES.has(r.code)) {
        const message = r.message.startsWith(`${r.code}: `) ? r.message.slice(r.code.length + 2) : r.message;
        return error(`${r.code} ${message}`);
      }
      return outcome.reply(r);
    },
  };
}
// #endregion session

function incrBy(args: Buffer[], sign: 1n | -1n, deltaArg: Buffer | undefined): Outcome {
  let delta = 1n;
  if (deltaArg !== undefined) {
    const parsed = parseInt64(deltaArg);
    if (parsed === undefined) return WRONG_INTEGER;
    if (sign === -1n && parsed === INT64_MIN) return error('ERR decrement would overflow');
    delta = parsed;
  }
  return {
    write: commands.incrBy(args[1] as Buffer, sign * delta),
    reply: writeReply((r) => (r.op === 'incrBy' ? integer(r.value) : NIL)),
  };
}

/**
 * SCAN cursors must be decimal numbers (redis-cli --scan parses them with
 * strtoull), so a cursor is an id into this map of "next key to return".
 * Bounded: the oldest cursors are forgotten, and a forgotten one is an
 * `ERR invalid cursor`, never a silent restart.
 */
export class ScanCursors {
  readonly #max: number;
  readonly #next = new Map<string, Buffer>();
  #lastId = 0;

  constructor(max: number) {
    this.#max = max;
  }

  save(nextKey: Buffer): string {
    if (this.#next.size >= this.#max) {
      const oldest = this.#next.keys().next();
      if (oldest.done !== true) this.#next.delete(oldest.value);
    }
    this.#lastId++;
    const id = String(this.#lastId);
    this.#next.set(id, nextKey);
    return id;
  }

  take(id: string): Buffer | undefined {
    const key = this.#next.get(id);
    if (key !== undefined) this.#next.delete(id);
    return key;
  }
}

function matcher(pattern: string | undefined): ((key: string) => boolean) | undefined {
  if (pattern === undefined || pattern === '*') return undefined;
  try {
    const re = globToRegExp(pattern);
    return (key) => re.test(key);
  } catch {
    return () => false;
  }
}

// #region scan
function scan(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  const cursor = (args[1] as Buffer).toString('latin1');
  let pattern: string | undefined;
  let count = 10;
  let typeMatches = true;
  for (let i = 2; i < args.length; i++) {
    const option = upper(args[i]);
    const operand = args[i + 1];
    if (operand === undefined) return SYNTAX;
    if (option === 'MATCH') pattern = operand.toString('latin1');
    else if (option === 'COUNT') {
      const n = parseInt64(operand);
      if (n === undefined) return WRONG_INTEGER;
      if (n < 1n) return SYNTAX;
      count = Number(n > BigInt(server.store.limits.scanLimitMax - 1) ? server.store.limits.scanLimitMax - 1 : n);
    } else if (option === 'TYPE') {
      // Every distkv value is a string: any other type matches nothing, but the walk goes on.
      if (operand.toString('latin1').toLowerCase() !== 'string') typeMatches = false;
    } else return SYNTAX;
    i++;
  }
  let start: Buffer | undefined;
  if (cursor !== '0') {
    if (parseInt64(args[1]) === undefined) return error('ERR invalid cursor');
    start = server.cursors.take(cursor);
    if (start === undefined) return error('ERR invalid cursor');
  }
  const prefix = pattern === undefined ? '' : globPrefix(pattern);
  const options = {
    limit: count + 1,
    ...(start === undefined ? {} : { start }),
    ...(prefix === '' ? {} : { prefix: Buffer.from(prefix, 'latin1') }),
  };
  const entries = server.store.scan(options);
  const more = entries.length > count;
  const next = more ? server.cursors.save((entries[count] as [Buffer, Buffer])[0]) : '0';
  const match = matcher(pattern);
  const keys: Buffer[] = [];
  for (let i = 0; i < Math.min(count, entries.length); i++) {
    const key = (entries[i] as [Buffer, Buffer])[0];
    if (typeMatches && (match === undefined || match(key.toString('latin1')))) keys.push(key);
  }
  return scanReply(next, keys);
}
// #endregion scan

function scanReply(cursor: string, keys: Buffer[]): Buffer {
  return array([bulk(cursor), bulkArray(keys)]);
}

function keys(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  const pattern = (args[1] as Buffer).toString('latin1');
  const prefix = globPrefix(pattern);
  const match = matcher(pattern);
  const page = server.store.limits.scanLimitMax;
  const out: Buffer[] = [];
  let start: Buffer | undefined;
  for (;;) {
    const entries = server.store.scan({
      limit: page,
      ...(start === undefined ? {} : { start }),
      ...(prefix === '' ? {} : { prefix: Buffer.from(prefix, 'latin1') }),
    });
    for (const [i, [key]] of entries.entries()) {
      if (start !== undefined && i === 0 && key.equals(start)) continue;
      if (match === undefined || match(key.toString('latin1'))) out.push(key);
    }
    if (entries.length < page) break;
    start = (entries[entries.length - 1] as [Buffer, Buffer])[0];
  }
  return bulkArray(out);
}

function info(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  const wanted = args.slice(1).map((a) => a.toString('latin1').toLowerCase());
  const all = wanted.length === 0 || wanted.some((w) => w === 'all' || w === 'everything' || w === 'default');
  const sections = server.info();
  const parts: string[] = [];
  for (const [name, fields] of Object.entries(sections)) {
    if (!all && !wanted.includes(name.toLowerCase())) continue;
    const lines = Object.entries(fields).map(([k, v]) => `${k}:${v}`);
    parts.push(`# ${name}\r\n${lines.join('\r\n')}\r\n`);
  }
  return bulk(parts.join('\r\n'));
}

/** DEBUG DIGEST, as in Redis: equal digests mean equal contents, so replicas can be compared. */
function debug(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  if (upper(args[1]) === 'DIGEST' && args.length === 2) return simple(server.store.digest());
  return error(`ERR DEBUG subcommand '${args[1]?.toString('latin1') ?? ''}' is not supported: distkv has DEBUG DIGEST`);
}

function config(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  const sub = upper(args[1]);
  if (sub === 'GET') {
    if (args.length < 3) return error("ERR wrong number of arguments for 'config|get' command");
    const values = server.config();
    const out: string[] = [];
    for (const arg of args.slice(2)) {
      const match = matcher(arg.toString('latin1'));
      for (const [k, v] of Object.entries(values)) {
        if ((match === undefined || match(k)) && !out.includes(k)) out.push(k, v);
      }
    }
    return bulkArray(out);
  }
  if (sub === 'RESETSTAT') return OK;
  if (sub === 'SET' || sub === 'REWRITE')
    return error(`ERR distkv does not support CONFIG ${sub}: restart the server with other flags`);
  return error(`ERR unknown subcommand '${args[1]?.toString('latin1') ?? ''}'. Try CONFIG HELP.`);
}

function client(args: Buffer[], session: SessionState): Outcome {
  const sub = upper(args[1]);
  if (sub === 'SETNAME') {
    if (args.length !== 3) return error("ERR wrong number of arguments for 'client|setname' command");
    const name = (args[2] as Buffer).toString('latin1');
    if (/[^\x21-\x7e]/.test(name)) return error('ERR Client names cannot contain spaces, newlines or special characters.');
    session.name = name === '' ? null : name;
    return OK;
  }
  if (sub === 'GETNAME') {
    if (args.length !== 2) return error("ERR wrong number of arguments for 'client|getname' command");
    return bulk(session.name);
  }
  if (sub === 'ID') {
    if (args.length !== 2) return error("ERR wrong number of arguments for 'client|id' command");
    return integer(session.id);
  }
  if (sub === 'SETINFO') return OK;
  return error(`ERR unknown subcommand '${args[1]?.toString('latin1') ?? ''}'. Try CLIENT HELP.`);
}

function auth(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
  if (args.length > 3) return SYNTAX;
  if (!server.users.required) {
    return error(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  const user = args.length === 3 ? (args[1] as Buffer).toString('latin1') : 'default';
  const verdict = authenticate(session, server, user, args[args.length - 1] as Buffer);
  if (verdict === 'closed') return { close: error(`ERR ${TOO_MANY_AUTH_FAILURES}`) };
  if (verdict === 'wrongpass') return error('WRONGPASS invalid username-password pair or user is disabled.');
  return OK;
}

function hello(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
  let i = 1;
  if (args.length > 1) {
    const version = parseInt64(args[1]);
    if (version === undefined) return error('ERR Protocol version is not an integer or out of range');
    if (version !== 2n) return error('NOPROTO unsupported protocol version');
    i = 2;
  }
  let name: string | null | undefined;
  for (; i < args.length; i++) {
    const option = upper(args[i]);
    if (option === 'AUTH' && i + 2 < args.length) {
      const outcome = auth([args[0] as Buffer, args[i + 1] as Buffer, args[i + 2] as Buffer], session, server);
      if (outcome !== OK) return outcome;
      i += 2;
    } else if (option === 'SETNAME' && i + 1 < args.length) {
      name = (args[++i] as Buffer).toString('latin1');
    } else return error(`ERR Syntax error in HELLO option '${args[i]?.toString('latin1') ?? ''}'`);
  }
  if (!session.authenticated) {
    return error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (name !== undefined) session.name = name === '' ? null : name;
  return array([
    bulk('server'),
    bulk('redis'),
    bulk('version'),
    bulk(REDIS_COMPAT_VERSION),
    bulk('proto'),
    integer(2),
    bulk('id'),
    integer(session.id),
    bulk('mode'),
    bulk('standalone'),
    bulk('role'),
    bulk('master'),
    bulk('modules'),
    EMPTY_ARRAY,
  ]);
}

/** The Redis version distkv answers to clients that check one (the commands it implements behave as in 7.2). */
export const REDIS_COMPAT_VERSION = '7.2.0';

function spec(
  arity: number,
  flags: string[],
  keys: [number, number, number],
  group: string,
  summary: string,
  handler: Handler,
  noAuth = false,
): CommandSpec {
  return { arity, flags, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2], group, summary, handler, noAuth };
}

const NO_KEYS: [number, number, number] = [0, 0, 0];

// #region table
export const commandTable: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  [
    'ping',
    spec(-1, ['fast'], NO_KEYS, 'connection', 'Returns PONG, or the argument.', (a) =>
      a.length > 2 ? error("ERR wrong number of arguments for 'ping' command") : a.length === 2 ? bulk(a[1]) : PONG,
    ),
  ],
  ['echo', spec(2, ['fast'], NO_KEYS, 'connection', 'Returns the argument.', (a) => bulk(a[1]))],
  [
    'get',
    spec(2, ['readonly', 'fast'], [1, 1, 1], 'string', 'Returns the value of a key.', (a, _s, srv) =>
      bulk(srv.store.get(a[1] as Buffer)),
    ),
  ],
  ['set', spec(-3, ['write'], [1, 1, 1], 'string', 'Sets a key: NX, XX, IFEQ (compare-and-set), GET.', set)],
  [
    'del',
    spec(-2, ['write'], [1, -1, 1], 'generic', 'Deletes keys; returns how many existed.', (a) => ({
      write: commands.del(...a.slice(1)),
      reply: writeReply((r) => integer(r.op === 'del' ? r.deleted : 0)),
    })),
  ],
  [
    'exists',
    spec(-2, ['readonly', 'fast'], [1, -1, 1], 'generic', 'Counts the given keys that exist.', (a, _s, srv) =>
      integer(a.slice(1).filter((k) => srv.store.has(k)).length),
    ),
  ],
  [
    'mget',
    spec(-2, ['readonly', 'fast'], [1, -1, 1], 'string', 'Returns the values of keys.', (a, _s, srv) =>
      bulkArray(a.slice(1).map((k) => srv.store.get(k))),
    ),
  ],
  [
    'mset',
    spec(-3, ['write'], [1, -1, 2], 'string', 'Sets several keys at once.', (a) =>
      a.length % 2 === 0
        ? error("ERR wrong number of arguments for 'mset' command")
        : { write: commands.mput(pairs(a)), reply: writeReply(() => OK) },
    ),
  ],
  ['incr', spec(2, ['write', 'fast'], [1, 1, 1], 'string', 'Adds 1 to an integer value.', (a) => incrBy(a, 1n, undefined))],
  [
    'decr',
    spec(2, ['write', 'fast'], [1, 1, 1], 'string', 'Subtracts 1 from an integer value.', (a) => incrBy(a, -1n, undefined)),
  ],
  ['incrby', spec(3, ['write', 'fast'], [1, 1, 1], 'string', 'Adds an integer to an integer value.', (a) => incrBy(a, 1n, a[2]))],
  [
    'decrby',
    spec(3, ['write', 'fast'], [1, 1, 1], 'string', 'Subtracts an integer from an integer value.', (a) => incrBy(a, -1n, a[2])),
  ],
  [
    'dbsize',
    spec(1, ['readonly', 'fast'], NO_KEYS, 'server', 'Returns the number of keys.', (_a, _s, srv) => integer(srv.store.size)),
  ],
  ['scan', spec(-2, ['readonly'], NO_KEYS, 'generic', 'Iterates over keys: SCAN cursor [MATCH pattern] [COUNT n].', scan)],
  ['keys', spec(2, ['readonly'], NO_KEYS, 'generic', 'Returns all keys matching a pattern.', keys)],
  [
    'flushdb',
    spec(-1, ['write'], NO_KEYS, 'server', 'Removes every key.', (a) =>
      a.length > 2 || (a.length === 2 && !['ASYNC', 'SYNC'].includes(upper(a[1])))
        ? SYNTAX
        : { write: commands.clear(), reply: writeReply(() => OK) },
    ),
  ],
  ['info', spec(-1, ['loading', 'stale'], NO_KEYS, 'server', 'Returns information about the server.', info)],
  ['debug', spec(-2, ['admin', 'stale'], NO_KEYS, 'server', 'DEBUG DIGEST: a digest of the whole keyspace.', debug)],
  [
    'command',
    spec(
      -1,
      ['loading', 'stale'],
      NO_KEYS,
      'server',
      'Describes the commands: COMMAND, COMMAND COUNT, COMMAND DOCS, COMMAND INFO.',
      command,
    ),
  ],
  [
    'config',
    spec(
      -2,
      ['admin', 'loading', 'stale'],
      NO_KEYS,
      'server',
      'CONFIG GET parameter...: the settings a client may ask for.',
      config,
    ),
  ],
  ['client', spec(-2, ['loading', 'stale'], NO_KEYS, 'connection', 'CLIENT SETNAME | GETNAME | ID.', client)],
  [
    'hello',
    spec(-1, ['fast', 'no-auth'], NO_KEYS, 'connection', 'Handshake: protocol 2 only, optional AUTH and SETNAME.', hello, true),
  ],
  [
    'select',
    spec(2, ['fast'], NO_KEYS, 'connection', 'Selects a database: only 0 exists.', (a) => {
      const db = parseInt64(a[1]);
      return db === undefined ? WRONG_INTEGER : db === 0n ? OK : error('ERR DB index is out of range');
    }),
  ],
  ['auth', spec(-2, ['fast', 'no-auth'], NO_KEYS, 'connection', 'Authenticates the connection.', auth, true)],
  [
    'session',
    spec(
      -2,
      ['write'],
      NO_KEYS,
      'distkv',
      'Exactly-once writes: SESSION OPEN, then SESSION id seq command [arg ...].',
      sessionCommand,
    ),
  ],
  ['quit', spec(-1, ['fast', 'no-auth'], NO_KEYS, 'connection', 'Closes the connection.', () => ({ close: OK }), true)],
]);
// #endregion table

function pairs(args: Buffer[]): Array<readonly [Buffer, Buffer]> {
  const out: Array<readonly [Buffer, Buffer]> = [];
  for (let i = 1; i + 1 < args.length; i += 2) out.push([args[i] as Buffer, args[i + 1] as Buffer]);
  return out;
}

function commandInfo(name: string, s: CommandSpec): Buffer {
  return array([
    bulk(name),
    integer(s.arity < 0 ? BigInt(s.arity) : s.arity),
    array(s.flags.map(simple)),
    integer(s.firstKey),
    integer(BigInt(s.lastKey)),
    integer(s.keyStep),
    EMPTY_ARRAY,
    EMPTY_ARRAY,
    EMPTY_ARRAY,
    EMPTY_ARRAY,
  ]);
}

function commandDocs(name: string, s: CommandSpec): Buffer[] {
  return [bulk(name), bulkArray(['summary', s.summary, 'since', '1.0.0', 'group', s.group])];
}

function command(args: Buffer[]): Outcome {
  const sub = upper(args[1]);
  const named = args.slice(2).map((a) => a.toString('latin1').toLowerCase());
  if (args.length === 1) return array([...commandTable].map(([n, s]) => commandInfo(n, s)));
  if (sub === 'COUNT') return integer(commandTable.size);
  if (sub === 'INFO') {
    const list = named.length === 0 ? [...commandTable.keys()] : named;
    return array(
      list.map((n) => {
        const s = commandTable.get(n);
        return s === undefined ? NIL : commandInfo(n, s);
      }),
    );
  }
  if (sub === 'DOCS') {
    const list = named.length === 0 ? [...commandTable.keys()] : named.filter((n) => commandTable.has(n));
    return array(list.flatMap((n) => commandDocs(n, commandTable.get(n) as CommandSpec)));
  }
  if (sub === 'LIST') return bulkArray([...commandTable.keys()]);
  return error(`ERR unknown subcommand '${args[1]?.toString('latin1') ?? ''}'. Try COMMAND HELP.`);
}

const NOAUTH = error('NOAUTH Authentication required.');

// #region dispatch
/** Looks a request up, checks auth and arity with Redis's exact error texts, and runs it. */
export function dispatch(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
  const name = (args[0] as Buffer).toString('latin1');
  const spec = commandTable.get(name.toLowerCase());
  if (!session.authenticated && spec?.noAuth !== true) return NOAUTH;
  if (spec === undefined) {
    let rest = '';
    for (let i = 1; i < args.length && rest.length < 128; i++) {
      rest += `'${(args[i] as Buffer).toString('latin1').slice(0, 128 - rest.length)}' `;
    }
    return error(`ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${rest}`);
  }
  if ((spec.arity > 0 && args.length !== spec.arity) || args.length < -spec.arity) {
    return error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
  }
  if (session.readOnly && spec.flags.includes('write')) return error(refuseWrite(session, server, name.toLowerCase()));
  return spec.handler(args, session, server);
}
// #endregion dispatch
