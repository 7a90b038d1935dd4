import { Client, commandTable } from '@distkv/net';
import { type Command, Option } from 'commander';
import { Session } from '../follow.js';
import { lineConversation, respConversation, runRepl } from '../repl.js';

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

interface ClientFlags {
  command?: string;
  line?: boolean;
  password?: string;
  timeoutMs: number;
  json?: boolean;
  follow: boolean;
  endpoints?: string;
  leaderWaitMs: number;
}

export function registerClientCommand(program: Command): void {
  program
    .command('client')
    .description('talk to distkv: an interactive prompt, or one command with -c; follows the leader of a cluster')
    .argument('[address]', 'host:port of the server', '127.0.0.1:6380')
    .option('-c, --command <command>', 'run one command, print its reply, exit (1 on an error reply)')
    .option('--json', 'print each reply as one JSON value per line (errors as {"error": "..."}), no prompt')
    .option('--endpoints <list>', 'more host:port addresses to ask for the leader when the first is down')
    .option('--no-follow', 'stay on the given node instead of moving to the leader')
    .addOption(
      new Option('--leader-wait-ms <ms>', 'how long a command waits for an election to name a leader')
        .default(10_000)
        .argParser(Number),
    )
    .option(
      '--line',
      "speak the seed's line protocol (PUT/GET/DEL), to a server's --line-port, instead of RESP (no leader following)",
    )
    .option('-a, --password <password>', 'AUTH with this password on connecting')
    .addOption(new Option('--timeout-ms <ms>', 'per request').default(10_000).argParser(Number))
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  distkv client 127.0.0.1:7001',
        '  distkv client 127.0.0.1:7002 -c "SET greeting hello"     # sent to the leader, wherever it is',
        '  distkv client 127.0.0.1:7001 --endpoints 127.0.0.1:7002,127.0.0.1:7003 --json -c "MGET a b"',
        '  echo "GET greeting" | distkv client 127.0.0.1:7003 --json',
        '  distkv client 127.0.0.1:12345 --line                      # the seed protocol (distkv server --line-port 12345)',
      ].join('\n'),
    )
    .action(async (address: string, flags: ClientFlags) => {
      const first = parseAddress(address);
      if (flags.line) {
        const client = new Client({
          ...first,
          protocol: 'line',
          timeoutMs: flags.timeoutMs,
          reconnect: { attemptsMax: 1 },
          ...(flags.password === undefined ? {} : { password: flags.password }),
        });
        process.exitCode = await runRepl(lineConversation(client), {
          names: LINE_COMMANDS,
          ...(flags.command === undefined ? {} : { command: flags.command }),
        });
        return;
      }
      const more = flags.endpoints === undefined ? [] : flags.endpoints.split(',').map((a) => parseAddress(a.trim()));
      const session = new Session({
        seeds: [first, ...more],
        follow: flags.follow,
        password: flags.password,
        timeoutMs: flags.timeoutMs,
        leaderWaitMs: flags.leaderWaitMs,
        onMove: (line) => {
          if (!flags.json) process.stderr.write(`${line}\n`);
        },
      });
      // Start on the leader; a node that does not answer now is retried on the first command.
      await session.findLeader();
      process.exitCode = await runRepl(respConversation(session, { json: flags.json === true }), {
        names: [...commandTable.keys()].map((n) => n.toUpperCase()),
        ...(flags.command === undefined ? {} : { command: flags.command }),
      });
    });
}
