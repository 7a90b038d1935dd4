import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { commandGroup, integer } from './arguments.js';
import { ADDED_NODE_FILE, isRemoved, nodeDirs, readAddedNode, runsNode, stopPid } from './cluster-files.js';

interface ClusterUpFlags {
  nodes: number;
  basePort: number;
  dataDir: string;
  election: 'raft' | 'bully';
  fsync: 'always' | 'interval' | 'none';
  /** Left out: each server's `auto`, which is `loopback` here (every node on 127.0.0.1). */
  timing?: 'auto' | 'lan' | 'loopback';
  snapshotCatchUpEntries?: number;
  snapshotCatchUpBytes?: number;
}

// #region port-rule
/** Node i (from 1): client port base+i-1, peer port base+100+i-1, admin HTTP port base+200+i-1, line protocol base+300+i-1. */
export function nodePorts(basePort: number, i: number): { client: number; peer: number; http: number; line: number } {
  return { client: basePort + i - 1, peer: basePort + 100 + i - 1, http: basePort + 200 + i - 1, line: basePort + 300 + i - 1 };
}
// #endregion port-rule

/** The default endpoints of `distkv status`: the client ports of `cluster up` with its defaults. */
export const defaultBasePort = 7001;
export const defaultNodes = 3;

const binPath = fileURLToPath(new URL('../../bin/distkv.mjs', import.meta.url));
const colours = [36, 33, 35, 32, 34, 31];

/** `cluster up`; returns the `cluster` group, which add-node and remove-node join (cluster-members.ts). */
export function registerClusterCommand(program: Command): Command {
  const cluster = commandGroup(program, 'cluster', 'run a local cluster', [
    'distkv cluster up',
    'distkv cluster up --nodes 5 --base-port 8001',
    'distkv cluster add-node          # n4 joins the running cluster',
    'distkv cluster remove-node n2',
  ]);
  cluster
    .command('up')
    .description('start N distkv nodes on 127.0.0.1 as child processes; Ctrl-C stops them all')
    .addOption(
      new Option('--nodes <n>', 'how many nodes (1: a one-node cluster, no replication)')
        .default(defaultNodes)
        .argParser(integer('--nodes', 1, 99)),
    )
    .addOption(
      new Option(
        '--base-port <port>',
        'node i listens for clients on base+i-1, peers on base+100+i-1, HTTP on base+200+i-1, the line protocol on base+300+i-1',
      )
        .default(defaultBasePort)
        .argParser(integer('--base-port', 1, 65_535 - 400)),
    )
    .option('--data-dir <dir>', 'node i keeps its data in <dir>/n<i>', './data')
    .addOption(new Option('--election <algorithm>', 'how the nodes elect a leader').choices(['raft', 'bully']).default('raft'))
    .addOption(
      new Option(
        '--fsync <policy>',
        "the single node's policy (--nodes 1); with more nodes only always: the Raft log always fsyncs",
      )
        .choices(['always', 'interval', 'none'])
        .default('always'),
    )
    .addOption(
      new Option(
        '--timing <preset>',
        'election timing: loopback (tick 10 ms, election timeout 150-300 ms; what auto picks, every node being on 127.0.0.1) or lan (tick 100 ms, 2-4 s, to rehearse a LAN failover)',
      ).choices(['auto', 'lan', 'loopback']),
    )
    // #region cluster-up-catch-up-flags
    .addOption(
      new Option(
        '--snapshot-catch-up-entries <n>',
        'entries each node keeps before its snapshot for a lagging follower (0: none)',
      ).argParser(integer('--snapshot-catch-up-entries', 0, 10_000_000)),
    )
    .addOption(
      new Option('--snapshot-catch-up-bytes <n>', 'at most this many payload bytes of them (0: none)').argParser(
        integer('--snapshot-catch-up-bytes', 0, 2 ** 52),
      ),
    )
    // #endregion cluster-up-catch-up-flags
    .addHelpText(
      'after',
      '\nExamples:\n  distkv cluster up\n  distkv cluster up --nodes 5 --base-port 8001 --data-dir /tmp/distkv\n  distkv cluster up --nodes 1\n  distkv cluster up --timing lan   # failover as on a LAN: election timeout 2-4 s',
    )
    .action(async (flags: ClusterUpFlags) => {
      if (flags.nodes > 1 && flags.fsync !== 'always') {
        process.stderr.write(
          `distkv cluster up: --fsync ${flags.fsync} applies to --nodes 1 only; every replica's Raft log fsyncs each entry before it is acknowledged\n`,
        );
        process.exit(2);
      }
      await clusterUp(flags);
    });
  return cluster;
}

interface NodeProcess {
  id: string;
  child: ChildProcess;
  ports: { client: number; peer: number; http: number; line: number };
  listening: boolean;
  exited: Promise<void>;
}

// #region node-args
/** The `distkv server` arguments of node i of n. */
export function serverArgs(flags: ClusterUpFlags, i: number): string[] {
  const ports = nodePorts(flags.basePort, i);
  const dir = join(resolve(flags.dataDir), `n${i}`);
  const args = ['server', '--port', String(ports.client), '--line-port', String(ports.line), '--data-dir', dir, '--id', `n${i}`];
  // Human-readable node logs when a person watches cluster up; JSON lines when its output goes to a file or a pipe.
  args.push('--log-format', process.stdout.isTTY ? 'pretty' : 'json');
  const peers: string[] = [];
  for (let j = 1; j <= flags.nodes; j++) {
    if (j !== i) peers.push(`n${j}=127.0.0.1:${nodePorts(flags.basePort, j).peer}`);
  }
  // One node is a one-voter cluster (--peers none): the same admin endpoint,
  // dashboard and data layout as n nodes, and the only case where --fsync
  // may be relaxed (clusterUp refuses it otherwise: a replica always fsyncs).
  // biome-ignore format: one flag per pair reads better
  args.push('--peer-port', String(ports.peer), '--peers', peers.length === 0 ? 'none' : peers.join(','),
    '--http-port', String(ports.http), '--election', flags.election, '--fsync', flags.fsync);
  // Given only when asked for: each server's own default (auto: loopback here) otherwise.
  if (flags.timing !== undefined) args.push('--timing', flags.timing);
  if (flags.snapshotCatchUpEntries !== undefined) args.push('--snapshot-catch-up-entries', String(flags.snapshotCatchUpEntries));
  if (flags.snapshotCatchUpBytes !== undefined) args.push('--snapshot-catch-up-bytes', String(flags.snapshotCatchUpBytes));
  return args;
}
// #endregion node-args

function prefixer(id: string, index: number): (line: string) => string {
  if (!process.stdout.isTTY) return (line) => `${id} | ${line}`;
  const colour = colours[index % colours.length] ?? 36;
  return (line) => `\x1b[${colour}m${id} |\x1b[0m ${line}`;
}

/** Calls `onLine` for every complete line of `stream`. */
function eachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let buffered = '';
  stream?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream?.on('end', () => {
    if (buffered !== '') onLine(buffered);
  });
}

// #region cluster-up
async function clusterUp(flags: ClusterUpFlags): Promise<void> {
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const nodes: NodeProcess[] = [];
  const dataDir = resolve(flags.dataDir);
  // Nodes `cluster add-node` started (detached, see cluster-members.ts) are started again, and
  // nodes `cluster remove-node` removed are not: the members are what the membership changes made.
  const added = nodeDirs(dataDir).flatMap((i) => {
    const recorded = readAddedNode(join(dataDir, `n${i}`));
    return recorded === undefined || i <= flags.nodes || isRemoved(join(dataDir, `n${i}`)) ? [] : [{ i, recorded }];
  });
  const starts = [
    ...Array.from({ length: flags.nodes }, (_, j) => ({ i: j + 1, args: serverArgs(flags, j + 1) })),
    ...added.map(({ i, recorded }) => ({ i, args: recorded.args })),
  ];
  for (const { i, args } of starts) {
    const id = `n${i}`;
    const dir = join(dataDir, id);
    if (isRemoved(dir)) {
      out(`distkv cluster: ${id} was removed from the cluster (distkv cluster remove-node): not started`);
      continue;
    }
    const running = readAddedNode(dir);
    if (running !== undefined && runsNode(running.pid, dir)) {
      out(`distkv cluster: ${id} runs already (pid ${running.pid}, started by distkv cluster add-node): left running`);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    // Its own process group (detached): a Ctrl-C in the terminal reaches only
    // this process, which then stops each node once, with SIGTERM. The IPC
    // channel is the node's lifeline: when this process dies, even by
    // SIGKILL, the channel closes and the node shuts itself down.
    const child = spawn(process.execPath, [binPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    if (running !== undefined && child.pid !== undefined)
      writeFileSync(join(dir, ADDED_NODE_FILE), `${JSON.stringify({ ...running, pid: child.pid })}\n`);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const node: NodeProcess = { id, child, ports: nodePorts(flags.basePort, i), listening: false, exited };
    const prefix = prefixer(id, i - 1);
    eachLine(child.stdout, (line) => {
      if (line.includes('distkv listening on')) node.listening = true;
      out(prefix(line));
    });
    eachLine(child.stderr, (line) => out(prefix(line)));
    nodes.push(node);
  }
  let stopping = false;
  /** Nodes `cluster add-node` started while this process ran: not its children, stopped with them by pid. */
  const detached = (): Array<{ id: string; pid: number }> =>
    nodeDirs(dataDir).flatMap((i) => {
      const dir = join(dataDir, `n${i}`);
      const recorded = readAddedNode(dir);
      const ours = nodes.some((n) => n.child.pid === recorded?.pid);
      return recorded === undefined || ours || !runsNode(recorded.pid, dir) ? [] : [{ id: recorded.id, pid: recorded.pid }];
    });
  const stopAll = async (code: number): Promise<never> => {
    stopping = true;
    for (const n of nodes) signal(n.child, 'SIGTERM');
    const others = detached();
    for (const d of others) out(`distkv cluster: stopping ${d.id} (pid ${d.pid}, started by distkv cluster add-node)`);
    const bound = new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000).unref());
    await Promise.race([Promise.all([...nodes.map((n) => n.exited), ...others.map((d) => stopPid(d.pid))]), bound]);
    for (const n of nodes) {
      if (n.child.exitCode === null && n.child.signalCode === null) {
        out(`distkv cluster: ${n.id} (pid ${n.child.pid}) did not stop within 10 s: SIGKILL`);
        signal(n.child, 'SIGKILL');
      }
    }
    await Promise.all(nodes.map((n) => n.exited));
    const stopped = nodes.length + others.length;
    out(`distkv cluster: ${stopped === 1 ? 'the node is' : `all ${stopped} nodes are`} stopped`);
    process.exit(code);
  };
  // Should this process die some other way, take the nodes with it.
  process.on('exit', () => {
    for (const n of nodes) signal(n.child, 'SIGKILL');
    if (stopping) return;
    for (const d of detached()) {
      try {
        process.kill(d.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(s, () => {
      if (stopping) return;
      out(`distkv cluster: ${s}: stopping every node`);
      void stopAll(0);
    });
  }
  for (const n of nodes) {
    n.child.once('exit', (code, sig) => {
      if (stopping) return;
      out(`distkv cluster: ${n.id} (pid ${n.child.pid}) exited (${code ?? sig}); not restarted`);
      if (!n.listening) {
        out(
          `distkv cluster: ${n.id} failed to start; its lines above say why (often port ${n.ports.client}, ${n.ports.peer}, ${n.ports.http} or ${n.ports.line} in use, or its data dir held by another distkv)`,
        );
        void stopAll(1);
      } else if (nodes.every((m) => m.child.exitCode !== null || m.child.signalCode !== null)) {
        out('distkv cluster: every node has exited');
        void stopAll(1);
      }
    });
  }
  await Promise.all(nodes.map((n) => waitListening(n)));
  if (stopping) return;
  printSummary(flags, nodes, out);
}
// #endregion cluster-up

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // already gone
  }
}

function waitListening(n: NodeProcess): Promise<void> {
  return new Promise((done) => {
    const check = (): void => {
      if (n.listening || n.child.exitCode !== null || n.child.signalCode !== null) done();
      else setTimeout(check, 50);
    };
    check();
  });
}

/**
 * How to run `distkv` again, as this process was run: `distkv` when it came
 * from the PATH (an installed package), else the launcher relative to the
 * working directory, which needs no pnpm (`pnpm start` from a checkout).
 */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (basename(script) === 'distkv') return 'distkv';
  const launcher = relative(process.cwd(), binPath);
  return `node ${launcher.startsWith('..') ? binPath : launcher}`;
}

function printSummary(flags: ClusterUpFlags, nodes: NodeProcess[], out: (line: string) => void): void {
  const single = flags.nodes === 1;
  const added = nodes.filter((n) => Number(n.id.slice(1)) > flags.nodes).length;
  const mode = single
    ? `one node (no replication, fsync ${flags.fsync})`
    : `${nodes.length} nodes${added > 0 ? ` (${added} added by cluster add-node)` : ''}, ${flags.election} elections`;
  out('');
  out(`distkv cluster up: ${mode}, data in ${resolve(flags.dataDir)}`);
  for (const n of nodes) {
    out(
      `  ${n.id}  pid ${n.child.pid}  client 127.0.0.1:${n.ports.client}  peer 127.0.0.1:${n.ports.peer}  dashboard http://127.0.0.1:${n.ports.http}/  line 127.0.0.1:${n.ports.line}`,
    );
  }
  const first = nodes[0]?.ports.client ?? flags.basePort;
  const defaults = flags.nodes === defaultNodes && flags.basePort === defaultBasePort;
  const endpoints = nodes.map((n) => `127.0.0.1:${n.ports.client}`).join(',');
  out('');
  out('Next, in another terminal:');
  const others = nodes.slice(1).map((n) => `127.0.0.1:${n.ports.client}`);
  const self = selfCommand();
  out(`  redis-cli -p ${first}                         # any Redis client works`);
  out(`  ${self} client 127.0.0.1:${first}${others.length > 0 ? ` --endpoints ${others.join(',')}` : ''}   # follows the leader`);
  out(`  ${self} status${defaults ? '' : ` --endpoints ${endpoints}`} --watch`);
  out('Ctrl-C stops every node; running the same command again brings the cluster back with its data.');
  out('');
}
