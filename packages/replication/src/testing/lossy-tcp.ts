/**
 * A clock for the simulated cluster and a lossy TCP link between every two
 * nodes, for claims about timing (issue 17, item 5): does a leader keep its
 * term when segments are lost? The step-driven simulator has no clock, so
 * this one gives every node a timer of `tickMs` (each with its own phase)
 * and every message a delivery time.
 *
 * The link is TCP as the Raft peers see it: every message is one segment,
 * lost with `lossProbability` on each transmission; a lost segment is sent
 * again after the retransmission timeout, which starts at `rtoMs` (Linux's
 * TCP_RTO_MIN, 200 ms) and doubles for every further loss of the same
 * segment (exponential backoff, up to `rtoMaxMs`). Delivery is in order:
 * what was sent after a lost segment waits for it (head-of-line blocking),
 * so one loss silences the link for at least `rtoMs`. Fast retransmit and
 * tail-loss probes, which sometimes recover sooner, are left out: the model
 * is the slow path, the one an election timeout has to survive.
 */
import { assert } from '@distkv/core';
import { type Rng, seededRng } from '../rng.js';
import type { NodeId, Term } from '../types.js';
import type { SimCluster } from './cluster.js';

// #region lossy-tcp-options
export interface LossyTcpOptions {
  /** Probability that one transmission of a segment is lost, on every directed link. */
  lossProbability: number;
  /** First retransmission timeout; default 200 ms (Linux's TCP_RTO_MIN). */
  rtoMs?: number;
  /** The backoff stops doubling here; default 120,000 ms (Linux's TCP_RTO_MAX). */
  rtoMaxMs?: number;
  /** One-way delay of a segment that is not lost; default 0.25 ms (a LAN). */
  latencyMs?: number;
}
// #endregion lossy-tcp-options

export const TCP_RTO_MIN_MS = 200;
export const TCP_RTO_MAX_MS = 120_000;

/** When each message sent on a directed link arrives: in order, and late by the retransmissions it needed. */
export class LossyTcpLinks {
  readonly #rng: Rng;
  readonly #loss: number;
  readonly #rtoMs: number;
  readonly #rtoMaxMs: number;
  readonly #latencyMs: number;
  /** "from->to": when the last segment sent on it is delivered; later ones cannot come sooner. */
  readonly #lastDelivery = new Map<string, number>();
  /** Segments lost at least once, and retransmissions lost too. */
  readonly stats = { segments: 0, lost: 0, retransmissionsLost: 0, longestDelayMs: 0 };

  constructor(options: LossyTcpOptions, rng: Rng) {
    assert(options.lossProbability >= 0 && options.lossProbability < 1, 'loss probability in [0, 1)');
    this.#rng = rng;
    this.#loss = options.lossProbability;
    this.#rtoMs = options.rtoMs ?? TCP_RTO_MIN_MS;
    this.#rtoMaxMs = options.rtoMaxMs ?? TCP_RTO_MAX_MS;
    this.#latencyMs = options.latencyMs ?? 0.25;
  }

  /** The delivery time of a segment sent on `from->to` at `nowMs`. */
  deliveryAt(from: NodeId, to: NodeId, nowMs: number): number {
    this.stats.segments++;
    let delay = 0;
    let rto = this.#rtoMs;
    let losses = 0;
    while (this.#rng.chance(this.#loss)) {
      delay += rto;
      rto = Math.min(2 * rto, this.#rtoMaxMs);
      losses++;
    }
    if (losses > 0) this.stats.lost++;
    if (losses > 1) this.stats.retransmissionsLost += losses - 1;
    const link = `${from}->${to}`;
    const at = Math.max(nowMs + this.#latencyMs + delay, this.#lastDelivery.get(link) ?? 0);
    this.#lastDelivery.set(link, at);
    this.stats.longestDelayMs = Math.max(this.stats.longestDelayMs, at - nowMs);
    return at;
  }
}

// #region timed-run
export interface TimedRunOptions {
  /** A cluster built with the timing under test (its heartbeat and election ticks). */
  cluster: SimCluster;
  /** Milliseconds per tick of every node. */
  tickMs: number;
  links: LossyTcpOptions;
  /** Simulated milliseconds to run. */
  durationMs: number;
  seed: number;
  /** Called whenever some node's term rose: simulated time, node, new term. */
  onTermChange?: (atMs: number, id: NodeId, term: Term) => void;
}

export interface TimedRunResult {
  /** Times some up node's term rose. */
  termChanges: number;
  /** The highest term any node reached. */
  termMax: number;
  links: LossyTcpLinks['stats'];
}

/**
 * Runs the cluster for `durationMs` of simulated time: each up node ticks
 * every `tickMs` (phases drawn from the seed, so timers are not in step),
 * carries out its Ready at once (persisting costs no time), and every
 * message crosses a LossyTcpLinks link. Deterministic for a seed.
 */
export function runTimed(options: TimedRunOptions): TimedRunResult {
  const { cluster, tickMs, durationMs } = options;
  const rng = seededRng(options.seed);
  const links = new LossyTcpLinks(options.links, seededRng(rng.int(2 ** 31)));
  const ids = cluster.ids;
  const nextTick = new Map<NodeId, number>(ids.map((id) => [id, rng.next() * tickMs]));
  /** Messages in flight with their delivery time, by the network's seq. */
  const due = new Map<number, number>();
  const terms = new Map<NodeId, number>(ids.map((id) => [id, cluster.node(id).up ? cluster.raft(id).term : 0]));
  let termChanges = 0;
  let now = 0;
  const settle = (): void => {
    // Readys until none is left; every message sent gets its delivery time as it leaves.
    for (let moved = true; moved; ) {
      moved = false;
      for (const id of ids) if (cluster.processReady(id) !== undefined) moved = true;
      for (const f of cluster.network) {
        if (!due.has(f.seq)) due.set(f.seq, links.deliveryAt(f.message.from, f.message.to, now));
      }
    }
    for (const id of ids) {
      if (!cluster.node(id).up) continue;
      const t = cluster.raft(id).term;
      if (t > (terms.get(id) ?? 0)) {
        termChanges++;
        terms.set(id, t);
        options.onTermChange?.(now, id, t as Term);
      }
    }
  };
  settle();
  while (now < durationMs) {
    // The next event: a tick or a delivery, whichever comes first (ticks first on a tie).
    let at = Number.POSITIVE_INFINITY;
    let tickOf: NodeId | undefined;
    for (const id of ids) {
      const t = nextTick.get(id) as number;
      if (t < at) {
        at = t;
        tickOf = id;
      }
    }
    let position = -1;
    for (let i = 0; i < cluster.network.length; i++) {
      const f = cluster.network[i];
      const d = f === undefined ? undefined : due.get(f.seq);
      if (d !== undefined && d < at) {
        at = d;
        position = i;
        tickOf = undefined;
      }
    }
    now = at;
    if (tickOf !== undefined) {
      nextTick.set(tickOf, at + tickMs);
      if (cluster.node(tickOf).up) cluster.tick(tickOf);
    } else {
      const f = cluster.network[position];
      assert(f !== undefined, 'a message is due');
      due.delete(f.seq);
      cluster.deliver(position);
    }
    settle();
  }
  let termMax = 0;
  for (const id of ids) if (cluster.node(id).up) termMax = Math.max(termMax, cluster.raft(id).term);
  return { termChanges, termMax, links: links.stats };
}
// #endregion timed-run
