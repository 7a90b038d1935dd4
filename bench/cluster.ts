// `pnpm bench cluster`: what replication costs. redis-benchmark SET with 50
// clients against a 3-node `sync` cluster (through the leader: every reply
// waits until a majority has the write fsynced and the leader applied it)
// and against one durable node (`--fsync always`), same machine, one run
// each after a short warm-up, repeated `--runs` times (default 3) in turns,
// since this shared machine's figures swing by half from one minute to the
// next; the medians count. Prints a table, then one JSON line.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, hasCommand, printJsonLine, printTable, redisBenchmarkRates, redisCli, waitForRedisPing } from './lib.js';

const CLIENTS = 50;
const REQUESTS = 40_000;
const WARMUP_REQUESTS = 5_000;
const KEYSPACE = 100_000;
const TARGET = 0.5;
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

const launcher = join(process.cwd(), 'packages', 'cli', 'bin', 'distkv.mjs');
const children: ChildProcess[] = [];
const root = mkdtempSync(join(tmpdir(), 'distkv-bench-cluster-'));

async function startServer(args: string[]): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [launcher, 'server', '--port', String(port), '--quiet', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await waitForRedisPing(port);
  return port;
}

async function startCluster(): Promise<number[]> {
  const ids = ['n1', 'n2', 'n3'];
  const peerPorts = await Promise.all(ids.map(() => freePort()));
  const ports = await Promise.all(
    ids.map((id, i) => {
      const peers = ids
        .map((p, j) => [p, peerPorts[j]] as const)
        .filter(([p]) => p !== id)
        .map(([p, port]) => `${p}=127.0.0.1:${port}`)
        .join(',');
      // biome-ignore format: flag pairs
      return startServer(['--id', id, '--peer-port', String(peerPorts[i]), '--peers', peers, '--leader', 'n1',
        '--replication', 'sync', '--data-dir', join(root, id), '--fsync', 'always']);
    }),
  );
  // Bounded wait until both followers follow n1.
  for (let i = 0; i < 600; i++) {
    const following = ports.slice(1).every((p) => /leader_id:n1/.test(redisCli(p, ['INFO', 'replication'])));
    if (following) return ports;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the followers never heard from n1');
}

function measure(port: number): number {
  redisBenchmarkRates(port, { tests: 'set', clients: CLIENTS, requests: WARMUP_REQUESTS, keyspace: KEYSPACE });
  return redisBenchmarkRates(port, { tests: 'set', clients: CLIENTS, requests: REQUESTS, keyspace: KEYSPACE }).SET ?? 0;
}

async function main(): Promise<void> {
  if (!hasCommand('redis-benchmark') || !hasCommand('redis-cli')) {
    console.error('redis-benchmark and redis-cli are needed: sudo apt-get install redis-tools');
    process.exit(2);
  }
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); every server and redis-benchmark share them.`,
  );
  // Both stay up; each run measures the single node, then the cluster, so a slow minute hits both.
  const singlePort = await startServer(['--data-dir', join(root, 'single'), '--fsync', 'always']);
  const clusterPorts = await startCluster();
  const singles: number[] = [];
  const clusters: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    singles.push(measure(singlePort));
    clusters.push(measure(clusterPorts[0] as number));
  }
  const single = median(singles);
  const cluster = median(clusters);
  const digests = clusterPorts.map((p) => redisCli(p, ['DEBUG', 'DIGEST']).trim());
  const ratio = single > 0 ? cluster / single : 0;
  const list = (v: number[]): string => v.map((x) => Math.round(x).toLocaleString('en-US')).join(', ');

  printTable(
    `SET, ${CLIENTS} clients, ${REQUESTS.toLocaleString('en-US')} requests (after ${WARMUP_REQUESTS} warm-up), median of ${RUNS}`,
    [
      ['single durable node (--fsync always) ops/s', Math.round(single)],
      ['3-node cluster, sync, through the leader ops/s', Math.round(cluster)],
      ['every run: single', list(singles)],
      ['every run: cluster', list(clusters)],
      ['cluster / single (medians)', ratio.toFixed(2)],
      ['target', `>= ${TARGET}`],
      ['replica digests after the run', digests.join(' ')],
    ],
  );
  printJsonLine({
    cluster_set_ops_s: Math.round(cluster),
    single_durable_set_ops_s: Math.round(single),
    cluster_vs_single: Number(ratio.toFixed(3)),
    runs: RUNS,
  });
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}
