// `pnpm bench membership`: what adding a node costs (issue 19). For each
// store size (`--keys 100000,1000000`, the default): a 3-node cluster of
// `distkv server` processes (Raft elections, as `cluster up` runs it) is
// filled with that many keys through `redis-cli --pipe`; then a closed-loop
// write load (bench/closed-loop.ts, 16 clients) runs for a fixed count to
// measure throughput and p99 before; then a fourth process starts with
// `--join` and the same load runs until the leader's `/v1/members` shows it
// a voter: the time from its start to voter, and the throughput and p99
// while it caught up (InstallSnapshot of the whole store, then entries),
// against before. Afterwards all four digests must agree. Prints a table,
// then one JSON line.
//
// The servers run with `--timing lan` (a 2–4 s election timeout), not the
// loopback preset `cluster up` picks on one machine (150–300 ms): with that
// one, a leader filling a store of 100,000 keys loses its leadership to the
// synchronous snapshot copy of a compaction (chapter 5's lease section and
// `pnpm bench stall`: about 1.2 s at 1M keys), and the figures would measure
// elections, not the join. `--timing loopback` measures that anyway.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadResult, respSetLoad } from './closed-loop.js';
import { freePort, freeStablePort, printJsonLine, printTable, redisCli, waitForRedisPing } from './lib.js';

const keysArg = process.argv.indexOf('--keys');
const SIZES = (keysArg > 0 ? String(process.argv[keysArg + 1]) : '100000,1000000').split(',').map(Number);
if (SIZES.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 5_000_000)) {
  console.error('--keys takes store sizes from 1 to 5,000,000, comma-separated');
  process.exit(2);
}
const CLIENTS = 16;
const BEFORE_REQUESTS = 20_000;
const JOIN_TIMEOUT_MS = 300_000;
const FILL_BATCH = 2_000;
const timingArg = process.argv.indexOf('--timing');
const TIMING = timingArg > 0 ? String(process.argv[timingArg + 1]) : 'lan';

const launcher = join(process.cwd(), 'packages', 'cli', 'bin', 'distkv.mjs');
const children: ChildProcess[] = [];
const root = mkdtempSync(join(tmpdir(), 'distkv-bench-membership-'));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

interface Server {
  id: string;
  port: number;
  http: number;
  peer: number;
  child: ChildProcess;
}

async function startServer(dir: string, id: string, peer: number, args: string[]): Promise<Server> {
  const port = await freePort();
  const http = await freePort();
  // biome-ignore format: one flag per pair reads better
  const flags = ['server', '--id', id, '--port', String(port), '--http-port', String(http), '--peer-port', String(peer),
    '--data-dir', join(dir, id), '--timing', TIMING, '--quiet', ...args];
  const child = spawn(process.execPath, [launcher, ...flags], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  await waitForRedisPing(port);
  return { id, port, http, peer, child };
}

function info(port: number): Map<string, string> {
  const lines = redisCli(port, ['INFO', 'replication']).split(/\r?\n/);
  return new Map(lines.filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

async function leaderOf(servers: Server[]): Promise<Server> {
  for (let i = 0; i < 600; i++) {
    const leader = servers.find((s) => info(s.port).get('role') === 'leader');
    if (leader !== undefined) return leader;
    await new Promise((r) => setTimeout(r, 100));
  }
  const roles = servers.map((s) => `${s.id}: ${info(s.port).get('role')} of term ${info(s.port).get('term')}`);
  throw new Error(`no leader within 60 s (${roles.join(', ')})`);
}

/**
 * SETs key:0 … key:n-1 through redis-cli --pipe, in batches, to whoever
 * leads; a batch with any error (the leader changed) is sent again, whole
 * (SET is idempotent), at most 5 times.
 */
async function fill(servers: Server[], n: number): Promise<void> {
  for (let from = 0; from < n; from += FILL_BATCH) {
    const parts: string[] = [];
    for (let i = from; i < Math.min(n, from + FILL_BATCH); i++) {
      const key = `key:${i}`;
      parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$16\r\nvvvvvvvvvvvvvvvv\r\n`);
    }
    for (let attempt = 1; ; attempt++) {
      const leader = await leaderOf(servers);
      let out: string;
      try {
        out = redisCli(leader.port, ['--pipe'], parts.join(''));
      } catch (err) {
        out = (err as Error).message;
      }
      if (/errors: 0, replies: \d+/.test(out)) break;
      if (attempt === 5) throw new Error(`the fill failed 5 times at key ${from}: ${out.trim().slice(0, 300)}`);
      fillRetries++;
    }
  }
}
let fillRetries = 0;

async function roleOf(leader: Server, id: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${leader.http}/v1/members`);
    const body = (await res.json()) as { members: Array<{ id: string; role: string }> };
    return body.members.find((m) => m.id === id)?.role;
  } catch {
    return undefined;
  }
}

async function digestsAgree(servers: Server[]): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const digests = servers.map((s) => redisCli(s.port, ['DEBUG', 'DIGEST']).trim());
    if (new Set(digests).size === 1) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

interface Figures {
  keys: number;
  joinToVoterMs: number;
  before: LoadResult;
  during: LoadResult;
  agree: boolean;
}

async function measure(keys: number): Promise<Figures> {
  // Peer ports below the ephemeral range, where no outgoing connection (another cluster's, say) can take one meanwhile.
  const ids = ['n1', 'n2', 'n3'];
  const peers: number[] = [];
  for (const _ of ids) peers.push(await freeStablePort());
  const peerList = (self: string) =>
    ids
      .map((id, i) => `${id}=127.0.0.1:${peers[i]}`)
      .filter((p) => !p.startsWith(`${self}=`))
      .join(',');
  // Each store size gets a cluster of its own, data directories too.
  const dir = mkdtempSync(join(root, `${keys}-`));
  const servers = await Promise.all(ids.map((id, i) => startServer(dir, id, peers[i] as number, ['--peers', peerList(id)])));
  await fill(servers, keys);
  const leader = await leaderOf(servers);
  const load = { clients: CLIENTS, keyspace: keys };
  await respSetLoad(leader.port, { ...load, requests: 2_000 }); // warm-up
  const before = await respSetLoad(leader.port, { ...load, requests: BEFORE_REQUESTS });

  // n4 joins through any member's client endpoint; the load runs until the leader lists it a voter.
  const started = performance.now();
  let voterAtMs: number | undefined;
  const joinPeer = await freeStablePort();
  const joining = startServer(dir, 'n4', joinPeer, ['--join', `127.0.0.1:${servers[1]?.port}`]);
  const watch = (async () => {
    while (voterAtMs === undefined && performance.now() - started < JOIN_TIMEOUT_MS) {
      if ((await roleOf(leader, 'n4')) === 'voter') voterAtMs = performance.now() - started;
      else await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const during = await respSetLoad(leader.port, {
    ...load,
    requests: Number.MAX_SAFE_INTEGER,
    stop: () => voterAtMs !== undefined || performance.now() - started > JOIN_TIMEOUT_MS,
  });
  await watch;
  const n4 = await joining;
  if (voterAtMs === undefined) throw new Error(`n4 was not a voter within ${JOIN_TIMEOUT_MS} ms`);
  const agree = await digestsAgree([...servers, n4]);
  for (const s of [...servers, n4]) s.child.kill('SIGKILL');
  return { keys, joinToVoterMs: Math.round(voterAtMs), before, during, agree };
}

const results: Figures[] = [];
for (const keys of SIZES) results.push(await measure(keys));

const rows: Array<[string, string | number]> = [];
for (const r of results) {
  const k = r.keys.toLocaleString('en-US');
  rows.push(
    [`${k} keys: --join to voter`, `${r.joinToVoterMs} ms`],
    [`${k} keys: writes/s before, during`, `${Math.round(r.before.opsPerSec)}, ${Math.round(r.during.opsPerSec)}`],
    [`${k} keys: p99 before, during`, `${r.before.p99Ms.toFixed(1)} ms, ${r.during.p99Ms.toFixed(1)} ms`],
    [`${k} keys: digests of all four`, r.agree ? 'agree' : 'DIFFER'],
  );
}
rows.push(['fill batches sent again (leader changed)', fillRetries], ['election timing', `--timing ${TIMING}`]);
printTable(`adding a node under a ${CLIENTS}-client write load (3 voters, --join, auto-promotion)`, rows);
const json: Record<string, number | boolean> = {};
for (const r of results) {
  const k = r.keys >= 1_000_000 ? `${r.keys / 1_000_000}m` : `${r.keys / 1_000}k`;
  json[`join_to_voter_ms_${k}`] = r.joinToVoterMs;
  json[`ops_s_before_${k}`] = Math.round(r.before.opsPerSec);
  json[`ops_s_during_${k}`] = Math.round(r.during.opsPerSec);
  json[`p99_ms_before_${k}`] = Number(r.before.p99Ms.toFixed(1));
  json[`p99_ms_during_${k}`] = Number(r.during.p99Ms.toFixed(1));
}
json.digests_agree = results.every((r) => r.agree);
json.fill_batches_retried = fillRetries;
printJsonLine(json);
process.exit(results.every((r) => r.agree) ? 0 : 1);
