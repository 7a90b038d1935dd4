/**
 * The RESP command table and its dispatcher: every command the Redis port
 * serves, with Redis's arity, flags, key positions and summary (COMMAND and
 * client libraries read them), and `dispatch`, which checks auth, arity and
 * permission with Redis's exact error texts before running a handler.
 * The handlers live by what they touch: resp-data-commands.ts (the
 * keyspace), resp-server-commands.ts (the server and the connection);
 * SESSION stays here, since it wraps another command of this table.
 */
import { type Command, type CommandResult, commands, type Store } from '@distkv/core';
import { refuseWrite, type SecurityLimits, type UserTable } from './client-port-security.js';
import type { ServerLimits } from './limits.js';
import { parseInt64, SYNTAX, upper, WRONG_INTEGER, writeReply } from './resp-args.js';
import { incrBy, keys, pairs, scan, set } from './resp-data-commands.js';
import { copy, object, randomkey, rename, renamenx, touch, type } from './resp-key-commands.js';
import { auth, client, command, config, debug, hello, info } from './resp-server-commands.js';
import { bulk, bulkArray, error, integer, NIL, OK, PONG } from './resp-server-replies.js';
import { append, getdel, getrange, getset, incrbyfloat, lcs, msetnx, setnx, setrange, strlen } from './resp-string-commands.js';
import type { ScanCursors } from './scan-cursors.js';

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
  /** Passwords and permissions (--requirepass is the `default` user); see client-port-security.ts. */
  readonly users: UserTable;
  readonly securityLimits: Readonly<SecurityLimits>;
  readonly cursors: ScanCursors;
  readonly info: () => Record<string, Record<string, string | number>>;
  readonly config: () => Record<string, string>;
  /**
   * CONFIG SET: applies the (lower-case) name/value pairs, all or none;
   * undefined when done, else the reason (Redis's text, without `ERR `).
   */
  readonly setConfig: (pairs: ReadonlyArray<readonly [string, string]>) => string | undefined;
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
  [
    'scan',
    spec(-2, ['readonly'], NO_KEYS, 'generic', 'Iterates over keys: SCAN cursor [MATCH pattern] [COUNT n] [TYPE string].', scan),
  ],
  ['keys', spec(2, ['readonly'], NO_KEYS, 'generic', 'Returns all keys matching a pattern.', keys)],
  [
    'flushdb',
    spec(-1, ['write'], NO_KEYS, 'server', 'Removes every key.', (a) =>
      a.length > 2 || (a.length === 2 && !['ASYNC', 'SYNC'].includes(upper(a[1])))
        ? SYNTAX
        : { write: commands.clear(), reply: writeReply(() => OK) },
    ),
  ],
  [
    'flushall',
    spec(-1, ['write'], NO_KEYS, 'server', 'Removes every key (there is one database).', (a) =>
      a.length > 2 || (a.length === 2 && !['ASYNC', 'SYNC'].includes(upper(a[1])))
        ? SYNTAX
        : { write: commands.clear(), reply: writeReply(() => OK) },
    ),
  ],
  // #region string-commands
  ['setnx', spec(3, ['write', 'denyoom', 'fast'], [1, 1, 1], 'string', 'Sets a key only if it does not exist.', setnx)],
  ['getset', spec(3, ['write', 'denyoom', 'fast'], [1, 1, 1], 'string', 'Sets a key and returns its old value.', getset)],
  ['getdel', spec(2, ['write', 'fast'], [1, 1, 1], 'string', 'Returns the value of a key and deletes the key.', getdel)],
  ['append', spec(3, ['write', 'denyoom', 'fast'], [1, 1, 1], 'string', 'Appends a value to a key.', append)],
  ['strlen', spec(2, ['readonly', 'fast'], [1, 1, 1], 'string', 'Returns the length of a value.', strlen)],
  ['getrange', spec(4, ['readonly'], [1, 1, 1], 'string', 'Returns a substring of a value.', getrange)],
  ['substr', spec(4, ['readonly'], [1, 1, 1], 'string', 'Returns a substring of a value (GETRANGE).', getrange)],
  ['setrange', spec(4, ['write', 'denyoom'], [1, 1, 1], 'string', 'Overwrites part of a value from an offset.', setrange)],
  ['incrbyfloat', spec(3, ['write', 'denyoom', 'fast'], [1, 1, 1], 'string', 'Adds a float to a float value.', incrbyfloat)],
  ['msetnx', spec(-3, ['write', 'denyoom'], [1, -1, 2], 'string', 'Sets several keys only if none exists.', msetnx)],
  ['lcs', spec(-3, ['readonly'], [1, 2, 1], 'string', 'Finds the longest common subsequence of two values.', lcs)],
  // #endregion string-commands
  // #region key-commands
  ['type', spec(2, ['readonly', 'fast'], [1, 1, 1], 'generic', 'Returns the type of a key: string or none.', type)],
  ['rename', spec(3, ['write'], [1, 2, 1], 'generic', 'Renames a key, replacing the new name.', rename)],
  ['renamenx', spec(3, ['write', 'fast'], [1, 2, 1], 'generic', 'Renames a key only if the new name does not exist.', renamenx)],
  [
    'unlink',
    spec(-2, ['write', 'fast'], [1, -1, 1], 'generic', 'Deletes keys (as DEL); returns how many existed.', (a) => ({
      write: commands.del(...a.slice(1)),
      reply: writeReply((r) => integer(r.op === 'del' ? r.deleted : 0)),
    })),
  ],
  [
    'touch',
    spec(-2, ['readonly', 'fast'], [1, -1, 1], 'generic', 'Counts the given keys that exist (no access clock to update).', touch),
  ],
  ['copy', spec(-3, ['write', 'denyoom'], [1, 2, 1], 'generic', 'Copies a value to another key: [DB 0] [REPLACE].', copy)],
  ['randomkey', spec(1, ['readonly'], NO_KEYS, 'generic', 'Returns a random key.', randomkey)],
  [
    'object',
    spec(-2, ['readonly'], [2, 2, 1], 'generic', 'OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT key, OBJECT HELP.', object),
  ],
  // #endregion key-commands
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
      (a) => command(a, commandTable),
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
  // #pause dispatch
  if (session.readOnly && spec.flags.includes('write')) return error(refuseWrite(session, server, name.toLowerCase()));
  // #resume dispatch
  return spec.handler(args, session, server);
}
// #endregion dispatch
