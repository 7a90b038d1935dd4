/**
 * A generator shaped like Figure 8 (§5.4.2): a run is a sequence of
 * *episodes*, each one leadership: a node campaigns, a random part of the
 * cluster hears its vote requests, and if it wins it may append, replicate
 * to a random part of the cluster for a few rounds, and crash. Figure 8 is
 * four such episodes in a row; the clock-driven simulator and the churn
 * generator reach it too rarely to find it. Same checker, same replay.
 */
import { commands, encodeCommand, isDistkvError } from '@distkv/core';
import {
  describeMessage,
  InvariantViolation,
  type NodeId,
  type RaftConfig,
  type Rng,
  type ScenarioResult,
  SimCluster,
  seededRng,
} from '@distkv/replication';

export interface EpisodeOptions {
  seed: number;
  /** Default 5. */
  nodes?: number;
  /** Leaderships per run; default 8. */
  episodesMax?: number;
  unsafe?: RaftConfig['unsafe'];
  traceLinesMax?: number;
}

// #region episodes
export function runLeaderEpisodes(options: EpisodeOptions): ScenarioResult {
  const { seed } = options;
  const rng = seededRng(seed);
  const ids = Array.from({ length: options.nodes ?? 5 }, (_, i) => String(i + 1));
  const episodesMax = options.episodesMax ?? 8;
  const traceLinesMax = options.traceLinesMax ?? 80;
  const trace: string[] = [];
  const log = (line: string): void => {
    trace.push(line);
    if (trace.length > traceLinesMax) trace.shift();
  };
  const cluster = new SimCluster({
    ids,
    rng,
    elect: true,
    preVote: false,
    checkQuorum: false,
    limits: { appendEntriesMax: 1 },
    ...(options.unsafe !== undefined ? { unsafe: options.unsafe } : {}),
  });
  /** Delivers (or, with probability 1 - p, drops) every in-flight message matching `which`; bounded by the network's size. */
  const exchange = (which: (from: NodeId, to: NodeId) => boolean, p: number): NodeId[] => {
    const reached = new Set<NodeId>();
    for (let i = cluster.network.length - 1; i >= 0; i--) {
      const f = cluster.network[i];
      if (f === undefined || !which(f.message.from, f.message.to)) continue;
      if (rng.chance(p)) {
        const { message, arrived } = cluster.deliver(i);
        log(`deliver ${describeMessage(message)}${arrived ? '' : ' (lost)'}`);
        if (arrived) reached.add(message.to);
      } else {
        log(`drop ${describeMessage(cluster.drop(i))}`);
      }
    }
    return [...reached];
  };
  const ready = (id: NodeId): void => {
    if (cluster.node(id).up) cluster.processReady(id);
  };
  let failure: string | undefined;
  let episodes = 0;
  try {
    for (; episodes < episodesMax; episodes++) {
      for (const id of cluster.ids) {
        if (!cluster.node(id).up && rng.chance(0.7)) {
          cluster.restart(id);
          log(`restart ${id}`);
        }
      }
      const up = cluster.ids.filter((id) => cluster.node(id).up && cluster.raft(id).role !== 'leader');
      if (up.length === 0) continue;
      const c = rng.pick(up);
      cluster.raft(c).campaign('election', false);
      log(`campaign ${c}`);
      ready(c);
      for (const v of exchange((from) => from === c, 0.8)) ready(v);
      exchange((_, to) => to === c, 0.9);
      ready(c);
      if (cluster.node(c).raft?.role === 'leader') episode(c, rng);
      // A clean slate between episodes: what was not delivered is lost.
      for (let i = cluster.network.length - 1; i >= 0; i--) cluster.drop(i);
    }
  } catch (err) {
    failure = err instanceof InvariantViolation ? `invariant violated: ${err.message}` : `error: ${(err as Error).stack ?? err}`;
  }

  function episode(leader: NodeId, r: Rng): void {
    if (r.chance(0.6)) {
      try {
        const p = cluster.propose(leader, encodeCommand(commands.put('x', `v${episodes}`)));
        log(`propose ${leader} -> ${p.term}/${p.index}`);
      } catch (err) {
        if (!isDistkvError(err)) throw err;
      }
    }
    const rounds = r.int(4);
    for (let round = 0; round < rounds && cluster.node(leader).up; round++) {
      ready(leader);
      for (const f of exchange((from) => from === leader, 0.6)) ready(f);
      exchange((_, to) => to === leader, 0.8);
    }
    ready(leader);
    if (cluster.node(leader).up && r.chance(0.6)) {
      const midReady = r.chance(0.5);
      cluster.crash(leader, { midReady });
      log(`crash ${leader}${midReady ? ' (mid-Ready)' : ''}`);
    }
  }

  const flags = options.unsafe?.commitPreviousTermEntries === true ? ' --unsafe-commit-previous-term' : '';
  return {
    seed,
    ok: failure === undefined,
    failure,
    replay: `pnpm --filter @distkv/election sim --episodes --seed ${seed}${flags}`,
    trace,
    stats: { ...cluster.stats, steps: episodes, committed: 0, stabilizeTicks: 0, electedAfterTicks: -1, reads: 0 },
  };
}
// #endregion episodes
