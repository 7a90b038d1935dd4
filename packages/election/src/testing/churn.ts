/**
 * A scenario generator that aims at leaders (swarm testing): no clock at
 * all — election timeouts "fire" when the generator says so — so leaders
 * change every few steps, and each step is one small, random piece of the
 * protocol: a campaign, one Ready carried out, one message delivered or
 * lost, a proposal, a crash (often of the leader, often mid-Ready), a
 * restart. Figure 8 is a chain of exactly such pieces, which the
 * clock-driven simulator rarely assembles. Same checker, same seeds,
 * same replay.
 */
import { commands, encodeCommand, isDistkvError } from '@distkv/core';
import { describeMessage } from '@distkv/replication';
import type { ScenarioResult } from '@distkv/replication/testing';
import { campaign, failureOf, type GeneratorOptions, generatorResult, startRun } from './generator.js';

export interface ChurnOptions extends GeneratorOptions {
  /** Default 300. */
  stepsMax?: number;
}

// #region churn
export function runLeaderChurn(options: ChurnOptions): ScenarioResult {
  const { seed } = options;
  const stepsMax = options.stepsMax ?? 300;
  const { rng, trace, cluster } = startRun(options, options.traceLinesMax ?? 60, { appendEntriesMax: 1, inflightAppendsMax: 2 });
  const log = trace.log;
  let failure: string | undefined;
  let steps = 0;
  let counter = 0;
  try {
    for (; steps < stepsMax; steps++) {
      const up = cluster.ids.filter((id) => cluster.node(id).up);
      const down = cluster.ids.filter((id) => !cluster.node(id).up);
      const leader = cluster.currentLeader();
      const roll = rng.int(100);
      if (roll < 6) {
        const candidates = up.filter((id) => cluster.raft(id).role !== 'leader');
        if (candidates.length > 0) {
          const id = rng.pick(candidates);
          campaign(cluster, id); // its election timeout fires
          log(`campaign ${id}`);
        }
      } else if (roll < 36) {
        if (up.length > 0) {
          const id = rng.pick(up);
          if (cluster.processReady(id) !== undefined) log(`process-ready ${id}`);
        }
      } else if (roll < 76) {
        if (cluster.network.length > 0) {
          const pos = rng.int(cluster.network.length);
          const f = cluster.network[pos];
          if (f !== undefined && rng.chance(0.3)) {
            cluster.drop(pos);
            log(`drop ${describeMessage(f.message)}`);
          } else {
            const { message, arrived } = cluster.deliver(pos);
            log(`deliver ${describeMessage(message)}${arrived ? '' : ' (lost)'}`);
          }
        }
      } else if (roll < 88) {
        if (leader !== undefined) {
          try {
            const p = cluster.propose(leader, encodeCommand(commands.put(`k${rng.int(4)}`, `v${counter++}`)));
            log(`propose ${leader} -> ${p.term}/${p.index}`);
          } catch (err) {
            if (!isDistkvError(err)) throw err;
          }
        }
      } else if (roll < 93) {
        // At most two of five down at once: leaders keep being elected.
        if (down.length < Math.floor((cluster.ids.length - 1) / 2)) {
          const id = leader !== undefined && rng.chance(0.7) ? leader : rng.pick(up);
          const midReady = rng.chance(0.5);
          cluster.crash(id, { midReady });
          log(`crash ${id}${midReady ? ' (mid-Ready)' : ''}`);
        }
      } else if (down.length > 0) {
        const id = rng.pick(down);
        cluster.restart(id);
        log(`restart ${id}`);
      }
    }
  } catch (err) {
    failure = failureOf(err);
  }
  return generatorResult('churn', { seed, unsafe: options.unsafe, failure, steps }, trace, cluster);
}
// #endregion churn
