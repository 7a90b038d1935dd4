/**
 * `distkv cluster add-node` and `distkv cluster remove-node <id>`: grow and
 * shrink the local cluster of `distkv cluster up` (membership, chapter 5).
 *
 * `cluster up` keeps its nodes as its own foreground children (their output
 * prefixed in its terminal, stopped by its Ctrl-C), and another process
 * cannot become their parent. So add-node starts the new node detached, in
 * the cluster's data directory (`<data-dir>/n<k>`, the ports of the port
 * rule), with its output in `<data-dir>/n<k>/server.log` and its pid in
 * `<data-dir>/n<k>/added-node.json`. `cluster up` reads those files: its
 * Ctrl-C stops the added nodes too, and run again it starts them again (as
 * its own children, joining with --join). remove-node removes the member
 * through the admin API, stops that node's process and leaves
 * `<data-dir>/<id>/removed`, so `cluster up` does not start it again.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { integer } from './arguments.js';
import { nodePorts } from './cluster.js';
import {
  ADDED_NODE_FILE,
  type AddedNode,
  isRemoved,
  NODES_MAX,
  nodeDirs,
  REMOVED_FILE,
  readAddedNode,
  runsNode,
  sleep,
  stopPid,
  waitGone,
} from './cluster-files.js';
import { byId, changeMembers, findMembers, type MembersAnswer, MembersError } from './members-api.js';
import { clusterStatus } from './status.js';

const binPath = fileURLToPath(new URL('../../bin/distkv.mjs', import.meta.url));
const portsOf = nodePorts;

interface LocalFlags {
  basePort: number;
  dataDir: string;
  timing?: 'auto' | 'lan' | 'loopback';
  timeoutMs: number;
  json?: boolean;
}

/** The admin endpoints of the nodes whose data directories are there (the ones removed last). */
function localEndpoints(flags: LocalFlags): string {
  const dir = resolve(flags.dataDir);
  const nodes = nodeDirs(dir);
  const live = nodes.filter((i) => !isRemoved(join(dir, `n${i}`)));
  const ordered = [...live, ...nodes.filter((i) => !live.includes(i))];
  if (ordered.length === 0)
    throw new MembersError(`no node directories in ${dir}: start the cluster with distkv cluster up --data-dir ${flags.dataDir}`);
  return ordered.map((i) => `127.0.0.1:${portsOf(flags.basePort, i).http}`).join(',');
}

// #region add-node
/** The `distkv server` arguments of added node k: the port rule, its data dir, --join the members' admin endpoints. */
export function addedNodeArgs(flags: Pick<LocalFlags, 'basePort' | 'dataDir' | 'timing'>, k: number, join_: string): string[] {
  const ports = portsOf(flags.basePort, k);
  // biome-ignore format: one flag per pair reads better
  const args = ['server', '--id', `n${k}`, '--port', String(ports.client), '--line-port', String(ports.line), '--peer-port', String(ports.peer),
    '--http-port', String(ports.http), '--data-dir', join(resolve(flags.dataDir), `n${k}`), '--join', join_,
    '--log-format', 'json'];
  if (flags.timing !== undefined) args.push('--timing', flags.timing);
  return args;
}

/**
 * Starts node n<k> (k: one more than any node the data directory or the
 * members know) detached, joined through the members' admin endpoints, and
 * waits until it prints its listening line (it prints it once the leader
 * added it) or exits.
 */
async function addNode(
  flags: LocalFlags,
): Promise<{ node: AddedNode; ports: ReturnType<typeof portsOf>; log: string; index: string }> {
  const dir = resolve(flags.dataDir);
  const { answer } = await findMembers(localEndpoints(flags));
  const known = [...nodeDirs(dir), ...answer.members.flatMap((m) => (/^n\d+$/.test(m.id) ? [Number(m.id.slice(1))] : []))];
  const k = Math.max(0, ...known) + 1;
  if (k > NODES_MAX) throw new MembersError(`the port rule has room for n1 to n${NODES_MAX}; n${k} would be next`);
  const joinVia = answer.members.flatMap((m) => (m.httpAddress ? [m.httpAddress.replace(/^https?:\/\//, '')] : [])).join(',');
  if (joinVia === '') throw new MembersError('no member lists an admin endpoint to join through');
  const id = `n${k}`;
  const nodeDir = join(dir, id);
  mkdirSync(nodeDir, { recursive: true });
  const args = addedNodeArgs(flags, k, joinVia);
  const logPath = join(nodeDir, 'server.log');
  const out = openSync(logPath, 'a');
  const start = readFileSync(logPath).length;
  const child = spawn(process.execPath, [binPath, ...args], { stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  const exited = new Promise<number | string>((done) => child.once('exit', (code, sig) => done(code ?? sig ?? '?')));
  const pid = child.pid as number;
  const node: AddedNode = { id, pid, args };
  writeFileSync(join(nodeDir, ADDED_NODE_FILE), `${JSON.stringify(node)}\n`);
  const deadline = Date.now() + flags.timeoutMs;
  let exit: number | string | undefined;
  void exited.then((e) => {
    exit = e;
  });
  for (;;) {
    const text = readFileSync(logPath).subarray(start).toString('utf8');
    const listening = /^distkv listening on .*$/m.exec(text);
    if (listening !== null) {
      child.unref();
      const index = /at index (\d+)/.exec(listening[0])?.[1] ?? '?';
      return { node, ports: portsOf(flags.basePort, k), log: logPath, index };
    }
    if (exit !== undefined || Date.now() >= deadline) {
      if (exit === undefined) await stopPid(pid);
      const why = text
        .split('\n')
        .filter((l) => l.startsWith('distkv server:'))
        .join('; ');
      throw new MembersError(
        `${id} ${exit === undefined ? `did not join within ${flags.timeoutMs} ms (stopped)` : `exited (${exit})`}${why === '' ? '' : `: ${why}`}; its log: ${logPath}`,
      );
    }
    await sleep(100);
  }
}
// #endregion add-node

// #region remove-node
/**
 * Removes member <id> through the leader, then stops its process: the
 * node exits by itself once it learns of its removal; one that is still
 * running a few seconds later gets SIGTERM. Its pid is the one it reports
 * (INFO process_id, asked before the removal) or the one add-node recorded.
 */
async function removeNode(
  id: string,
  flags: LocalFlags,
): Promise<{ answer: MembersAnswer; pid: number | undefined; stopped: string }> {
  const dir = resolve(flags.dataDir);
  const endpoints = localEndpoints(flags);
  const { answer: before } = await findMembers(endpoints);
  const member = before.members.find((m) => m.id === id);
  if (member === undefined)
    throw new MembersError(`${id} is not a member (members: ${before.members.map((m) => m.id).join(', ') || 'none'})`);
  const nodeDir = join(dir, id);
  let pid: number | undefined;
  if (member.clientAddress !== null) {
    const [host, port] = [
      member.clientAddress.slice(0, member.clientAddress.lastIndexOf(':')),
      member.clientAddress.slice(member.clientAddress.lastIndexOf(':') + 1),
    ];
    const rows = await clusterStatus([{ host, port: Number(port) }]).catch(() => []);
    pid = rows.find((r) => r.id === id)?.pid ?? undefined;
    // Only a process of this cluster's data directory is signalled (the member could run elsewhere).
    if (pid !== undefined && !runsNode(pid, nodeDir)) pid = undefined;
  }
  const recorded = readAddedNode(nodeDir);
  if (pid === undefined && recorded !== undefined && runsNode(recorded.pid, nodeDir)) pid = recorded.pid;
  const { answer } = await changeMembers(endpoints, { method: 'DELETE', path: `/${encodeURIComponent(id)}` }, flags.timeoutMs);
  if (existsSync(nodeDir)) writeFileSync(join(nodeDir, REMOVED_FILE), `removed at index ${answer.index}\n`);
  if (pid === undefined)
    return { answer, pid, stopped: `no process of ${nodeDir} was found to stop (not running, or not on this machine)` };
  // It stops by itself once it learns of the removal (distkv server exits 0); else it is told to.
  if (await waitGone(pid, 5_000)) return { answer, pid, stopped: `its process (pid ${pid}) exited by itself` };
  const how = await stopPid(pid);
  return {
    answer,
    pid,
    stopped: how === 'exited' ? `its process (pid ${pid}) exited` : `its process (pid ${pid}) was stopped (${how})`,
  };
}
// #endregion remove-node

export function registerClusterMembership(cluster: Command, defaults: { basePort: number; dataDir: string }): void {
  const local = (command: Command): Command =>
    command
      .addOption(
        new Option(
          '--base-port <port>',
          "the cluster's --base-port (node i: client base+i-1, peer base+100+i-1, HTTP base+200+i-1)",
        )
          .default(defaults.basePort)
          .argParser(integer('--base-port', 1, 65_535 - 300)),
      )
      .option('--data-dir <dir>', "the cluster's --data-dir (node i keeps its data in <dir>/n<i>)", defaults.dataDir)
      .addOption(
        new Option('--timeout-ms <ms>', 'give up after this long').default(30_000).argParser(integer('--timeout-ms', 1, 600_000)),
      )
      .option('--json', 'print one JSON line');
  local(
    cluster
      .command('add-node')
      .description(
        'start one more node of a `cluster up` cluster (the next id and its ports), joined with --join: it is added as a learner and promoted to voter once caught up',
      ),
  )
    .addOption(new Option('--timing <preset>', 'election timing, as given to cluster up').choices(['auto', 'lan', 'loopback']))
    .addHelpText(
      'after',
      ['', 'Examples:', '  distkv cluster add-node', '  distkv cluster add-node --base-port 8001 --data-dir /tmp/distkv'].join(
        '\n',
      ),
    )
    .action(async (flags: LocalFlags) => {
      try {
        const r = await addNode(flags);
        if (flags.json)
          process.stdout.write(
            `${JSON.stringify({ id: r.node.id, pid: r.node.pid, index: Number(r.index), ...r.ports, log: r.log })}\n`,
          );
        else
          process.stdout.write(
            `${r.node.id} joined (index ${r.index}): pid ${r.node.pid}  client 127.0.0.1:${r.ports.client}  peer 127.0.0.1:${r.ports.peer}  dashboard http://127.0.0.1:${r.ports.http}/  line 127.0.0.1:${r.ports.line}  log ${r.log}\n`,
          );
      } catch (err) {
        if (!(err instanceof MembersError)) throw err;
        process.stderr.write(`distkv cluster add-node: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
  local(
    cluster
      .command('remove-node')
      .description('remove a member of a `cluster up` cluster through the admin API and stop its process')
      .argument('<id>', 'the member, e.g. n2'),
  )
    .addHelpText('after', ['', 'Examples:', '  distkv cluster remove-node n2'].join('\n'))
    .action(async (id: string, flags: LocalFlags) => {
      try {
        const r = await removeNode(id, flags);
        const voters = [...r.answer.members]
          .sort(byId)
          .filter((m) => m.role === 'voter')
          .map((m) => m.id);
        if (flags.json) process.stdout.write(`${JSON.stringify({ id, index: r.answer.index, voters, pid: r.pid ?? null })}\n`);
        else process.stdout.write(`${id} removed (index ${r.answer.index}); voters now ${voters.join(',')}; ${r.stopped}\n`);
      } catch (err) {
        if (!(err instanceof MembersError)) throw err;
        process.stderr.write(`distkv cluster remove-node: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
