/**
 * A generator shaped like Figure 8 (§5.4.2): a run is a sequence of
 * *episodes*, each one leadership: a node campaigns, a random part of the
 * cluster hears its vote requests, and if it wins it may append, replicate
 * to a random part of the cluster for a few rounds, and crash. Figure 8 is
 * four such episodes in a row; the clock-driven simulator and the churn
 * generator reach it too rarely to find it. Same checker, same replay.
 */
import { commands, encodeCommand, isDistkvError } from '@distkv/core';
import { describeMessage, type NodeId, type Rng } from '@distkv/replication';
import type { ScenarioResult } from '@distkv/replication/testing';
import { campaign, failureOf, type GeneratorOptions, generatorResult, startRun } from './generator.js';

export interface EpisodeOptions extends GeneratorOptions {
  /** Leaderships per run; default 8. */
  episodesMax?: number;
}

// #region episodes
export function runLeaderEpisodes(options: EpisodeOptions): ScenarioResult {
  const { seed } = options;
  const episodesMax = options.episodesMax ?? 8;
  const { rng, trace, cluster } = startRun(options, options.traceLinesMax ?? 80, { appendEntriesMax: 1 });
  const log = trace.log;
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
      campaign(cluster, c);
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
    failure = failureOf(err);
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

  return generatorResult('episodes', { seed, unsafe: options.unsafe, failure, steps: episodes }, trace, cluster);
}
// #endregion episodes
