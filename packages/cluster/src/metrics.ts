/**
 * The node's Prometheus metrics (prom-client). Each node has its own
 * Registry, not prom-client's global one, so several nodes in one process
 * (the tests, the simulator) never collide; every series carries
 * `node="<id>"`. Raft's state (term, indexes, peers) is read when scraped,
 * through `collect()`; requests, fsyncs, WAL batches, elections and leader
 * changes are counted as they happen. The process's own metrics (CPU,
 * memory, event loop lag, GC) live in one registry per process, since they
 * describe the process, and are appended to every node's scrape.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read at scrape time; set once the replica has started. */
export interface MetricsSource {
  term: number;
  role: string;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  keys: number;
  /** ms since a follower heard its leader, or the leader a majority; null when it has not. */
  lastContactMs: number | null;
  /** Leader only: each peer's match index and lag. */
  progress: Array<{ id: string; matchIndex: number; lag: number }>;
  /** The configuration in force (membership, chapter 5): its index (0: the one the cluster started with) and members. */
  confIndex: number;
  voters: number;
  learners: number;
  /** This node's own place in it. */
  membership: 'voter' | 'learner' | 'none';
  /** Each peer's outgoing link, from the transport. */
  links: Array<{ id: string; state: string; queued: number; dropped: number }>;
}

let processRegistry: Registry | undefined;

/** One registry for the process's default metrics, created on first use. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

// #region metric-names
export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'command' | 'result'>;
  readonly requestSeconds: Histogram<'result'>;
  readonly fsyncSeconds: Histogram;
  readonly walBatchEntries: Histogram;
  readonly walWrittenBytes: Counter;
  readonly elections: Counter;
  readonly leaderChanges: Counter;
  readonly httpRequests: Counter;
  #source: () => MetricsSource | undefined = () => undefined;

  constructor(nodeId: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
    this.requests = new Counter({
      name: 'distkv_client_requests_total',
      help: 'Client requests answered (RESP and line protocol), by command and result (ok or error).',
      labelNames: ['command', 'result'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'distkv_client_request_duration_seconds',
      help: 'From a request being handled to its reply being ready, writes (replication) and read barriers included.',
      labelNames: ['result'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.fsyncSeconds = new Histogram({
      name: 'distkv_wal_fsync_duration_seconds',
      help: 'fdatasync of the Raft log (WAL segments), one per written batch under fsync always.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.walBatchEntries = new Histogram({
      name: 'distkv_wal_batch_entries',
      help: 'Entries per WAL batch (one write, one fsync): group commit at work.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers,
    });
    this.walWrittenBytes = counter('distkv_wal_written_bytes_total', 'Bytes written to the Raft log by batches.');
    this.elections = counter(
      'distkv_raft_elections_observed_total',
      'Term increases this node observed (each one is an election, won or not).',
    );
    this.leaderChanges = counter(
      'distkv_raft_leader_changes_observed_total',
      'Times the leader this node knows changed to another known leader.',
    );
    this.httpRequests = counter('distkv_http_requests_total', 'Admin HTTP requests received.');
    const source = (): MetricsSource | undefined => this.#source();
    const gauge = (name: string, help: string, read: (s: MetricsSource) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = source();
          if (s !== undefined) this.set(read(s));
        },
      });
    };
    gauge('distkv_raft_term', 'Current Raft term.', (s) => s.term);
    gauge('distkv_raft_is_leader', '1 if this node leads.', (s) => (s.role === 'leader' ? 1 : 0));
    gauge('distkv_raft_has_leader', '1 if this node knows a leader.', (s) => (s.leader === null ? 0 : 1));
    gauge('distkv_raft_commit_index', 'Highest log index known committed.', (s) => s.commitIndex);
    gauge('distkv_raft_applied_index', 'Highest log index applied to the store.', (s) => s.appliedIndex);
    gauge('distkv_raft_last_index', 'Last index in the local log.', (s) => s.lastIndex);
    gauge('distkv_raft_snapshot_index', 'Index of the latest snapshot (log compacted up to it).', (s) => s.snapshotIndex);
    gauge('distkv_store_keys', 'Keys in the applied store.', (s) => s.keys);
    gauge(
      'distkv_raft_conf_index',
      'Log index of the membership configuration in force (0: the initial one).',
      (s) => s.confIndex,
    );
    gauge('distkv_raft_voters', 'Voters in the configuration in force.', (s) => s.voters);
    gauge('distkv_raft_learners', 'Learners (non-voting members) in the configuration in force.', (s) => s.learners);
    gauge('distkv_raft_is_voter', '1 if this node is a voter (0: a learner, or not a member).', (s) =>
      s.membership === 'voter' ? 1 : 0,
    );
    gauge(
      'distkv_raft_last_contact_seconds',
      'Seconds since a follower last heard its leader, or the leader a majority (-1: never, or no leader).',
      (s) => (s.lastContactMs === null ? -1 : s.lastContactMs / 1000),
    );
    const peerGauge = (name: string, help: string, read: (s: MetricsSource) => Array<[string, number]>): void => {
      new Gauge({
        name,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          this.reset(); // a peer that left the leader's progress (we stepped down) must not linger
          const s = source();
          if (s !== undefined) for (const [peer, value] of read(s)) this.set({ peer }, value);
        },
      });
    };
    peerGauge('distkv_peer_match_index', 'Leader only: highest index known replicated on each peer.', (s) =>
      s.progress.map((p) => [p.id, p.matchIndex]),
    );
    peerGauge('distkv_peer_lag_entries', "Leader only: entries each peer is behind the leader's last index.", (s) =>
      s.progress.map((p) => [p.id, p.lag]),
    );
    peerGauge('distkv_peer_connected', '1 while the outgoing connection to the peer is open.', (s) =>
      s.links.map((l) => [l.id, l.state === 'connected' ? 1 : 0]),
    );
    peerGauge('distkv_peer_queued_messages', 'Messages waiting to be sent to the peer.', (s) =>
      s.links.map((l) => [l.id, l.queued]),
    );
    peerGauge('distkv_peer_dropped_messages', 'Messages to the peer shed so far (queue full or peer unreachable).', (s) =>
      s.links.map((l) => [l.id, l.dropped]),
    );
  }
  // #endregion metric-names

  /** Where the Raft gauges read from; until set they report nothing. */
  setSource(source: () => MetricsSource | undefined): void {
    this.#source = source;
  }

  observeRequest(command: string, ok: boolean, latencySeconds: number): void {
    const result = ok ? 'ok' : 'error';
    this.requests.inc({ command, result });
    this.requestSeconds.observe({ result }, latencySeconds);
  }

  observeFsync(seconds: number): void {
    this.fsyncSeconds.observe(seconds);
  }

  observeBatch(entries: number, bytes: number): void {
    this.walBatchEntries.observe(entries);
    this.walWrittenBytes.inc(bytes);
  }

  /** The node's metrics followed by the process's, in Prometheus text format 0.0.4. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
