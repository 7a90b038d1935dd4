// `pnpm bench failover`: how long writes stop when the leader dies. A
// 3-node cluster on loopback under a steady write load — writers on every
// node, each with one SET in flight, retrying at once on an error; SIGKILL
// the leader ROUNDS times, restarting it each time. Per kill, the window
// runs from the last write acknowledged before the kill to the first one
// acknowledged after it. Three settings: Raft with the loopback timing (what
// `cluster up` uses: tick 10 ms, election timeout 150–300 ms), Raft with the
// default LAN timing (`--timing lan`: tick 100 ms, election timeout 2–4 s),
// then Bully (loopback timing). Prints a table, then one JSON line.
// `pnpm bench failover --rounds 5 [--only loopback|lan|bully]` for a quick look (`--kills` is the old name).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, parseInfo } from '@distkv/net';
import { freeStablePort, printJsonLine, printTable } from './lib.js';

const roundsArg = Math.max(process.argv.indexOf('--rounds'), process.argv.indexOf('--kills'));
/** 10 by default: the LAN setting's kills take 3–5 s each, so a full run stays near two minutes. */
const KILLS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 10;
if (!Number.isSafeInteger(KILLS) || KILLS < 1 || KILLS > 1000) {
  console.error('--rounds must be an integer from 1 to 1000');
  process.exit(2);
}
type Setting = 'loopback' | 'lan' | 'bully';
const SETTINGS: Record<Setting, { election: 'raft' | 'bully'; timing: 'loopback' | 'lan'; label: string }> = {
  loopback: { election: 'raft', timing: 'loopback', label: 'raft, loopback timing (cluster up)' },
  lan: { election: 'raft', timing: 'lan', label: 'raft, default LAN timing' },
  bully: { election: 'bully', timing: 'loopback', label: 'bully, loopback timing' },
};
const WRITERS_PER_NODE = 2;
const launcher = join(process.cwd(), 'packages', 'cli', 'bin', 'distkv.mjs');
const root = mkdtempSync(join(tmpdir(), 'distkv-bench-failover-'));
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean>, pollsMax = 600): Promise<void> {
  for (let i = 0; i < pollsMax; i++) {
    try {
      if (await cond()) return;
    } catch {
      // down or electing
    }
    await sleep(20);
  }
  throw new Error(`gave up waiting for: ${what}`);
}

class Cluster {
  readonly ids = ['n1', 'n2', 'n3'];
  readonly clientPorts = new Map<string, number>();
  readonly procs = new Map<string, ChildProcess>();
  /** Nodes that exited without being killed. */
  crashes = 0;
  stopped = false;
  constructor(
    readonly election: 'raft' | 'bully',
    readonly timing: 'loopback' | 'lan',
    readonly peerPorts: Map<string, number>,
    readonly dir: string,
  ) {}

  static async create(setting: Setting): Promise<Cluster> {
    const { election, timing } = SETTINGS[setting];
    const peerPorts = new Map<string, number>();
    const cluster = new Cluster(election, timing, peerPorts, join(root, setting));
    for (const id of cluster.ids) {
      peerPorts.set(id, await freeStablePort());
      cluster.clientPorts.set(id, await freeStablePort());
    }
    return cluster;
  }

  async start(id: string): Promise<void> {
    const peers = this.ids
      .filter((p) => p !== id)
      .map((p) => `${p}=127.0.0.1:${this.peerPorts.get(p)}`)
      .join(',');
    // biome-ignore format: flag pairs
    const args = [launcher, 'server', '--quiet', '--port', String(this.clientPorts.get(id)), '--id', id,
      '--peer-port', String(this.peerPorts.get(id)), '--peers', peers, '--election', this.election,
      '--data-dir', join(this.dir, id), '--write-timeout-ms', '2000', '--timing', this.timing];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    this.procs.set(id, child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening on')) resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`${id} exited with ${code}`));
        // Died on its own (an assertion): count it and start it again, as a supervisor would.
        if (this.procs.get(id) === child && !this.stopped) {
          this.crashes++;
          this.procs.delete(id);
          setTimeout(() => void this.start(id).catch(() => undefined), 100);
        }
      });
    });
  }

  kill(id: string): Promise<void> {
    const child = this.procs.get(id);
    this.procs.delete(id);
    if (child === undefined || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
      children.delete(child);
    });
  }

  async info(id: string): Promise<Map<string, string>> {
    const c = await Client.connect({ port: this.clientPorts.get(id) as number, reconnect: { attemptsMax: 1 }, timeoutMs: 2_000 });
    try {
      return parseInfo(String(await c.call('INFO', 'replication')));
    } finally {
      await c.close();
    }
  }

  /** The leader all three agree on, once every node applied what it had committed. */
  async stableLeader(): Promise<string> {
    let leader = '';
    await until(
      'a stable leader, every node caught up',
      async () => {
        const infos = await Promise.all(this.ids.map((id) => this.info(id)));
        const leaders = new Set(infos.map((i) => i.get('leader_id')));
        const [l] = leaders;
        if (leaders.size !== 1 || l === undefined || l === '') return false;
        const li = infos[this.ids.indexOf(l)];
        if (li?.get('role') !== 'leader') return false;
        // Under load the indexes move: each node must have applied what the leader had committed before.
        const commit = Number(li.get('commit_index'));
        const again = await Promise.all(this.ids.map((id) => this.info(id)));
        if (!again.every((i) => Number(i.get('applied_index')) >= commit && i.get('leader_id') === l)) return false;
        leader = l;
        return true;
      },
      1_500,
    );
    return leader;
  }
}

/** Writers that record, for every acknowledged SET, when it was sent and when its OK came. */
class Load {
  readonly ackTimes: number[] = [];
  /** Send time of the write acknowledged at ackTimes[i]. */
  readonly sentTimes: number[] = [];
  readonly errors = new Map<string, number>();
  #running = true;
  readonly #loops: Array<Promise<void>> = [];
  #seq = 0;
  constructor(cluster: Cluster) {
    for (const id of cluster.ids) for (let w = 0; w < WRITERS_PER_NODE; w++) this.#loops.push(this.#loop(cluster, id));
  }

  async #loop(cluster: Cluster, id: string): Promise<void> {
    let client: Client | undefined;
    while (this.#running) {
      try {
        client ??= await Client.connect({
          port: cluster.clientPorts.get(id) as number,
          reconnect: { attemptsMax: 1 },
          timeoutMs: 3_000,
        });
        const key = `k${this.#seq++}`;
        const sentAt = performance.now();
        if ((await client.call('SET', key, key)) === 'OK') {
          this.ackTimes.push(performance.now());
          this.sentTimes.push(sentAt);
        }
      } catch (err) {
        const kind = /TRYAGAIN|TIMEOUT/.exec(String(err))?.[0] ?? String(err).slice(0, 60);
        this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
        if (!/TRYAGAIN|TIMEOUT/.test(String(err))) {
          await client?.close().catch(() => undefined);
          client = undefined;
          await sleep(20);
        }
      }
    }
    await client?.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function measure(election: Setting): Promise<number[]> {
  const cluster = await Cluster.create(election);
  await Promise.all(cluster.ids.map((id) => cluster.start(id)));
  await cluster.stableLeader();
  const load = new Load(cluster);
  const windows: number[] = [];
  let restarted = '';
  try {
    for (let k = 0; k < KILLS; k++) {
      const leader = await cluster.stableLeader();
      const acksBefore = load.ackTimes.length;
      await until('writes flow', async () => load.ackTimes.length >= acksBefore + 20).catch((err: unknown) => {
        console.error(load.errors);
        throw err;
      });
      await cluster.kill(leader);
      // Measured from the moment the parent sees the exit: replies the leader sent just before dying are "before".
      const diedAt = performance.now();
      // "After" counts only writes sent after the exit: an OK for a write the dead leader had already
      // committed can reach a writer through a follower a few ms late, and says nothing about failover.
      const sentAfter = (i: number): boolean => (load.sentTimes[i] ?? 0) > diedAt;
      await until('a write sent and acknowledged after the kill', async () => load.sentTimes.some((_, i) => sentAfter(i)), 1_500);
      const lastBefore = load.ackTimes.filter((t) => t <= diedAt).at(-1) ?? diedAt;
      const firstAfter = Math.min(...load.ackTimes.filter((_, i) => sentAfter(i)));
      lateAcks[election] = (lateAcks[election] ?? 0) + (load.ackTimes.some((t, i) => t > diedAt && !sentAfter(i)) ? 1 : 0);
      windows.push(firstAfter - lastBefore);
      kills.push({ election, killed: leader, gapMs: firstAfter - lastBefore, restartedBefore: restarted });
      await cluster.start(leader);
      restarted = leader;
    }
  } finally {
    await load.stop();
    cluster.stopped = true;
    for (const id of cluster.ids) await cluster.kill(id);
  }
  crashes[election] = cluster.crashes;
  return windows;
}

/** Every kill, in order: which node was killed, and which one had been restarted just before (the previous victim). */
const kills: Array<{ election: string; killed: string; gapMs: number; restartedBefore: string }> = [];
const results: Record<string, number> = {};
/** Kills after which some OK arrived late for a write sent before the exit. */
const lateAcks: Record<string, number> = {};
const crashes: Record<string, number> = {};
const rows: Array<[string, string | number]> = [];
try {
  const onlyArg = process.argv.indexOf('--only');
  const settings = (Object.keys(SETTINGS) as Setting[]).filter((e) => onlyArg < 0 || process.argv[onlyArg + 1] === e);
  for (const election of settings) {
    const windows = (await measure(election)).sort((a, b) => a - b);
    const p50 = Math.round(percentile(windows, 50));
    const p99 = Math.round(percentile(windows, 99));
    const max = Math.round(windows.at(-1) ?? Number.NaN);
    results[`${election}_p50_ms`] = p50;
    results[`${election}_p99_ms`] = p99;
    results[`${election}_max_ms`] = max;
    const label = SETTINGS[election].label;
    rows.push([`${label}: write gap p50 / p99 / max (ms)`, `${p50} / ${p99} / ${max}`]);
    rows.push([`${label}: nodes that died on their own`, crashes[election] ?? 0]);
    rows.push([`${label}: kills followed by a late OK of an earlier write`, lateAcks[election] ?? 0]);
    rows.push([`${label}: every gap, sorted (ms)`, windows.map((w) => Math.round(w)).join(' ')]);
    // Bully hands leadership back to a restarted higher id: a kill that lands while that happens stops no write.
    const mine = kills.filter((k) => k.election === election);
    const under10 = mine.filter((k) => k.gapMs < 10);
    rows.push([
      `${label}: gaps < 10 ms (killed, restarted before)`,
      under10.length === 0 ? 'none' : under10.map((k) => `${k.killed}/${k.restartedBefore || '-'}`).join(' '),
    ]);
  }
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}
rows.push(
  ['leader kills per setting', KILLS],
  ['targets', 'loopback p50 < 300 ms; LAN: one election timeout (2-4 s) plus a vote round'],
);
printTable(`failover: 3 nodes on loopback, SIGKILL the leader ${KILLS} times under ${3 * WRITERS_PER_NODE} writers`, rows);
printJsonLine({
  loopback_p50_ms: results.loopback_p50_ms ?? null,
  loopback_p99_ms: results.loopback_p99_ms ?? null,
  loopback_max_ms: results.loopback_max_ms ?? null,
  default_p50_ms: results.lan_p50_ms ?? null,
  default_p99_ms: results.lan_p99_ms ?? null,
  default_max_ms: results.lan_max_ms ?? null,
  bully_p50_ms: results.bully_p50_ms ?? null,
  bully_p99_ms: results.bully_p99_ms ?? null,
  bully_max_ms: results.bully_max_ms ?? null,
  kills: KILLS,
});
