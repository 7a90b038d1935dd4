import { Client, parseInfo } from '@distkv/net';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { integer } from './arguments.js';
import { defaultBasePort, defaultNodes, nodePorts } from './cluster.js';

/** One row of `distkv status --json`. */
export interface NodeRow {
  id: string;
  /** `learner`: a member without a vote (membership, chapter 5), following the leader. */
  role: 'leader' | 'follower' | 'learner' | 'candidate' | 'unreachable';
  term: number | null;
  leader: string | null;
  commit_index: number | null;
  applied_index: number | null;
  lag: number | null;
  /** Follower: ms since its leader's last message. Leader: ms since it last heard a majority. Unreachable: as the leader last heard it. */
  last_heartbeat_ms: number | null;
  healthy: boolean;
  client_addr: string;
  http_addr: string | null;
}

interface Endpoint {
  host: string;
  port: number;
}

export function parseEndpoints(text: string): Endpoint[] {
  return text.split(',').map((part) => {
    const match = /^([^:,\s]+):(\d{1,5})$/.exec(part.trim());
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535) throw new InvalidArgumentError(`"${part}" is not host:port`);
    return { host: match[1] as string, port };
  });
}

export const defaultEndpoints = Array.from(
  { length: defaultNodes },
  (_, i) => `127.0.0.1:${nodePorts(defaultBasePort, i + 1).client}`,
);

interface StatusFlags {
  endpoints: string;
  seeds?: boolean;
  json?: boolean;
  watch?: boolean;
  intervalMs: number;
  count?: number;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'print the cluster: role, term, leader, indexes, lag, last heartbeat, health, pid (INFO over RESP; one reachable node names the others)',
    )
    .option('--endpoints <list>', 'host:port[,host:port...] client addresses to start from', defaultEndpoints.join(','))
    .option('--json', 'print {"nodes": [...]} instead of a table (one line per refresh with --watch)')
    .option('-w, --watch', 'refresh until Ctrl-C')
    .addOption(
      new Option('--interval-ms <ms>', 'with --watch: time between refreshes')
        .default(1000)
        .argParser(integer('--interval-ms', 1, 3_600_000)),
    )
    .addOption(new Option('--count <n>', 'with --watch: stop after n refreshes').argParser(integer('--count', 1, 1_000_000)))
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  distkv status',
        '  distkv status --watch',
        '  distkv status --endpoints 127.0.0.1:8001,127.0.0.1:8002 --json',
        '  distkv status --watch --json --count 10 --interval-ms 500 > status.jsonl',
      ].join('\n'),
    )
    .action(async (flags: StatusFlags, command: Command) => {
      const endpoints = parseEndpoints(flags.endpoints);
      // The default list is a guess at `cluster up`'s nodes: addresses in it that no node names are not shown.
      await watchStatus(endpoints, { ...flags, seeds: command.getOptionValueSource('endpoints') === 'default' });
    });
}

// #region watch
/**
 * One snapshot, or with --watch one every interval until Ctrl-C (or --count
 * refreshes). On a terminal the table is redrawn in place; otherwise each
 * refresh is appended, so `--watch --json` is a JSON-lines stream.
 */
async function watchStatus(endpoints: Endpoint[], flags: StatusFlags): Promise<void> {
  const refreshesMax = flags.watch ? (flags.count ?? Number.POSITIVE_INFINITY) : 1;
  const redraw = flags.watch === true && flags.json !== true && process.stdout.isTTY === true;
  let stopped = false;
  const onInterrupt = (): void => {
    stopped = true;
  };
  process.once('SIGINT', onInterrupt);
  for (let refresh = 1; refresh <= refreshesMax && !stopped; refresh++) {
    const rows = await clusterStatus(endpoints, { seeds: flags.seeds === true });
    const nodes = rows.map(({ pid: _, ...row }) => row);
    const body = flags.json ? `${JSON.stringify({ nodes })}\n` : formatTable(rows);
    const header = flags.watch && !flags.json ? `${new Date().toISOString()}  refresh ${refresh}  (Ctrl-C stops)\n` : '';
    process.stdout.write(`${redraw ? '\x1b[H\x1b[2J' : ''}${header}${body}`);
    if (refresh < refreshesMax) await sleepUnless(flags.intervalMs, () => stopped);
  }
  process.removeListener('SIGINT', onInterrupt);
}
// #endregion watch

/** Sleeps ms, waking early (every 100 ms check) once `done()` holds. */
async function sleepUnless(ms: number, done: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}

/** `INFO` at `host:port` (as another node announced it), or null when that is no address or does not answer. */
async function infoAt(address: string): Promise<Map<string, string> | null> {
  let endpoint: Endpoint;
  try {
    endpoint = parseEndpoints(address)[0] as Endpoint;
  } catch {
    return null;
  }
  return info(endpoint);
}

/** `INFO` of one endpoint as field → value, or null when it does not answer within 3 s. */
async function info(endpoint: Endpoint): Promise<Map<string, string> | null> {
  let client: Client | undefined;
  const attempt = (async () => {
    client = await Client.connect({ ...endpoint, reconnect: { attemptsMax: 1 }, timeoutMs: 3000 });
    return parseInfo(String(await client.call('INFO')));
  })();
  const bound = new Promise<null>((r) => setTimeout(() => r(null), 3000).unref());
  try {
    return await Promise.race([attempt, bound]);
  } catch {
    return null;
  } finally {
    attempt.catch(() => {});
    void client?.close().catch(() => {});
  }
}

// #region status
/** A voter as another node's INFO describes it (its `member<i>` line). */
interface Member {
  id: string;
  client_addr: string;
  http_addr: string;
  last_contact_ms: number | null;
}

function membersOf(fields: Map<string, string>): Member[] {
  const members: Member[] = [];
  for (const [key, value] of fields) {
    if (!/^member\d+$/.test(key)) continue;
    const parts = new Map(value.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    const id = parts.get('id');
    if (id === undefined || id === '') continue;
    const contact = parts.get('last_contact_ms');
    members.push({
      id,
      client_addr: parts.get('client_addr') ?? '',
      http_addr: parts.get('http_addr') ?? '',
      last_contact_ms: contact === undefined || contact === '' ? null : Number(contact),
    });
  }
  return members;
}

/** A node that did not answer: what the others said of it (its addresses, when the leader last heard it), if anything. */
function unreachableRow(id: string, client_addr: string, member: Member | undefined): NodeRow & { pid: null } {
  // biome-ignore format: one row
  return { id, role: 'unreachable', term: null, leader: null, commit_index: null, applied_index: null, lag: null, last_heartbeat_ms: member?.last_contact_ms ?? null, healthy: false, client_addr, http_addr: member?.http_addr ? `http://${member.http_addr}` : null, pid: null };
}

/** Most nodes one `status` asks: a cluster is at most 99 nodes (`cluster up`), and a bad answer must not make it ask forever. */
const STATUS_NODES_MAX = 128;

/**
 * Asks each endpoint for INFO (its `# Replication` section: role, node_id,
 * leader_id, term, commit_index, applied_index, last_contact_ms), then
 * every voter those answers name (their `member<i>` lines) that was not
 * asked yet: one reachable node is enough to see the whole cluster. A voter
 * whose address nobody knows is shown unreachable. Lag is the leader's
 * commit index minus this node's applied index, when the leader is among
 * the answers; healthy means reachable and knowing a leader. With
 * `seeds` (the defaults, not the user's list), endpoints that do not
 * answer and that no answer names are left out.
 */
export async function clusterStatus(
  endpoints: Endpoint[],
  options: { seeds?: boolean } = {},
): Promise<Array<NodeRow & { pid: number | null }>> {
  const asked = new Map<string, Map<string, string> | null>();
  const askAll = async (addrs: string[]): Promise<void> => {
    const fresh = [...new Set(addrs)].filter((a) => !asked.has(a)).slice(0, STATUS_NODES_MAX - asked.size);
    const answers = await Promise.all(fresh.map(async (a) => [a, await infoAt(a)] as const));
    for (const [a, fields] of answers) asked.set(a, fields);
  };
  await askAll(endpoints.map((e) => `${e.host}:${e.port}`));
  const members = new Map<string, Member>();
  const learn = (): void => {
    for (const fields of asked.values())
      for (const m of fields === null ? [] : membersOf(fields)) {
        const known = members.get(m.id);
        // The leader's word on contact times wins; any answer fills in an address.
        const fromLeader = fields?.get('role') === 'leader';
        members.set(m.id, {
          id: m.id,
          client_addr: m.client_addr || known?.client_addr || '',
          http_addr: m.http_addr || known?.http_addr || '',
          last_contact_ms: fromLeader ? m.last_contact_ms : (known?.last_contact_ms ?? null),
        });
      }
  };
  learn();
  // One more round reaches every voter an answer named (a second round would only find addresses learnt late).
  await askAll([...members.values()].map((m) => m.client_addr).filter((a) => a !== ''));
  learn();
  const number = (f: Map<string, string>, k: string): number | null => {
    const v = Number(f.get(k));
    return f.has(k) && f.get(k) !== '' && Number.isFinite(v) ? v : null;
  };
  const byAddr = new Map([...members.values()].map((m) => [m.client_addr, m]));
  const rows: Array<NodeRow & { pid: number | null }> = [];
  const seen = new Set<string>();
  for (const [client_addr, fields] of asked) {
    if (fields === null) {
      const member = byAddr.get(client_addr);
      if (options.seeds === true && member === undefined && members.size > 0) continue;
      const id = member?.id ?? client_addr;
      if (seen.has(id)) continue;
      seen.add(id);
      rows.push(unreachableRow(id, client_addr, member));
      continue;
    }
    const raw = fields.get('role') ?? '';
    const single = raw === 'master';
    const learner = fields.get('conf_role') === 'learner';
    const role = single || raw === 'leader' ? 'leader' : raw === 'candidate' ? 'candidate' : learner ? 'learner' : 'follower';
    const id = fields.get('node_id') ?? client_addr;
    if (seen.has(id)) continue; // the same node under two addresses
    seen.add(id);
    const leader = single ? id : fields.get('leader_id') || null;
    rows.push({
      id,
      role,
      term: single ? 0 : number(fields, 'term'),
      leader,
      commit_index: number(fields, 'commit_index'),
      applied_index: number(fields, 'applied_index'),
      lag: null,
      last_heartbeat_ms: number(fields, 'last_contact_ms'),
      healthy: leader !== null,
      client_addr,
      // As the node reports it (INFO replication's http_addr); none without --http-port.
      http_addr: fields.get('http_addr') ? `http://${fields.get('http_addr')}` : null,
      pid: number(fields, 'process_id'),
    });
  }
  // Voters nobody could name an address for (never said hello since their peers started).
  for (const m of members.values()) {
    if (seen.has(m.id)) continue;
    rows.push(unreachableRow(m.id, m.client_addr, m));
  }
  for (const row of rows) {
    const leader = rows.find((r) => r.role === 'leader' && r.id === row.leader);
    if (leader?.commit_index != null && row.applied_index !== null) {
      row.lag = Math.max(0, leader.commit_index - row.applied_index);
    } else if (row.role === 'leader' && row.commit_index !== null) {
      row.lag = Math.max(0, row.commit_index - (row.applied_index ?? 0));
    }
  }
  return rows;
}
// #endregion status

export function formatTable(rows: Array<NodeRow & { pid: number | null }>): string {
  const show = (v: string | number | boolean | null): string => (v === null ? '-' : String(v));
  const table = [
    ['NODE', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LAG', 'HEARTBEAT', 'HEALTH', 'PID', 'CLIENT', 'HTTP'],
    ...rows.map((r) => [
      r.id,
      r.role,
      show(r.term),
      show(r.leader),
      show(r.commit_index),
      show(r.applied_index),
      show(r.lag),
      r.last_heartbeat_ms === null ? '-' : `${r.last_heartbeat_ms}ms ago`,
      r.healthy ? 'ok' : 'unhealthy',
      show(r.pid),
      r.client_addr === '' ? '-' : r.client_addr,
      show(r.http_addr),
    ]),
  ];
  const widths = table[0]?.map((_, c) => Math.max(...table.map((line) => line[c]?.length ?? 0))) ?? [];
  return `${table
    .map((line) =>
      line
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
