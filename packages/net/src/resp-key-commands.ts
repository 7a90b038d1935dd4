/**
 * Redis's generic key commands: TYPE, RENAME/RENAMENX, UNLINK, TOUCH,
 * COPY, RANDOMKEY and OBJECT. Every distkv value is a string, so TYPE says
 * `string` or `none`, and OBJECT answers from the value alone. TOUCH is a
 * read here: distkv keeps no access clock (an LRU/LFU policy would need
 * one), so touching a key changes nothing and only counts what exists.
 */
import { commands } from '@distkv/core';
import { parseInt64, SYNTAX, upper, WRONG_INTEGER, writeReply } from './resp-args.js';
import type { Outcome, ServerContext, SessionState } from './resp-commands.js';
import { array, bulk, error, integer, NIL, OK, simple } from './resp-server-replies.js';

const INT64_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function type(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  return simple(server.store.has(args[1] as Buffer) ? 'string' : 'none');
}

export function rename(args: Buffer[]): Outcome {
  return {
    write: commands.rename(args[1] as Buffer, args[2] as Buffer),
    reply: writeReply(() => OK),
  };
}

export function renamenx(args: Buffer[]): Outcome {
  return {
    write: commands.rename(args[1] as Buffer, args[2] as Buffer, { nx: true }),
    reply: writeReply((r) => integer(r.op === 'rename' && r.renamed ? 1 : 0)),
  };
}

export function touch(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  return integer(args.slice(1).filter((k) => server.store.has(k)).length);
}

/** COPY source destination [DB n] [REPLACE]: only database 0 exists, as SELECT says. */
export function copy(args: Buffer[]): Outcome {
  let replace = false;
  for (let i = 3; i < args.length; i++) {
    const option = upper(args[i]);
    if (option === 'REPLACE') replace = true;
    else if (option === 'DB' && i + 1 < args.length) {
      const db = parseInt64(args[++i]);
      if (db === undefined || db < -(2n ** 31n) || db >= 2n ** 31n) return WRONG_INTEGER;
      if (db !== 0n) return error('ERR DB index is out of range');
    } else return SYNTAX;
  }
  return {
    write: commands.copy(args[1] as Buffer, args[2] as Buffer, { replace }),
    reply: writeReply((r) => integer(r.op === 'copy' && r.copied ? 1 : 0)),
  };
}

// #region randomkey
/**
 * A key from a random point of the key order: the first key at or after
 * random bytes, or the first key when none is. Not uniform (a key after a
 * wide gap is likelier), as Redis's is not either, and O(log n).
 */
export function randomkey(_args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  if (server.store.size === 0) return NIL;
  const start = Buffer.from([Math.floor(Math.random() * 256), Math.floor(Math.random() * 256)]);
  const [entry] = server.store.scan({ start, limit: 1 });
  const [first] = entry === undefined ? server.store.scan({ limit: 1 }) : [entry];
  return bulk(first?.[0]);
}
// #endregion randomkey

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

/** Redis's tryObjectEncoding on a value: a 64-bit integer of at most 20 bytes is `int`, up to 44 bytes `embstr`. */
export function stringEncoding(value: Buffer): 'int' | 'embstr' | 'raw' {
  if (value.length <= 20) {
    const text = value.toString('latin1');
    if (INT64_TEXT.test(text)) {
      const n = BigInt(text);
      if (n >= INT64_MIN && n <= INT64_MAX) return 'int';
    }
  }
  return value.length <= 44 ? 'embstr' : 'raw';
}

// #region object
/**
 * OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT key, and OBJECT HELP, as
 * Redis answers under its default maxmemory-policy (noeviction): FREQ is
 * an error (no LFU policy), IDLETIME is 0 (distkv keeps no access clock,
 * so every key counts as just used), REFCOUNT is Redis's shared-integer
 * answer for 0-9999 and 1 otherwise. An absent key is nil.
 */
export function object(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  const sub = upper(args[1]);
  if (sub === 'HELP') {
    if (args.length !== 2) return error("ERR wrong number of arguments for 'object|help' command");
    return array(OBJECT_HELP.map(simple));
  }
  if (!['ENCODING', 'FREQ', 'IDLETIME', 'REFCOUNT'].includes(sub))
    return error(`ERR unknown subcommand '${(args[1] as Buffer).toString('latin1').slice(0, 128)}'. Try OBJECT HELP.`);
  if (args.length !== 3) return error(`ERR wrong number of arguments for 'object|${sub.toLowerCase()}' command`);
  const value = server.store.get(args[2] as Buffer);
  if (value === undefined) return NIL;
  if (sub === 'ENCODING') return bulk(stringEncoding(value));
  if (sub === 'IDLETIME') return integer(0);
  if (sub === 'REFCOUNT') {
    const shared =
      stringEncoding(value) === 'int' && BigInt(value.toString('latin1')) >= 0n && BigInt(value.toString('latin1')) < 10000n;
    return integer(shared ? 2147483647 : 1);
  }
  return error(
    'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  );
}
// #endregion object
