/**
 * One chaos run: start the cluster, run the workload under the nemesis,
 * heal, wait, read every key a last time, check the history and write the
 * report. `pnpm chaos` (main.ts) and the CI tests both call runChaos.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '@distkv/core/testing';
import type { Client } from '@distkv/net';
import { checkHistory, explain, type Operation } from './checker.js';
import { ChaosCluster, repoRoot, sleep } from './cluster.js';
import { Nemesis, type NemesisKind } from './nemesis.js';
import { availability, type LeaderChange, reportHtml, timelineSvg } from './report.js';
import { type HistoryOp, Workload } from './workload.js';

export interface ChaosOptions {
  timeSec: number;
  nodes: number;
  nemesis: NemesisKind;
  seed: number;
  election: 'raft' | 'bully';
  replication: 'sync' | 'async';
  readMode: 'read-index' | 'lease' | 'stale';
  clients: number;
  keys: number;
  /** Quiet and fault durations of each nemesis cycle, [min, max] ms. */
  quietMs: [number, number];
  faultMs: [number, number];
  /** Membership changes alongside the nemesis (see ScheduleOptions.membership). */
  membership: boolean;
  /** Where the report goes (default tmp/chaos/<name> under the repo, which git ignores). */
  reportDir?: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export const defaultChaosOptions: ChaosOptions = {
  timeSec: 60,
  nodes: 5,
  nemesis: 'all',
  seed: 1,
  election: 'raft',
  replication: 'sync',
  readMode: 'read-index',
  clients: 6,
  keys: 3,
  quietMs: [2_000, 4_000],
  faultMs: [3_000, 7_000],
  membership: false,
};

export interface ChaosResult {
  linearizable: boolean | 'unknown';
  ops: number;
  ok: number;
  fail: number;
  info: number;
  lost_acknowledged_writes: number;
  nemesis_events: number;
  report: string;
  seed: number;
  /** Not part of the JSON line: details for tests and the report. */
  details: {
    explain: string;
    lost: Array<{ key: string; acknowledged: string; final: string | null }>;
    crashes: Array<{ id: string; code: number | null; signal: string | null; log: string }>;
    events: Array<{ kind: string; detail: string }>;
    converged: boolean;
    /** INFO replication of each node when the cluster did not converge after healing. */
    infos: Record<string, Record<string, string>>;
    finalReadsMissing: string[];
    diskSkipReason: string;
    /** The members at the end (the membership nemesis changes them). */
    members: string[];
    /** Peer connections whose first frame named no sender (see IngressProxy): 0, or the faults missed them. */
    unknownSenders: number;
  };
}

/** Polls cond (errors count as false) every 250 ms, at most pollsMax times. */
async function until(cond: () => Promise<boolean>, pollsMax: number): Promise<boolean> {
  for (let i = 0; i < pollsMax; i++) {
    try {
      if (await cond()) return true;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  return false;
}

// #region lost-writes
/**
 * Acknowledged writes that are gone: for keys with a single writer issuing
 * in order (the unique keys, the probe keys), the last acknowledged value
 * must be the final value, unless a later write with an unknown outcome
 * replaced it.
 */
export function lostWrites(history: HistoryOp[], finals: Map<string, string | null>, singleWriterKey: (k: string) => boolean) {
  const lost: Array<{ key: string; acknowledged: string; final: string | null }> = [];
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of history) {
    if (op.kind !== 'write' || !singleWriterKey(op.key)) continue;
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  for (const [key, writes] of byKey) {
    if (!finals.has(key)) continue;
    const final = finals.get(key) ?? null;
    let lastAck = -1;
    writes.forEach((w, i) => {
      if (w.status === 'ok') lastAck = i;
    });
    if (lastAck < 0) continue;
    const allowed = new Set(
      writes
        .slice(lastAck)
        .filter((w) => w.status !== 'fail')
        .map((w) => w.value ?? null),
    );
    if (!allowed.has(final)) lost.push({ key, acknowledged: writes[lastAck]?.value ?? '', final });
  }
  return lost;
}
// #endregion lost-writes

export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosResult> {
  const o: ChaosOptions = { ...defaultChaosOptions, ...partial };
  const log = o.log ?? (() => undefined);
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${o.nemesis}${o.membership ? '+membership' : ''}-${o.election}-${o.replication}-seed${o.seed}`;
  const reportDir = o.reportDir ?? join(repoRoot, 'tmp', 'chaos', name);
  mkdirSync(reportDir, { recursive: true });
  const rng = mulberry32(o.seed);
  const cluster = await ChaosCluster.create({
    nodes: o.nodes,
    election: o.election,
    replication: o.replication,
    readMode: o.readMode,
    smallDisks: o.nemesis === 'disk' || o.nemesis === 'all',
    writeTimeoutMs: 1_500,
    snapshotEvery: 500,
  });
  const t0 = performance.now();
  const workload = new Workload(cluster, { clients: o.clients, keys: o.keys, timeoutMs: 2_500, thinkMsMax: 40 }, rng, t0);
  const nemesis = new Nemesis(cluster, workload, rng, {
    kind: o.nemesis,
    quietMs: o.quietMs,
    faultMs: o.faultMs,
    membership: o.membership,
  });
  const leaders: LeaderChange[] = [];
  let monitoring = true;
  let monitor: Promise<void> = Promise.resolve();
  try {
    log(`starting ${o.nodes} nodes in ${cluster.root}`);
    await cluster.processes.startAll();
    if (!(await until(() => cluster.converged(), 240)))
      throw new Error('the cluster never elected a leader that all nodes follow');
    log(`cluster up; running ${o.timeSec} s of ${o.nemesis}`);
    workload.startClock();
    monitor = (async () => {
      while (monitoring) {
        const leader = (await cluster.findLeader()) ?? null;
        if (leaders.at(-1)?.leader !== leader) leaders.push({ atMs: workload.now(), leader });
        await sleep(300);
      }
    })();
    workload.start();
    nemesis.start();
    await sleep(o.timeSec * 1_000);
    log('stopping the nemesis and the workload');
    await nemesis.stop();
    await workload.stop();
    await cluster.healAll();
    const converged = await until(() => cluster.converged(), 240);
    monitoring = false;
    await monitor;
    log(`healed (converged: ${converged}); final reads`);
    const infos: Record<string, Record<string, string>> = {};
    if (!converged) {
      for (const id of cluster.ids) {
        infos[id] = Object.fromEntries(
          (await cluster.processes.info(id, 1_000).catch(() => new Map<string, string>())).entries(),
        );
        log(`  ${id} up=${cluster.processes.isUp(id)} ${JSON.stringify(infos[id])}`);
      }
    }

    // Final reads: every key once, through the leader, on a lane of its own.
    const lane = o.clients + 1;
    const keys = [...new Set(workload.history.map((op) => op.key))].sort();
    const finals = new Map<string, string | null>();
    const missing: string[] = [];
    // Bounded: 90 s for all final reads; keys not read by then are reported missing.
    const finalDeadline = performance.now() + 90_000;
    let leader: string | undefined;
    let conn: Client | undefined;
    for (const key of keys) {
      let done = false;
      for (let attempt = 0; attempt < 40 && !done && performance.now() < finalDeadline; attempt++) {
        if (conn === undefined) {
          leader = (await cluster.findLeader()) ?? (cluster.ids[attempt % cluster.ids.length] as string);
          conn = await cluster.processes.client(leader, 3_000).catch(() => undefined);
        }
        const op = await workload.run(conn, { client: lane, node: leader ?? '', key, kind: 'read' }, ['GET', key], (v) => ({
          output: v === null ? null : String(v),
        }));
        if (op.status === 'ok') {
          finals.set(key, op.output as string | null);
          done = true;
        } else {
          void conn?.close().catch(() => undefined);
          conn = undefined;
          await sleep(250);
        }
      }
      if (!done) missing.push(key);
    }
    void conn?.close().catch(() => undefined);

    const history = workload.history;
    const verdict = checkHistory(history as Operation[], { stepsMaxPerKey: 20_000_000 });
    const probe = new Set(nemesis.probeKeys);
    const lost = lostWrites(history, finals, (k) => k.startsWith('u') || probe.has(k));
    const counts = { ok: 0, fail: 0, info: 0 };
    for (const op of history) counts[op.status]++;
    const why = explain(verdict);
    const result: ChaosResult = {
      linearizable: verdict.linearizable,
      ops: history.length,
      ...counts,
      lost_acknowledged_writes: lost.length,
      nemesis_events: nemesis.events.length,
      report: reportDir,
      seed: o.seed,
      details: {
        explain: why,
        lost,
        crashes: cluster.processes.crashes(),
        events: nemesis.events.map((e) => ({ kind: e.kind, detail: e.detail })),
        converged,
        infos,
        finalReadsMissing: missing,
        diskSkipReason: cluster.disksMounted || !(o.nemesis === 'disk' || o.nemesis === 'all') ? '' : cluster.diskSkipReason,
        members: [...cluster.ids],
        unknownSenders: cluster.unknownSenders,
      },
    };

    const highlight = new Set<HistoryOp>();
    for (const k of verdict.keys) for (const op of k.counterexample ?? []) highlight.add(op as HistoryOp);
    const endMs = Math.max(workload.now(), ...history.map((op) => op.returnMs));
    const avail = availability(
      history.filter((op) => op.client < o.clients),
      nemesis.events,
    );
    const { details, ...line } = result;
    const summary = {
      ...line,
      options: { ...o, log: undefined },
      converged,
      infos,
      lost,
      crashes: details.crashes,
      events: nemesis.events,
      leaders,
    };
    writeFileSync(join(reportDir, 'history.json'), `${JSON.stringify(history)}\n`);
    writeFileSync(
      join(reportDir, 'summary.json'),
      `${JSON.stringify({ ...summary, availability: avail, verdict: verdict.keys.map(({ key, linearizable, ops }) => ({ key, linearizable, ops })) }, null, 2)}\n`,
    );
    writeFileSync(join(reportDir, 'counterexample.txt'), `${why}\n`);
    const lanes = new Map([
      [o.clients, 'nemesis'],
      [o.clients + 1, 'final reads'],
    ]);
    const svg = timelineSvg(history, nemesis.events, leaders, endMs, highlight, lanes);
    writeFileSync(join(reportDir, 'timeline.svg'), `${svg}\n`);
    writeFileSync(
      join(reportDir, 'index.html'),
      reportHtml(
        `distkv chaos: ${o.nemesis}, ${o.election}/${o.replication}/${o.readMode}, seed ${o.seed}`,
        line,
        avail,
        svg,
        why,
      ),
    );
    return result;
  } finally {
    monitoring = false;
    await monitor.catch(() => undefined);
    await nemesis.stop().catch(() => undefined);
    await workload.stop().catch(() => undefined);
    await cluster.destroy();
  }
}
