/**
 * The RESP data commands whose handlers need more than a line in the
 * command table: SET with its options, INCRBY/DECRBY, SCAN and KEYS.
 * Reads answer from the store at once; writes return a core `Command` for
 * the backend and a function that turns its result into Redis's reply.
 * The table itself (resp-commands.ts) holds the one-line ones (GET, DEL,
 * MGET, ...).
 */
import { commands } from '@distkv/core';
import { globPrefix } from './glob.js';
import { INT64_MIN, matcher, parseInt64, SYNTAX, upper, WRONG_INTEGER, writeReply } from './resp-args.js';
import type { Outcome, ServerContext, SessionState } from './resp-commands.js';
import { array, bulk, bulkArray, error, integer, NIL, OK } from './resp-server-replies.js';

const UNSUPPORTED_SET_OPTIONS = new Set(['EX', 'PX', 'EXAT', 'PXAT', 'KEEPTTL']);

// #region set
/** SET key value [NX | XX | IFEQ expected] [GET]; expiry options are refused, not ignored. */
export function set(args: Buffer[]): Outcome {
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

export function incrBy(args: Buffer[], sign: 1n | -1n, deltaArg: Buffer | undefined): Outcome {
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

// #region scan
export function scan(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
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

export function keys(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
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

/** MSET's arguments as key/value pairs (the table checked that they pair up). */
export function pairs(args: Buffer[]): Array<readonly [Buffer, Buffer]> {
  const out: Array<readonly [Buffer, Buffer]> = [];
  for (let i = 1; i + 1 < args.length; i += 2) out.push([args[i] as Buffer, args[i + 1] as Buffer]);
  return out;
}
