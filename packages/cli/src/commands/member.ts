import { type Command, InvalidArgumentError, Option } from 'commander';
import { commandGroup, integer } from './arguments.js';
import {
  byId,
  type ChangeRequest,
  changeMembers,
  findLeader,
  findMembers,
  type MemberRow,
  type MembersAnswer,
  MembersError,
  parseAuth,
  useAdminAuth,
} from './members-api.js';
import { defaultEndpoints } from './status.js';

interface MemberFlags {
  endpoints: string;
  auth?: string;
  timeoutMs: number;
  json?: boolean;
  learner?: boolean;
}

const endpointsHelp = 'host:port[,host:port...] client or admin addresses of any members, to find the leader from';

/** `host:port` or `[v6]:port`, as a peer address is given to `member add`. */
function peerAddress(text: string): string {
  const m = /^(?:\[[^\]\s]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[1]);
  if (m === null || port < 1 || port > 65_535)
    throw new InvalidArgumentError(`"${text}" is not host:port (the new node's peer port)`);
  return text;
}

function withEndpointFlags(command: Command, timeoutHelp: string): Command {
  return command
    .option('--endpoints <list>', endpointsHelp, defaultEndpoints.join(','))
    .addOption(
      new Option(
        '--auth <user:password>',
        'HTTP Basic credentials of a read-write user, for nodes started with --user or --requirepass',
      ).argParser(parseAuth),
    )
    .hook('preAction', (cmd) => useAdminAuth((cmd.opts() as MemberFlags).auth))
    .addOption(new Option('--timeout-ms <ms>', timeoutHelp).default(10_000).argParser(integer('--timeout-ms', 1, 600_000)));
}

// #region member-list
/** `distkv member list`: the table, with the leader, term and configuration index above it. */
export function formatMembers(answer: MembersAnswer, from: string): string {
  const show = (v: string | number | null): string => (v === null || v === '' ? '-' : String(v));
  const role = (m: MemberRow): string =>
    m.role === 'learner'
      ? m.autoPromote
        ? 'learner (auto-promote)'
        : 'learner'
      : m.id === answer.leader
        ? 'voter (leader)'
        : 'voter';
  const table = [
    ['ID', 'ROLE', 'SELF', 'PEER', 'CLIENT', 'ADMIN', 'MATCH', 'LAG', 'LAST CONTACT'],
    ...[...answer.members]
      .sort(byId)
      .map((m) => [
        m.id,
        role(m),
        m.self ? 'yes' : '',
        show(m.peerAddress),
        show(m.clientAddress),
        show(m.httpAddress),
        show(m.match),
        show(m.lag),
        m.self ? '-' : m.lastContactMs === null ? '-' : `${m.lastContactMs}ms ago`,
      ]),
  ];
  const widths = table[0]?.map((_, c) => Math.max(...table.map((line) => line[c]?.length ?? 0))) ?? [];
  const lines = table.map((line) =>
    line
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const voters = answer.members.filter((m) => m.role === 'voter').length;
  const learners = answer.members.length - voters;
  const head = `leader ${answer.leader ?? '(none known)'}, term ${answer.term}, configuration index ${answer.confIndex}: ${voters} voter${voters === 1 ? '' : 's'}, ${learners} learner${learners === 1 ? '' : 's'} (as ${from} sees it)`;
  return `${head}\n${lines.join('\n')}\n`;
}
// #endregion member-list

/** The list from the leader when one is known (only it knows match and lag), else from any node that answers. */
async function list(flags: MemberFlags): Promise<{ from: string; answer: MembersAnswer }> {
  try {
    const { url, answer } = await findLeader(flags.endpoints, Date.now() + Math.min(flags.timeoutMs, 2_000));
    return { from: url, answer };
  } catch (err) {
    if (!(err instanceof MembersError) || /no node answered|no admin endpoint answered/.test(err.message)) throw err;
    return findMembers(flags.endpoints);
  }
}

function fail(name: string, err: unknown): void {
  if (!(err instanceof MembersError) && !(err instanceof InvalidArgumentError)) throw err;
  process.stderr.write(`distkv member ${name}: ${err.message}\n`);
  process.exitCode = 1;
}

async function change(name: string, request: ChangeRequest, flags: MemberFlags, say: (a: MembersAnswer) => string) {
  try {
    const { answer } = await changeMembers(flags.endpoints, request, flags.timeoutMs);
    process.stdout.write(flags.json ? `${JSON.stringify(answer)}\n` : `${say(answer)}\n`);
  } catch (err) {
    fail(name, err);
  }
}

const votersOf = (a: MembersAnswer): string =>
  [...a.members]
    .sort(byId)
    .filter((m) => m.role === 'voter')
    .map((m) => m.id)
    .join(',');

// #region register-member
export function registerMemberCommand(program: Command): void {
  const member = commandGroup(
    program,
    'member',
    'membership: list, add, remove and promote members (the admin API, /v1/members)',
    ['distkv member list', 'distkv member add n4 127.0.0.1:7104', 'distkv member remove n2', 'distkv member promote n4'],
  );
  withEndpointFlags(
    member
      .command('list')
      .description('the members: id, role (voter or learner), addresses, match index and lag (from the leader), last contact')
      .option('--json', 'print the admin API\'s answer: {"leader", "term", "confIndex", "members": [...]}'),
    'give up finding the leader after this long',
  )
    .addHelpText(
      'after',
      ['', 'Examples:', '  distkv member list', '  distkv member list --endpoints 127.0.0.1:7201 --json'].join('\n'),
    )
    .action(async (flags: MemberFlags) => {
      try {
        const { from, answer } = await list(flags);
        process.stdout.write(flags.json ? `${JSON.stringify(answer)}\n` : formatMembers(answer, from));
      } catch (err) {
        fail('list', err);
      }
    });
  withEndpointFlags(
    member
      .command('add')
      .description(
        'add a node (already started, e.g. `distkv server --join`, which adds itself) as a learner; the leader checks it answers at <peer> first, and promotes it to voter once it has caught up',
      )
      .argument('<id>', 'the new member, e.g. n4')
      .argument('<peer>', 'its peer address host:port, as the other members will dial it', peerAddress)
      .option('--learner', 'keep it a learner (no vote) until `distkv member promote <id>`')
      .option('--json', "print the admin API's answer"),
    'give up after this long',
  )
    .addHelpText(
      'after',
      ['', 'Examples:', '  distkv member add n4 127.0.0.1:7104', '  distkv member add n5 10.0.0.5:7101 --learner'].join('\n'),
    )
    .action((id: string, peer: string, flags: MemberFlags) =>
      change(
        'add',
        { method: 'POST', path: '', body: { id, peerAddress: peer, ...(flags.learner ? { learner: true } : {}) } },
        flags,
        (a) =>
          flags.learner
            ? `${id} added as a learner at ${peer} (index ${a.index}); it stays one until: distkv member promote ${id}`
            : `${id} added as a learner at ${peer} (index ${a.index}); the leader promotes it to voter once it has caught up`,
      ),
    );
  withEndpointFlags(
    member
      .command('remove')
      .description('remove a voter or learner (the leader too: it hands over once the removal commits)')
      .argument('<id>', 'the member to remove, e.g. n2')
      .option('--json', "print the admin API's answer"),
    'give up after this long',
  )
    .addHelpText('after', ['', 'Examples:', '  distkv member remove n2'].join('\n'))
    .action((id: string, flags: MemberFlags) =>
      change(
        'remove',
        { method: 'DELETE', path: `/${encodeURIComponent(id)}` },
        flags,
        (a) => `${id} removed (index ${a.index}); voters now ${votersOf(a)}`,
      ),
    );
  withEndpointFlags(
    member
      .command('promote')
      .description("make a learner a voter (refused with LEARNER_NOT_CAUGHT_UP until its log is close to the leader's)")
      .argument('<id>', 'the learner, e.g. n4')
      .option('--json', "print the admin API's answer"),
    'give up after this long',
  )
    .addHelpText('after', ['', 'Examples:', '  distkv member promote n4'].join('\n'))
    .action((id: string, flags: MemberFlags) =>
      change(
        'promote',
        { method: 'POST', path: `/${encodeURIComponent(id)}/promote` },
        flags,
        (a) => `${id} is a voter now (index ${a.index}); voters ${votersOf(a)}`,
      ),
    );
}
// #endregion register-member
