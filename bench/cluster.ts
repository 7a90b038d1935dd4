// `pnpm bench cluster`: what replication costs. redis-benchmark SET with 50
// clients against the 3-node cluster people run (Raft elections, `sync`,
// `--fsync always`; through whichever node leads: every reply waits until a
// majority has the write fsynced and the leader applied it) and against one
// durable node (`--fsync always`), same machine, one run each after a short
// warm-up, repeated `--runs` times (default 3) in turns, since this shared
// machine's figures swing by half from one minute to the next; the medians
// count. Server CPU per write is the servers' own CPU time (utime + stime
// from /proc, all three nodes for the cluster) over the measured requests.
// Then the cluster's latency at 1, 16 and 50 clients, and, when etcd is
// installed, a 3-member etcd beside it, both driven by the same closed-loop
// Node generator (bench/closed-loop.ts). Afterwards every replica's digest
// must agree. Prints a table, then one JSON line. `--profile <dir>` also takes a CPU profile of every server
// during the first run's measured requests only (bench/profile-hook.mjs)
// and prints each one's busiest functions.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { etcdPutLoad, type LoadResult, respSetLoad } from './closed-loop.js';
import { type EtcdCluster, startEtcd } from './etcd.js';
import {
  freePort,
  hasCommand,
  printJsonLine,
  printTable,
  redisBenchmarkLatency,
  redisBenchmarkRates,
  redisCli,
  waitForRedisPing,
} from './lib.js';
import { profileTop } from './profile-top.js';

const CLIENTS = 50;
const REQUESTS = 40_000;
const WARMUP_REQUESTS = 5_000;
const KEYSPACE = 100_000;
const TARGET = 0.5;
/** The Node generator's head-to-head with etcd: 16-byte values over 10,000 keys. */
const GENERATOR_REQUESTS = 20_000;
const GENERATOR_KEYSPACE = 10_000;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
if (!Number.isSafeInteger(RUNS) || RUNS < 1 || RUNS > 20) {
  console.error('--runs must be an integer from 1 to 20');
  process.exit(2);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const profileArg = process.argv.indexOf('--profile');
const PROFILE_DIR = profileArg > 0 ? process.argv[profileArg + 1] : undefined;
if (profileArg > 0 && (PROFILE_DIR === undefined || PROFILE_DIR.startsWith('--'))) {
  console.error('--profile needs a directory');
  process.exit(2);
}

const launcher = join(process.cwd(), 'packages', 'cli', 'bin', 'distkv.mjs');
const profileHook = join(process.cwd(), 'bench', 'profile-hook.mjs');
const children: ChildProcess[] = [];
const stoppers: Array<() => void> = [];
const root = mkdtempSync(join(tmpdir(), 'distkv-bench-cluster-'));

const pids = new Map<number, number>(); // client port -> server pid

async function startServer(args: string[]): Promise<number> {
  const port = await freePort();
  const hook = PROFILE_DIR === undefined ? [] : ['--import', profileHook];
  const child = spawn(process.execPath, [...hook, launcher, 'server', '--port', String(port), '--quiet', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: PROFILE_DIR === undefined ? process.env : { ...process.env, BENCH_PROFILE_DIR: resolve(PROFILE_DIR) },
  });
  children.push(child);
  pids.set(port, child.pid as number);
  await waitForRedisPing(port);
  return port;
}

/** The 3-node cluster `cluster up` runs: nobody configured to lead, Raft elects. Resolves with the client ports. */
async function startCluster(): Promise<number[]> {
  const ids = ['n1', 'n2', 'n3'];
  const peerPorts = await Promise.all(ids.map(() => freePort()));
  return Promise.all(
    ids.map((id, i) => {
      const peers = ids
        .map((p, j) => [p, peerPorts[j]] as const)
        .filter(([p]) => p !== id)
        .map(([p, port]) => `${p}=127.0.0.1:${port}`)
        .join(',');
      // biome-ignore format: flag pairs
      return startServer(['--id', id, '--peer-port', String(peerPorts[i]), '--peers', peers,
        '--replication', 'sync', '--data-dir', join(root, id), '--fsync', 'always']);
    }),
  );
}

/** The client port of the node every node names as leader (bounded wait: an election, or a re-election under load). */
async function leaderPort(ports: number[]): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const infos = ports.map((p) => redisCli(p, ['INFO', 'replication']));
    const leaders = new Set(infos.map((text) => /leader_id:(\S+)/.exec(text)?.[1] ?? ''));
    const at = infos.findIndex((text) => /role:leader/.test(text));
    if (leaders.size === 1 && !leaders.has('') && at >= 0) return ports[at] as number;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the cluster agreed on no leader within 60 s');
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** SET ops/s through `port`, and the servers' CPU microseconds per measured write. */
function measure(port: number, servers: number[], profile = false): { rate: number; cpuUsPerWrite: number } {
  redisBenchmarkRates(port, { tests: 'set', clients: CLIENTS, requests: WARMUP_REQUESTS, keyspace: KEYSPACE });
  const cpu = (): number => servers.reduce((sum, p) => sum + cpuSeconds(pids.get(p) as number), 0);
  const toggleProfiles = (): void => {
    if (profile) for (const p of servers) process.kill(pids.get(p) as number, 'SIGUSR2');
  };
  toggleProfiles();
  const before = cpu();
  const rate = redisBenchmarkRates(port, { tests: 'set', clients: CLIENTS, requests: REQUESTS, keyspace: KEYSPACE }).SET ?? 0;
  const used = cpu() - before;
  toggleProfiles();
  return { rate, cpuUsPerWrite: (used * 1e6) / REQUESTS };
}

/** Each server's busiest functions in its profile (written a moment after the second SIGUSR2). */
async function printProfiles(label: string, servers: number[]): Promise<void> {
  for (const port of servers) {
    const pid = pids.get(port) as number;
    const file = join(resolve(PROFILE_DIR as string), `${pid}.cpuprofile`);
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    const { busyShare, top } = profileTop(file, 20);
    console.log(`\n${label}, pid ${pid} (${file}): busy ${(busyShare * 100).toFixed(0)}% of the window; self time:`);
    for (const { frame, share } of top) console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${frame}`);
  }
}

/** CPU seconds of several processes together. */
function cpuOf(pidList: number[]): number {
  return pidList.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** The same closed-loop Node generator against distkv's leader and etcd's: ops/s and server CPU per write. */
async function headToHead(
  distkvPort: number,
  distkvPids: number[],
  etcd: EtcdCluster,
): Promise<{ distkv: LoadResult & { cpuUs: number }; etcd: LoadResult & { cpuUs: number } }> {
  const load = { clients: CLIENTS, requests: GENERATOR_REQUESTS, keyspace: GENERATOR_KEYSPACE };
  await respSetLoad(distkvPort, { ...load, requests: WARMUP_REQUESTS });
  let before = cpuOf(distkvPids);
  const d = await respSetLoad(distkvPort, load);
  const dCpu = ((cpuOf(distkvPids) - before) * 1e6) / load.requests;
  const etcdPort = await etcd.leaderPort();
  await etcdPutLoad(etcdPort, { ...load, requests: WARMUP_REQUESTS });
  before = cpuOf(etcd.pids);
  const e = await etcdPutLoad(etcdPort, load);
  const eCpu = ((cpuOf(etcd.pids) - before) * 1e6) / load.requests;
  return { distkv: { ...d, cpuUs: dCpu }, etcd: { ...e, cpuUs: eCpu } };
}

/** The cluster's SET latency at 1, 16 and 50 clients (redis-benchmark), through the leader. */
function sweep(port: number): Record<number, { rate: number; p50Ms: number; p99Ms: number }> {
  const out: Record<number, { rate: number; p50Ms: number; p99Ms: number }> = {};
  for (const clients of [1, 16, CLIENTS]) {
    out[clients] = redisBenchmarkLatency(port, { test: 'set', clients, requests: clients * 400, keyspace: KEYSPACE });
  }
  return out;
}

async function main(): Promise<void> {
  if (!hasCommand('redis-benchmark') || !hasCommand('redis-cli')) {
    console.error('redis-benchmark and redis-cli are needed: sudo apt-get install redis-tools');
    process.exit(2);
  }
  const withEtcd = hasCommand('etcd') && hasCommand('etcdctl');
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); every server and the load generators share them.`,
  );
  if (!withEtcd) console.log('etcd is not installed (apt-get install etcd-server etcd-client): measuring distkv alone.');
  // All stay up; each run measures the single node, the cluster, then etcd, so a slow minute hits all.
  const singlePort = await startServer(['--data-dir', join(root, 'single'), '--fsync', 'always']);
  const clusterPorts = await startCluster();
  const etcd = withEtcd ? await startEtcd(join(root, 'etcd')) : undefined;
  if (etcd !== undefined) stoppers.push(etcd.stop);
  const singles: Array<{ rate: number; cpuUsPerWrite: number }> = [];
  const clusters: Array<{ rate: number; cpuUsPerWrite: number }> = [];
  const sweeps: Array<Record<number, { rate: number; p50Ms: number; p99Ms: number }>> = [];
  const heads: Array<Awaited<ReturnType<typeof headToHead>>> = [];
  if (PROFILE_DIR !== undefined) mkdirSync(PROFILE_DIR, { recursive: true });
  for (let r = 0; r < RUNS; r++) {
    const profile = PROFILE_DIR !== undefined && r === 0;
    singles.push(measure(singlePort, [singlePort], profile));
    // Under load on a shared machine the leader may change mid-run: a run that hits TRYAGAIN is done again (at most 3 tries).
    let clusterLeader = await leaderPort(clusterPorts);
    for (let attempt = 1; ; attempt++) {
      try {
        clusters.push(measure(clusterLeader, clusterPorts, profile));
        break;
      } catch (err) {
        if (attempt === 3 || !String(err).includes('TRYAGAIN')) throw err;
        console.log(`run ${r + 1}: leadership moved during the run (${String(err).split('\n')[0]}); measuring again`);
        clusterLeader = await leaderPort(clusterPorts);
      }
    }
    if (profile) {
      await printProfiles('single node', [singlePort]);
      await printProfiles('cluster leader', [clusterLeader]);
      await printProfiles(
        'cluster follower',
        clusterPorts.filter((p) => p !== clusterLeader),
      );
    }
    sweeps.push(sweep(clusterLeader));
    if (etcd !== undefined) {
      heads.push(
        await headToHead(
          clusterLeader,
          clusterPorts.map((p) => pids.get(p) as number),
          etcd,
        ),
      );
    }
  }
  const single = median(singles.map((m) => m.rate));
  const cluster = median(clusters.map((m) => m.rate));
  const singleCpu = median(singles.map((m) => m.cpuUsPerWrite));
  const clusterCpu = median(clusters.map((m) => m.cpuUsPerWrite));
  const at = (clients: number, field: 'rate' | 'p50Ms' | 'p99Ms'): number =>
    median(sweeps.map((s) => (s[clients] as { rate: number; p50Ms: number; p99Ms: number })[field]));
  // Every acknowledged write reaches every replica once the followers catch up (a bounded wait): the digests agree.
  let digests: string[] = [];
  for (let i = 0; i < 100; i++) {
    digests = clusterPorts.map((p) => redisCli(p, ['DEBUG', 'DIGEST']).trim());
    if (new Set(digests).size === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  etcd?.stop();
  const agree = new Set(digests).size === 1;
  const ratio = single > 0 ? cluster / single : 0;
  const list = (v: Array<{ rate: number }>): string => v.map((x) => Math.round(x.rate).toLocaleString('en-US')).join(', ');
  const distkvGen = median(heads.map((h) => h.distkv.opsPerSec));
  const etcdGen = median(heads.map((h) => h.etcd.opsPerSec));
  const etcdRows: Array<[string, string | number]> =
    etcd === undefined
      ? [['etcd', 'not installed']]
      : [
          ['same Node generator: distkv cluster puts/s', Math.round(distkvGen)],
          ['same Node generator: etcd 3-member puts/s', Math.round(etcdGen)],
          ['distkv / etcd (medians)', (distkvGen / etcdGen).toFixed(2)],
          ['target', '>= 2.5'],
          ['every run: etcd', heads.map((h) => Math.round(h.etcd.opsPerSec).toLocaleString('en-US')).join(', ')],
          [
            'etcd p50 / p99 (ms)',
            `${median(heads.map((h) => h.etcd.p50Ms)).toFixed(2)} / ${median(heads.map((h) => h.etcd.p99Ms)).toFixed(2)}`,
          ],
          ['server CPU per put, etcd, all members (µs)', Math.round(median(heads.map((h) => h.etcd.cpuUs)))],
          ['server CPU per put, distkv (generator), all nodes (µs)', Math.round(median(heads.map((h) => h.distkv.cpuUs)))],
        ];

  printTable(
    `SET, ${CLIENTS} clients, ${REQUESTS.toLocaleString('en-US')} requests (after ${WARMUP_REQUESTS} warm-up), median of ${RUNS}`,
    [
      ['single durable node (--fsync always) ops/s', Math.round(single)],
      ['3-node elected cluster, sync, through the leader ops/s', Math.round(cluster)],
      ['every run: single', list(singles)],
      ['every run: cluster', list(clusters)],
      ['cluster / single (medians)', ratio.toFixed(2)],
      ['target', `>= ${TARGET}`],
      ['server CPU per write, single (µs)', Math.round(singleCpu)],
      ['server CPU per write, cluster, all nodes (µs)', Math.round(clusterCpu)],
      ['cluster CPU / single CPU', (clusterCpu / singleCpu).toFixed(2)],
      ['target', '<= 3'],
      ['cluster, 1 client: ops/s, p50 ms', `${Math.round(at(1, 'rate'))}, ${at(1, 'p50Ms').toFixed(2)} (target p50 <= 1.5)`],
      ['cluster, 16 clients: ops/s, p50 ms', `${Math.round(at(16, 'rate'))}, ${at(16, 'p50Ms').toFixed(2)}`],
      ['16 clients / 1 client', `${(at(16, 'rate') / at(1, 'rate')).toFixed(1)} (target >= 3)`],
      [`cluster, ${CLIENTS} clients: p99 ms`, `${at(CLIENTS, 'p99Ms').toFixed(2)} (target <= 20)`],
      ...etcdRows,
      ['replica digests after the run', `${agree ? 'agree' : 'DIFFER'}: ${digests.join(' ')}`],
    ],
  );
  printJsonLine({
    cluster_set_ops_s: Math.round(cluster),
    single_durable_set_ops_s: Math.round(single),
    cluster_vs_single: Number(ratio.toFixed(3)),
    single_cpu_us_per_write: Math.round(singleCpu),
    cluster_cpu_us_per_write: Math.round(clusterCpu),
    cluster_cpu_vs_single: Number((clusterCpu / singleCpu).toFixed(2)),
    c1_ops_s: Math.round(at(1, 'rate')),
    c1_p50_ms: Number(at(1, 'p50Ms').toFixed(3)),
    c16_vs_c1: Number((at(16, 'rate') / at(1, 'rate')).toFixed(2)),
    c50_p99_ms: Number(at(CLIENTS, 'p99Ms').toFixed(3)),
    distkv_generator_puts_s: etcd === undefined ? null : Math.round(distkvGen),
    etcd_puts_s: etcd === undefined ? null : Math.round(etcdGen),
    distkv_vs_etcd: etcd === undefined ? null : Number((distkvGen / etcdGen).toFixed(2)),
    digests_agree: agree,
    runs: RUNS,
  });
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGKILL');
  for (const stop of stoppers) stop();
  rmSync(root, { recursive: true, force: true });
}
