import { Client, commandTable } from '@distkv/net';
import { type Command, Option } from 'commander';
import { runRepl } from '../repl.js';

interface ClientFlags {
  command?: string;
  line?: boolean;
  password?: string;
  timeoutMs: number;
}

/** "host:port", "host", ":port" or "port" → both parts (defaults 127.0.0.1:6380). */
export function parseAddress(text: string | undefined): { host: string; port: number } {
  if (text === undefined || text === '') return { host: '127.0.0.1', port: 6380 };
  const match = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text);
  if (match === null) throw new Error(`not an address: ${text} (expected host:port)`);
  const host = match[1] ?? match[2] ?? '';
  if (/^\d+$/.test(host) && match[3] === undefined) return { host: '127.0.0.1', port: Number(host) };
  return { host: host === '' ? '127.0.0.1' : host, port: match[3] === undefined ? 6380 : Number(match[3]) };
}

export const LINE_COMMANDS = ['PUT', 'GET', 'DEL', 'SIZE', 'SCAN', 'PING', 'AUTH', 'QUIT'];

export function registerClientCommand(program: Command): void {
  program
    .command('client')
    .description('talk to a distkv server: an interactive prompt, or one command with -c')
    .argument('[address]', 'host:port of the server', '127.0.0.1:6380')
    .option('-c, --command <command>', 'run one command, print its reply, exit (1 on an error reply)')
    .option('--line', "speak the seed's line protocol (PUT/GET/DEL) instead of RESP")
    .option('-a, --password <password>', 'AUTH with this password on connecting')
    .addOption(new Option('--timeout-ms <ms>', 'per request').default(10_000).argParser(Number))
    .action(async (address: string, flags: ClientFlags) => {
      const { host, port } = parseAddress(address);
      const client = new Client({
        host,
        port,
        protocol: flags.line ? 'line' : 'resp',
        timeoutMs: flags.timeoutMs,
        reconnect: { attemptsMax: 1 },
        ...(flags.password === undefined ? {} : { password: flags.password }),
      });
      const names = flags.line ? LINE_COMMANDS : [...commandTable.keys()].map((n) => n.toUpperCase());
      process.exitCode = await runRepl(client, {
        names,
        ...(flags.command === undefined ? {} : { command: flags.command }),
      });
    });
}
