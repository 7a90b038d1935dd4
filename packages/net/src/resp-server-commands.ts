/**
 * The RESP commands about the server and the connection rather than the
 * data: INFO, DEBUG DIGEST, CONFIG GET, CLIENT, AUTH, HELLO and COMMAND.
 * They answer what Redis clients and tools ask before or beside their real
 * work (redis-cli's HELLO and COMMAND DOCS, a client library's CLIENT
 * SETINFO, a monitor's INFO), with Redis 7's replies.
 */
import { authenticate, refuseWrite, TOO_MANY_AUTH_FAILURES } from './client-port-security.js';
import { matcher, parseInt64, SYNTAX, upper } from './resp-args.js';
import type { CommandSpec, Outcome, ServerContext, SessionState } from './resp-commands.js';
import { array, bulk, bulkArray, EMPTY_ARRAY, error, integer, NIL, OK, simple } from './resp-server-replies.js';

/** The Redis version distkv answers to clients that check one (the commands it implements behave as in 7.2). */
export const REDIS_COMPAT_VERSION = '7.2.0';

export function info(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
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
export function debug(args: Buffer[], _session: SessionState, server: ServerContext): Outcome {
  if (upper(args[1]) === 'DIGEST' && args.length === 2) return simple(server.store.digest());
  return error(`ERR DEBUG subcommand '${args[1]?.toString('latin1') ?? ''}' is not supported: distkv has DEBUG DIGEST`);
}

export function config(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
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
  if (sub === 'SET') {
    if (args.length < 4 || args.length % 2 !== 0) return error("ERR wrong number of arguments for 'config|set' command");
    // Not replicated: like Redis's, it changes the node it is sent to. A read-only user may not.
    if (session.readOnly) return error(refuseWrite(session, server, 'config|set'));
    const pairs: Array<[string, string]> = [];
    for (let i = 2; i < args.length; i += 2)
      pairs.push([(args[i] as Buffer).toString('latin1').toLowerCase(), (args[i + 1] as Buffer).toString('latin1')]);
    const refused = server.setConfig(pairs);
    return refused === undefined ? OK : error(`ERR ${refused}`);
  }
  if (sub === 'REWRITE')
    return error(
      'ERR distkv does not support CONFIG REWRITE: it has no config file of its own to rewrite (pass flags or --config)',
    );
  return error(`ERR unknown subcommand '${args[1]?.toString('latin1') ?? ''}'. Try CONFIG HELP.`);
}

export function client(args: Buffer[], session: SessionState): Outcome {
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

export function auth(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
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

export function hello(args: Buffer[], session: SessionState, server: ServerContext): Outcome {
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

/** COMMAND [COUNT | INFO name... | DOCS name... | LIST], describing `table` (the command table). */
export function command(args: Buffer[], table: ReadonlyMap<string, CommandSpec>): Outcome {
  const sub = upper(args[1]);
  const named = args.slice(2).map((a) => a.toString('latin1').toLowerCase());
  if (args.length === 1) return array([...table].map(([n, s]) => commandInfo(n, s)));
  if (sub === 'COUNT') return integer(table.size);
  if (sub === 'INFO') {
    const list = named.length === 0 ? [...table.keys()] : named;
    return array(
      list.map((n) => {
        const s = table.get(n);
        return s === undefined ? NIL : commandInfo(n, s);
      }),
    );
  }
  if (sub === 'DOCS') {
    const list = named.length === 0 ? [...table.keys()] : named.filter((n) => table.has(n));
    return array(list.flatMap((n) => commandDocs(n, table.get(n) as CommandSpec)));
  }
  if (sub === 'LIST') return bulkArray([...table.keys()]);
  return error(`ERR unknown subcommand '${args[1]?.toString('latin1') ?? ''}'. Try COMMAND HELP.`);
}
