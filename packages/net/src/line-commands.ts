import { commands } from '@distkv/core';
import { authenticate, lineAuthArguments, refuseWrite, TOO_MANY_AUTH_FAILURES } from './client-port-security.js';
import type { Outcome, ServerContext, SessionState } from './resp-commands.js';

const OK = Buffer.from('OK\n');
const NOT_FOUND = Buffer.from('NOT_FOUND\n');
const UNKNOWN = Buffer.from('ERROR UNKNOWN COMMAND\n');
const PONG = Buffer.from('PONG\n');
const END = Buffer.from('END\n');
const NOAUTH = Buffer.from('ERROR NOAUTH AUTHENTICATION REQUIRED\n');
const WRONGPASS = Buffer.from('ERROR WRONGPASS\n');
const NO_REPLY = Buffer.alloc(0);

function usage(text: string): Buffer {
  return Buffer.from(`ERROR USAGE: ${text}\n`);
}

/** Next space-delimited word of line from `from`: [start, end), skipping leading spaces. */
function word(line: Buffer, from: number): [number, number] {
  let start = from;
  while (start < line.length && (line[start] === 32 || line[start] === 9)) start++;
  let end = start;
  while (end < line.length && line[end] !== 32 && line[end] !== 9) end++;
  return [start, end];
}

function lineOf(value: Buffer): Buffer {
  if (value.includes(10) || value.includes(13)) return Buffer.from('ERROR VALUE CONTAINS A LINE BREAK, USE RESP\n');
  return Buffer.concat([value, Buffer.from('\n')]);
}

/** True for the requests that change the store (they must wait behind nothing, and reads wait behind them). */
export function isLineWrite(line: Buffer): boolean {
  const [s, e] = word(line, 0);
  const name = line.toString('latin1', s, e).toUpperCase();
  return name === 'PUT' || name === 'DEL';
}

// #region line-dispatch
/**
 * The seed's protocol: `PUT k v` → OK, `GET k` → the value or NOT_FOUND,
 * `DEL k` → OK or NOT_FOUND, `QUIT`, anything else → ERROR UNKNOWN COMMAND.
 * A value is the rest of the line, spaces included. Added: SIZE, SCAN
 * prefix (one key per line, then END), PING, and AUTH for --requirepass.
 */
export function lineDispatch(line: Buffer, session: SessionState, server: ServerContext): Outcome | undefined {
  const [cs, ce] = word(line, 0);
  if (cs === ce) return undefined; // blank line: no reply
  const name = line.toString('latin1', cs, ce).toUpperCase();
  const [ks, ke] = word(line, ce);
  const key = line.subarray(ks, ke);
  if (name === 'QUIT') return { close: NO_REPLY };
  if (name === 'AUTH') {
    if (!server.users.required) return WRONGPASS;
    const { user, password } = lineAuthArguments(line.subarray(ks), server.users);
    const verdict = authenticate(session, server, user, password);
    if (verdict === 'closed') return { close: Buffer.from(`ERROR ${TOO_MANY_AUTH_FAILURES.toUpperCase()}\n`) };
    return verdict === 'ok' ? OK : WRONGPASS;
  }
  if (!session.authenticated) return NOAUTH;
  // #pause line-dispatch
  if (session.readOnly && (name === 'PUT' || name === 'DEL')) {
    return Buffer.from(`ERROR ${refuseWrite(session, server, name.toLowerCase())}\n`);
  }
  // #resume line-dispatch
  switch (name) {
    case 'PUT': {
      let vs = ke;
      while (vs < line.length && (line[vs] === 32 || line[vs] === 9)) vs++;
      if (key.length === 0 || vs >= line.length) return usage('PUT <key> <value>');
      return { write: commands.put(key, line.subarray(vs)), reply: (r) => (r.ok ? OK : Buffer.from(`ERROR ${r.code}\n`)) };
    }
    case 'GET': {
      if (key.length === 0) return usage('GET <key>');
      const value = server.store.get(key);
      return value === undefined ? NOT_FOUND : lineOf(value);
    }
    case 'DEL':
      if (key.length === 0) return usage('DEL <key>');
      return {
        write: commands.del(key),
        reply: (r) =>
          r.ok && r.op === 'del' ? (r.deleted > 0 ? OK : NOT_FOUND) : Buffer.from(`ERROR ${r.ok ? 'DEL' : r.code}\n`),
      };
    case 'SIZE':
      return Buffer.from(`${server.store.size}\n`);
    case 'PING':
      return PONG;
    case 'SCAN': {
      const entries = server.store.scan({ prefix: key, limit: server.store.limits.scanLimitMax });
      const lines = entries
        .filter(([k]) => !k.includes(10) && !k.includes(13))
        .map(([k]) => Buffer.concat([k, Buffer.from('\n')]));
      return Buffer.concat([...lines, END]);
    }
    default:
      return UNKNOWN;
  }
}
// #endregion line-dispatch
