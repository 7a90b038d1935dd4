/**
 * Redis's string commands beyond GET/SET/MSET/INCR: the writes map onto
 * core ops (SETNX and GETSET onto put, GETDEL onto del with
 * returnPrevious, MSETNX onto mput with ifNoneExist, and APPEND, SETRANGE,
 * INCRBYFLOAT onto their own ops), so they replicate and log like SET; the
 * reads (STRLEN, GETRANGE/SUBSTR, LCS) answer from the store after the
 * read barrier, as GET does. Replies and error texts are Redis 7's.
 */
import { commands } from '@distkv/core';
import { parseInt64, SYNTAX, upper, WRONG_INTEGER, writeReply } from './resp-args.js';
import type { Outcome, ServerContext, SessionState } from './resp-commands.js';
import { pairs } from './resp-data-commands.js';
import { array, bulk, EMPTY_BULK, error, integer, NIL } from './resp-server-replies.js';

/** Redis's reply when a string would outgrow proto-max-bulk-len (distkv's valueBytesMax). */
export const STRING_TOO_LARGE = error('ERR string exceeds maximum allowed size (proto-max-bulk-len)');

export function setnx(args: Buffer[]): Outcome {
  return {
    write: commands.put(args[1] as Buffer, args[2] as Buffer, { when: 'ifAbsent' }),
    reply: writeReply((r) => integer(r.op === 'put' && r.written ? 1 : 0)),
  };
}

export function getset(args: Buffer[]): Outcome {
  return {
    write: commands.put(args[1] as Buffer, args[2] as Buffer, { returnPrevious: true }),
    reply: writeReply((r) => (r.op === 'put' ? bulk(r.previous) : NIL)),
  };
}

export function getdel(args: Buffer[]): Outcome {
  return {
    write: commands.getDel(args[1] as Buffer),
    reply: writeReply((r) => (r.op === 'del' ? bulk(r.previous) : NIL)),
  };
}

export function msetnx(args: Buffer[]): Outcome {
  if (args.length % 2 === 0) return error("ERR wrong number of arguments for 'msetnx' command");
  return {
    write: commands.mput(pairs(args), { ifNoneExist: true }),
    reply: writeReply((r) => integer(r.op === 'mput' && r.written > 0 ? 1 : 0)),
  };
}

export function append(args: Buffer[]): Outcome {
  return {
    write: commands.append(args[1] as Buffer, args[2] as Buffer),
    reply: writeReply((r) => integer(r.op === 'append' ? r.length : 0)),
  };
}

// #region setrange
export function setrange(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  const offset = parseInt64(args[2]);
  const value = args[3] as Buffer;
  if (offset === undefined) return WRONG_INTEGER;
  if (offset < 0n) return error('ERR offset is out of range');
  // An empty value changes nothing, whatever the offset; otherwise the end must fit a value. Checked
  // here too, so that no offset beyond 2^53 reaches a command, and the store checks it again.
  if (value.length > 0 && offset + BigInt(value.length) > BigInt(server.store.limits.valueBytesMax)) return STRING_TOO_LARGE;
  return {
    write: commands.setRange(args[1] as Buffer, value.length === 0 ? 0 : Number(offset), value),
    reply: writeReply((r) => integer(r.op === 'setRange' ? r.length : 0)),
  };
}
// #endregion setrange

export function incrbyfloat(args: Buffer[]): Outcome {
  return {
    write: commands.incrByFloat(args[1] as Buffer, args[2] as Buffer),
    reply: writeReply((r) => (r.op === 'incrByFloat' ? bulk(r.value) : NIL)),
  };
}

export function strlen(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  return integer(server.store.get(args[1] as Buffer)?.length ?? 0);
}

/** GETRANGE key start end (and its old name SUBSTR): Redis's clamping of negative and out-of-range ends. */
export function getrange(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  let start = parseInt64(args[2]);
  let end = parseInt64(args[3]);
  if (start === undefined || end === undefined) return WRONG_INTEGER;
  const value = server.store.get(args[1] as Buffer);
  if (value === undefined) return EMPTY_BULK;
  const length = BigInt(value.length);
  if (start < 0n && end < 0n && start > end) return EMPTY_BULK;
  if (start < 0n) start += length;
  if (end < 0n) end += length;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= length) end = length - 1n;
  if (start > end || length === 0n) return EMPTY_BULK;
  return bulk(value.subarray(Number(start), Number(end) + 1));
}

// #region lcs
/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: Redis's dynamic
 * programme, with its table of (|a|+1)(|b|+1) 32-bit cells bounded as
 * Redis bounds it, by proto-max-bulk-len (valueBytesMax), before allocating.
 */
export function lcs(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  let getLength = false;
  let getIndexes = false;
  let withMatchLength = false;
  let minMatchLength = 0n;
  for (let i = 3; i < args.length; i++) {
    const option = upper(args[i]);
    if (option === 'IDX') getIndexes = true;
    else if (option === 'LEN') getLength = true;
    else if (option === 'WITHMATCHLEN') withMatchLength = true;
    else if (option === 'MINMATCHLEN' && i + 1 < args.length) {
      const n = parseInt64(args[++i]);
      if (n === undefined) return WRONG_INTEGER;
      minMatchLength = n < 0n ? 0n : n;
    } else return SYNTAX;
  }
  if (getIndexes && getLength) return error('ERR If you want both the length and indexes, please just use IDX.');
  const a = server.store.get(args[1] as Buffer) ?? Buffer.alloc(0);
  const b = server.store.get(args[2] as Buffer) ?? Buffer.alloc(0);
  const width = b.length + 1;
  const cells = (a.length + 1) * width;
  if (cells * 4 > server.store.limits.valueBytesMax)
    return error('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  const table = new Uint32Array(cells);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i * width + j] =
        a[i - 1] === b[j - 1]
          ? (table[(i - 1) * width + j - 1] as number) + 1
          : Math.max(table[(i - 1) * width + j] as number, table[i * width + j - 1] as number);
    }
  }
  const total = table[a.length * width + b.length] as number;
  if (getLength) return integer(total);
  // Walk back from the end, collecting the common bytes and the matching ranges as Redis emits them.
  const common = Buffer.alloc(total);
  const matches: Buffer[] = [];
  let index = total;
  let i = a.length;
  let j = b.length;
  let aStart = -1;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      common[index - 1] = a[i - 1] as number;
      if (aStart === -1) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      index--;
      i--;
      j--;
    } else {
      if ((table[(i - 1) * width + j] as number) > (table[i * width + j - 1] as number)) i--;
      else j--;
      if (aStart !== -1) emit = true;
    }
    if (emit) {
      const matchLength = aEnd - aStart + 1;
      if (minMatchLength === 0n || BigInt(matchLength) >= minMatchLength) {
        const ranges = [array([integer(aStart), integer(aEnd)]), array([integer(bStart), integer(bEnd)])];
        matches.push(array(withMatchLength ? [...ranges, integer(matchLength)] : ranges));
      }
      aStart = -1;
    }
  }
  if (!getIndexes) return bulk(common);
  return array([bulk('matches'), array(matches), bulk('len'), integer(total)]);
}
// #endregion lcs
