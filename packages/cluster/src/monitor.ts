/**
 * Watches one node for the metrics and the dashboard. The Raft driver has
 * no event hooks (and the pure core must not grow any), so the monitor
 * samples the node's status every `sampleEveryMs` and turns differences
 * into events and counters: a higher term is an election, a different
 * known leader a leader change, a higher snapshot index a snapshot. A
 * change that comes and goes between two samples (a candidate that loses
 * within 100 ms) shows only as the term it left behind, which is what the
 * counter counts anyway. Requests, fsyncs and WAL batches are pushed to it
 * by hooks in @distkv/net and @distkv/wal as they happen.
 */
import { readdirSync } from 'node:fs';
import { observeWal } from '@distkv/wal';
import { clusterError } from './errors.js';
import { EventRing, type NodeEvent } from './events.js';
import { type MetricsSource, NodeMetrics } from './metrics.js';
import { OpsSeries, type SeriesPoint } from './series.js';

// #region monitor-limits
export interface MonitorLimits {
  /** Events kept per node (a ring: the oldest go first). */
  eventsMax: number;
  /** Points of the ops/latency series kept (one per second). */
  seriesPointsMax: number;
  /** How often the node's status is sampled for events. */
  sampleEveryMs: number;
}

export const defaultMonitorLimits: Readonly<MonitorLimits> = Object.freeze({
  eventsMax: 200,
  seriesPointsMax: 120,
  sampleEveryMs: 100,
});
// #endregion monitor-limits

/** What the monitor reads from the node on each sample. */
export interface MonitorSource {
  status(): Omit<MetricsSource, 'links'> & { snapshotsInstalled: number };
  links(): MetricsSource['links'];
}

function hasFiles(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false; // missing (a fresh node) or unreadable (the replica will say so)
  }
}

export class NodeMonitor {
  readonly id: string;
  readonly limits: Readonly<MonitorLimits>;
  readonly metrics: NodeMetrics;
  readonly events: EventRing;
  readonly series: OpsSeries;
  readonly startedAtMs = Date.now();
  #source: MonitorSource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unobserveWal: () => void;
  /** The data dir held something when the monitor was built (before the replica opened it): a restart. */
  readonly #restarted: boolean;
  #last: { term: number; role: string; leader: string | null; snapshotIndex: number; snapshotsInstalled: number } | undefined;
  /** The last leader known (not null), so n1 → none → n2 counts as a change. */
  #lastKnownLeader: string | null = null;
  #linkStates = new Map<string, string>();
  #lastRollMs = Date.now();

  constructor(id: string, dataDir: string, limits: Partial<MonitorLimits> = {}) {
    const resolved = { ...defaultMonitorLimits, ...limits };
    if (!Number.isSafeInteger(resolved.sampleEveryMs) || resolved.sampleEveryMs < 10 || resolved.sampleEveryMs > 60_000)
      throw clusterError(
        'CLUSTER_CONFIG_INVALID',
        `sampleEveryMs must be an integer in 10..60000, got ${resolved.sampleEveryMs}`,
      );
    this.id = id;
    this.limits = resolved;
    this.#restarted = hasFiles(dataDir);
    this.metrics = new NodeMetrics(id);
    this.events = new EventRing(resolved.eventsMax);
    this.series = new OpsSeries(resolved.seriesPointsMax);
    this.#unobserveWal = observeWal(dataDir, {
      onFsync: ({ seconds }) => this.metrics.observeFsync(seconds),
      onBatch: ({ entries, bytes }) => this.metrics.observeBatch(entries, bytes),
    });
  }

  /** The client server's onRequest hook. */
  readonly onRequest = (sample: { command: string; ok: boolean; latencySeconds: number }): void => {
    this.metrics.observeRequest(sample.command, sample.ok, sample.latencySeconds);
    this.series.record(sample.latencySeconds, sample.ok);
  };

  /** Starts sampling `source`; records the start, or a restart when the data dir held state before the replica opened it. */
  attach(source: MonitorSource): void {
    this.#source = source;
    this.metrics.setSource(() => ({ ...source.status(), links: source.links() }));
    const s = source.status();
    if (this.#restarted)
      this.events.push(
        'restart',
        s.term,
        `restarted: recovered term ${s.term}, log to index ${s.lastIndex}, snapshot at ${s.snapshotIndex}`,
      );
    else this.events.push('start', s.term, 'started with an empty data dir');
    // The replica ticked before we looked: compare the first sample with a node that knows no leader
    // (and, when fresh, is at term 0), so an election it already had is not lost.
    this.#last = {
      term: this.#restarted ? s.term : 0,
      role: 'follower',
      leader: null,
      snapshotIndex: s.snapshotIndex,
      snapshotsInstalled: s.snapshotsInstalled,
    };
    this.#timer = setInterval(() => this.sample(), this.limits.sampleEveryMs);
    this.#timer.unref();
    this.sample();
  }

  // #region sample
  /** One look at the node: new events and counters for whatever changed since the last look. */
  sample(nowMs = Date.now()): void {
    if (nowMs - this.#lastRollMs >= 1000) {
      this.series.roll(nowMs);
      this.#lastRollMs = nowMs;
    }
    const source = this.#source;
    if (source === undefined) return;
    const s = source.status();
    const last = this.#last;
    this.#last = {
      term: s.term,
      role: s.role,
      leader: s.leader,
      snapshotIndex: s.snapshotIndex,
      snapshotsInstalled: s.snapshotsInstalled,
    };
    for (const link of source.links()) {
      const before = this.#linkStates.get(link.id);
      this.#linkStates.set(link.id, link.state);
      if (before === undefined || before === link.state) continue;
      if (link.state === 'connected') this.events.push('peer', s.term, `connected to peer ${link.id}`);
      else if (before === 'connected') this.events.push('peer', s.term, `lost the connection to peer ${link.id}`);
    }
    const lastKnownLeader = this.#lastKnownLeader;
    if (s.leader !== null) this.#lastKnownLeader = s.leader;
    if (last === undefined) return;
    if (s.term > last.term) {
      this.metrics.elections.inc(s.term - last.term);
      this.events.push('election', s.term, `term ${last.term} → ${s.term}: an election began`);
    }
    if (s.leader !== last.leader) {
      if (s.leader === null) this.events.push('leader', s.term, `lost leader ${last.leader}`);
      else {
        if (lastKnownLeader !== null && lastKnownLeader !== s.leader) this.metrics.leaderChanges.inc();
        this.events.push('leader', s.term, s.leader === this.id ? 'became the leader' : `follows leader ${s.leader}`);
      }
    } else if (s.role !== last.role) {
      this.events.push('role', s.term, `${last.role} → ${s.role}`);
    }
    if (s.snapshotsInstalled > last.snapshotsInstalled)
      this.events.push('snapshot', s.term, `installed a snapshot from the leader at index ${s.snapshotIndex}`);
    else if (s.snapshotIndex > last.snapshotIndex)
      this.events.push('snapshot', s.term, `took a snapshot at index ${s.snapshotIndex} and compacted the log`);
  }
  // #endregion sample

  /** Recent events (after `afterSeq`) and series points (after `afterMs`). */
  recent(afterSeq = 0, afterMs = 0): { events: NodeEvent[]; series: SeriesPoint[] } {
    return { events: this.events.list(afterSeq), series: this.series.points(afterMs) };
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unobserveWal();
    const term = this.#last?.term ?? 0;
    this.events.push('stop', term, 'stopping');
  }
}
