/**
 * The deterministic simulator (TigerBeetle's VOPR, FoundationDB's
 * simulation): one seed decides a whole scenario — proposals, ticks,
 * message loss, duplication, reordering, partitions, crashes with torn
 * writes, restarts and compactions — and the cluster's checker looks at
 * every step. A failure carries the seed and the command that replays it.
 */
import { commands, encodeCommand, isDistkvError } from '@distkv/core';
import type { RaftConfig, ReadMode, ReplicationLimits } from '../config.js';
import { describeMessage } from '../describe.js';
import type { ElectionFactory } from '../election-seam.js';
import { replicationError } from '../errors.js';
import { type ConfChange, describeConfChange, isMember } from '../membership.js';
import { type Rng, seededRng } from '../rng.js';
import type { NodeId } from '../types.js';
import { type ClusterOptions, InvariantViolation, SimCluster } from './cluster.js';

// #region scenario-options
export interface ScenarioOptions {
  seed: number;
  /** Cluster size; default: 3 or 5, chosen by the seed. */
  nodes?: number;
  /** Random steps before healing; default 200. */
  stepsMax?: number;
  /** Ticks allowed after healing for every node to catch up; default 300. */
  stabilizeTicksMax?: number;
  /** Probability that a sent message is lost / duplicated on delivery. */
  dropProbability?: number;
  duplicateProbability?: number;
  /** Turn faults off (crashes, partitions) for a smoke run. */
  crashes?: boolean;
  partitions?: boolean;
  limits?: Partial<ReplicationLimits>;
  unsafe?: RaftConfig['unsafe'];
  buggify?: ClusterOptions['buggify'];
  /** Keep the last this many trace lines for the failure report; default 60. */
  traceLinesMax?: number;
  /**
   * Who leads: node 1 by configuration (phase 4, the default), or an
   * election from `@distkv/election` (phase 5: Raft or Bully). `name` is
   * what the replay command passes to `--election`.
   */
  election?: { readonly name: string; create(id: NodeId, rng: Rng): ElectionFactory };
  readMode?: ReadMode;
  /** Electing: after healing, a leader must be elected within this many ticks (liveness); default 200. */
  livenessTicksMax?: number;
  /** See ClusterOptions.checkLogsHoldCommitted; default true. */
  checkLogsHoldCommitted?: boolean;
  /** The package whose `sim` script replays the seed; default @distkv/replication. */
  replayPackage?: string;
  /**
   * The membership nemesis (chapter 5): on a few steps the leader adds a
   * fresh node (a learner it promotes once caught up, or one promoted or
   * removed by a later step), or removes a member, itself sometimes. Needs
   * an election that supports membership changes (Raft's). Default false:
   * the Rng draws nothing for it, so every other seed runs as before.
   */
  membership?: boolean;
}
// #endregion scenario-options

export interface ScenarioResult {
  seed: number;
  ok: boolean;
  /** What failed: a violated invariant, an assertion in the code, or no convergence. */
  failure: string | undefined;
  /** The shortest command that replays this seed. */
  replay: string;
  trace: string[];
  stats: SimCluster['stats'] & {
    steps: number;
    committed: number;
    stabilizeTicks: number;
    /** Electing: ticks after healing until a leader of the highest term was up (-1: fixed leader). */
    electedAfterTicks: number;
    reads: number;
    /** The membership nemesis: present when it ran. */
    membership?: MembershipStats;
  };
}

export interface MembershipStats {
  /** Changes the nemesis proposed that the leader appended (auto-promotions are the leader's own, not counted here). */
  proposed: number;
  /** Proposals the leader refused (CONF_CHANGE_PENDING, CONF_CHANGE_INVALID, LEARNER_NOT_CAUGHT_UP, NOT_LEADER). */
  refused: number;
  /** Nodes started by the nemesis (`SimCluster.addNode`). */
  nodesAdded: number;
  /** Committed configuration entries, by kind: learners added, learners promoted (by the nemesis or automatically), members removed. */
  committed: number;
  /** Of them, those committed before the changes made once healed (proposed amid the faults, committed amid them or while healing). */
  committedAmidFaults: number;
  joined: number;
  promoted: number;
  removed: number;
  /** Committed removals of the leader that proposed them (thesis §4.2.2). */
  leadersRemoved: number;
}

export function replayCommand(seed: number, options: Omit<ScenarioOptions, 'seed'> = {}): string {
  const flags = [
    options.buggify?.sendBeforePersist === true ? ' --buggify-send-before-persist' : '',
    options.unsafe?.commitPreviousTermEntries === true ? ' --unsafe-commit-previous-term' : '',
    options.unsafe?.earlySendWithFixedLeader === true ? ' --unsafe-early-send-fixed-leader' : '',
    options.stepsMax !== undefined ? ` --steps ${options.stepsMax}` : '',
    options.election !== undefined ? ` --election ${options.election.name}` : '',
    options.readMode !== undefined ? ` --read-mode ${options.readMode}` : '',
    options.checkLogsHoldCommitted === false ? ' --only-applied-safety' : '',
    options.membership === true ? ' --membership' : '',
    options.unsafe?.confChangeBeforeTermCommit === true ? ' --unsafe-conf-change-before-term-commit' : '',
  ].join('');
  return `pnpm --filter ${options.replayPackage ?? '@distkv/replication'} sim --seed ${seed}${flags}`;
}

// Small limits so that one scenario exercises batching, flow control and chunking.
const simLimits: Partial<ReplicationLimits> = {
  appendEntriesMax: 4,
  appendBytesMax: 256,
  inflightAppendsMax: 3,
  snapshotChunkBytesMax: 64,
  uncommittedBytesMax: 4096,
  entryBytesMax: 1024,
};

/**
 * Half the seeds compact with a catch-up tail of 1 to 8 entries (and 16 to
 * 1,024 payload bytes), decided by the seed alone so that the Rng's draws,
 * and the other half's runs, stay as they were: leaders then send some
 * followers entries from before their snapshot, and others the snapshot.
 */
function catchUpTailOfSeed(seed: number): Partial<ReplicationLimits> {
  if (seed % 2 === 0) return {};
  return { snapshotCatchUpEntries: 1 + ((seed >>> 1) % 8), snapshotCatchUpBytes: 16 << ((seed >>> 4) % 7) };
}

function randomCommand(rng: Rng, counter: number): Uint8Array {
  const key = `k${rng.int(12)}`;
  switch (rng.int(5)) {
    case 0:
      return encodeCommand(commands.del(key));
    case 1:
      return encodeCommand(commands.incrBy(`n${rng.int(3)}`, rng.int(10) - 3));
    default:
      return encodeCommand(commands.put(key, `v${counter}`));
  }
}

/** The membership nemesis: the share of steps that propose a change, and how many nodes it may start in one seed. */
const membershipChangeProbability = 0.1;
const addedNodesMax = 4;
/** Changes the nemesis makes once the network has healed and the cluster converged. */
const healedChangesMax = 3;
const membershipLimits: Partial<ReplicationLimits> = { learnerCatchUpEntriesMax: 4 };

// #region run-scenario
export function runScenario(options: ScenarioOptions): ScenarioResult {
  const { seed } = options;
  const rng = seededRng(seed);
  const n = options.nodes ?? (rng.chance(0.7) ? 3 : 5);
  const ids = Array.from({ length: n }, (_, i) => String(i + 1));
  const stepsMax = options.stepsMax ?? 200;
  const stabilizeTicksMax = options.stabilizeTicksMax ?? 300;
  const dropP = options.dropProbability ?? 0.05;
  const dupP = options.duplicateProbability ?? 0.03;
  const crashes = options.crashes ?? true;
  const partitions = options.partitions ?? true;
  const traceLinesMax = options.traceLinesMax ?? 60;
  const trace: string[] = [];
  const log = (line: string): void => {
    trace.push(line);
    if (trace.length > traceLinesMax) trace.shift();
  };
  const election = options.election;
  const electing = election !== undefined;
  const membership = options.membership === true;
  const livenessTicksMax = options.livenessTicksMax ?? 200;
  const cluster = new SimCluster({
    ids,
    rng,
    ...(election !== undefined ? { election: (id: NodeId, r: Rng) => election.create(id, r) } : {}),
    ...(options.readMode !== undefined ? { readMode: options.readMode } : {}),
    ...(options.checkLogsHoldCommitted === false ? { checkLogsHoldCommitted: false } : {}),
    heartbeatIntervalTicks: 2,
    electionTimeoutTicks: 10,
    // The membership nemesis: a learner counts as caught up only a few entries behind, so promotions wait for it too.
    limits: { ...simLimits, ...catchUpTailOfSeed(seed), ...(membership ? membershipLimits : {}), ...options.limits },
    ...(options.unsafe !== undefined ? { unsafe: options.unsafe } : {}),
    ...(options.buggify !== undefined ? { buggify: options.buggify } : {}),
    networkMessagesMax: 500,
    splitLeaderPersist: true,
    ...(membership ? { checkCommitQuorum: true } : {}),
  });
  const nodeIds = cluster.ids;
  if (membership && cluster.node(nodeIds[0] as NodeId).raft?.election?.supportsMembership !== true) {
    throw replicationError(
      'CONFIG_INVALID',
      `the membership nemesis needs an election that supports membership changes (Raft's), not ${election?.name ?? 'a fixed leader'}`,
    );
  }
  // Every node, those the membership nemesis started too (without it: nodeIds).
  const allIds = (): readonly NodeId[] => cluster.allIds;
  const mstats: MembershipStats = {
    proposed: 0,
    refused: 0,
    nodesAdded: 0,
    committed: 0,
    committedAmidFaults: 0,
    joined: 0,
    promoted: 0,
    removed: 0,
    leadersRemoved: 0,
  };
  /** Nodes a removal was appended for: never added again (a node id is not reused). */
  const removedIds = new Set<NodeId>();
  let steps = 0;
  let stabilizeTicks = 0;
  let failure: string | undefined;
  let counter = 0;
  let electedAfterTicks = electing ? -2 : -1;
  let reads = 0;
  // #region check-reads
  // Linearizable reads: a read confirmed at `index` must cover every write
  // acknowledged before the read was asked. Acknowledged writes are applied
  // somewhere, so `index` >= the highest index any node had applied then.
  const readFloor = new Map<string, number>();
  cluster.onReadState = (id, rs) => {
    const floor = readFloor.get(rs.id);
    if (floor === undefined) return;
    readFloor.delete(rs.id);
    reads++;
    if (options.readMode !== 'stale' && rs.index < floor) {
      throw new InvariantViolation(
        `linearizable read: ${id} confirmed read ${rs.id} at index ${rs.index}, but ${floor} was applied before it was asked`,
      );
    }
  };
  // #endregion check-reads

  const processSome = (): void => {
    for (const id of allIds()) {
      if (!cluster.node(id).up) continue;
      if (rng.chance(0.5)) cluster.syncOwed(id);
      if (rng.chance(0.7)) cluster.processReady(id);
      if (rng.chance(0.3)) cluster.applyCommitted(id);
    }
  };
  const proposer = (): NodeId | undefined => (electing ? cluster.currentLeader() : cluster.leaderId);

  // #region membership-nemesis
  /** One membership change, proposed by whoever leads now; refusals are logged like refused proposals. */
  const changeMembers = (): void => {
    const leaderId = cluster.currentLeader();
    if (leaderId === undefined) return;
    const raft = cluster.raft(leaderId);
    const conf = raft.conf;
    const members = [...conf.voters, ...conf.learners];
    // A node that is up but not a member (its add was refused, or cut from a deposed leader's log) is added again before a new one.
    const spare = cluster.joined.find((id) => !isMember(conf, id) && !removedIds.has(id));
    const roll = rng.int(100);
    let change: ConfChange | undefined;
    if (roll < 45) {
      // A fresh node joins: as a learner the leader promotes once caught up, or (a third of the time) one a later step promotes or removes.
      const autoPromote = roll < 30;
      let node = spare;
      if (node === undefined && cluster.joined.length < addedNodesMax) {
        node = String(cluster.allIds.length + 1) as NodeId;
        cluster.addNode(node);
        mstats.nodesAdded++;
        log(`add-node ${node}`);
      }
      if (node !== undefined) change = { type: 'add-learner', node, autoPromote };
    } else if (roll < 60) {
      // Promote a learner that was added without autoPromote (or, rarely, a voter: CONF_CHANGE_INVALID).
      const learners = conf.learners.filter((l) => !conf.autoPromote.includes(l));
      if (learners.length > 0) change = { type: 'promote', node: rng.pick(learners) };
      else if (rng.chance(0.2)) change = { type: 'promote', node: rng.pick(conf.voters) };
    } else {
      // Remove a member: a learner, a voter, or the leader itself (thesis §4.2.2), keeping at least 2 voters.
      const learners = conf.learners;
      let node: NodeId;
      if (learners.length > 0 && rng.chance(0.4)) node = rng.pick(learners);
      else if (rng.chance(0.3)) node = leaderId;
      else node = rng.pick(members);
      if (!conf.voters.includes(node) || conf.voters.length > 2) change = { type: 'remove', node };
    }
    if (change === undefined) return;
    try {
      const p = raft.proposeConfChange(change);
      mstats.proposed++;
      if (change.type === 'remove') removedIds.add(change.node);
      log(`conf ${leaderId} ${describeConfChange(change)} -> ${p.term}/${p.index}`);
    } catch (err) {
      if (!isDistkvError(err)) throw err;
      mstats.refused++;
      log(`conf ${leaderId} ${describeConfChange(change)} refused: ${err.message}`);
    }
  };
  // #endregion membership-nemesis

  try {
    for (; steps < stepsMax; steps++) {
      // Drawn only with the nemesis on, so that the Rng of every other run is as it was; the step's other fault follows.
      if (membership && rng.chance(membershipChangeProbability)) changeMembers();
      const roll = rng.int(100);
      if (roll < 22) {
        const leaderId = proposer();
        const leader = leaderId === undefined ? undefined : cluster.node(leaderId);
        if (leader !== undefined && electing && rng.chance(0.15)) {
          // A read, then (rarely) a leadership transfer, both from whoever leads now.
          const readId = `r${counter++}`;
          try {
            readFloor.set(readId, cluster.appliedIndexMax);
            cluster.raft(leader.id).readIndex(readId);
            log(`read ${leader.id} ${readId} (floor ${cluster.appliedIndexMax})`);
          } catch (err) {
            readFloor.delete(readId);
            if (!isDistkvError(err)) throw err;
            log(`read ${leader.id} refused: ${err.message}`);
          }
          // Transfers where the election has them (Raft's, not Bully's).
          if (cluster.raft(leader.id).election?.transferLeadership !== undefined && rng.chance(0.1)) {
            // With membership changes: to another voter of the configuration in force, if it has one.
            const targets = (membership ? cluster.raft(leader.id).conf.voters : nodeIds).filter((x) => x !== leader.id);
            const to = targets.length > 0 ? rng.pick(targets) : leader.id;
            try {
              cluster.raft(leader.id).transferLeadership(to);
              log(`transfer-leader ${leader.id} -> ${to}`);
            } catch (err) {
              if (!isDistkvError(err)) throw err;
              log(`transfer-leader ${leader.id} refused: ${err.message}`);
            }
          }
        } else if (leader !== undefined && leader.raft?.role === 'leader') {
          try {
            const p = cluster.propose(leader.id, randomCommand(rng, counter++));
            log(`propose ${leader.id} -> ${p.term}/${p.index}`);
          } catch (err) {
            log(`propose ${leader.id} refused: ${(err as Error).message}`);
          }
        }
      } else if (roll < 55) {
        if (cluster.network.length > 0) {
          const pos = rng.int(cluster.network.length); // any message: reordering
          const f = cluster.network[pos];
          if (f !== undefined && rng.chance(dropP)) {
            cluster.drop(pos);
            log(`drop ${describeMessage(f.message)}`);
          } else {
            const { message, arrived } = cluster.deliver(pos, { keepCopy: rng.chance(dupP) });
            log(`deliver ${describeMessage(message)}${arrived ? '' : ' (lost)'}`);
          }
        }
      } else if (roll < 75) {
        log('tick'); // before: a tick can fail a check (a policy's leader), and the trace must show it
        for (const id of allIds()) if (cluster.node(id).up) cluster.tick(id);
      } else if (roll < 78 && crashes) {
        const up = allIds().filter((id) => cluster.node(id).up);
        if (up.length > 0) {
          // Electing: leaders are the interesting victims (Figure 8 is a chain of leader crashes).
          const leaderNow = electing ? cluster.currentLeader() : undefined;
          const id = leaderNow !== undefined && rng.chance(0.5) ? leaderNow : rng.pick(up);
          const midReady = rng.chance(0.5);
          log(`crash ${id}${midReady ? ' (mid-Ready)' : ''}`);
          cluster.crash(id, { midReady });
        }
      } else if (roll < 84 && crashes) {
        const down = allIds().filter((id) => !cluster.node(id).up);
        if (down.length > 0) {
          const id = rng.pick(down);
          log(`restart ${id}`);
          cluster.restart(id);
        }
      } else if (roll < 86 && partitions) {
        const shuffled = [...allIds()];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as NodeId, shuffled[i] as NodeId];
        }
        const cut = 1 + rng.int(shuffled.length - 1);
        const groups: NodeId[][] = [shuffled.slice(0, cut), shuffled.slice(cut)];
        cluster.partition(groups);
        log(`partition ${groups.map((g) => g.join(' ')).join(' | ')}`);
      } else if (roll < 90 && partitions) {
        cluster.heal();
        log('heal');
      } else if (roll < 94) {
        const up = allIds().filter((id) => cluster.node(id).up);
        if (up.length > 0) {
          const id = rng.pick(up);
          const at = cluster.compact(id);
          if (at !== undefined) log(`compact ${id} at ${at}`);
        }
      }
      processSome();
    }
    // Heal everything and let the cluster catch up.
    cluster.heal();
    for (const id of allIds()) if (!cluster.node(id).up) cluster.restart(id);
    log('heal; restart all; stabilize');
    // With membership changes, converged also means the leader has promoted every learner that joined to be (autoPromote).
    const notConverged = (): string | undefined =>
      cluster.checkConverged() ?? (membership ? awaitingPromotion(cluster) : undefined);
    for (; stabilizeTicks < stabilizeTicksMax; stabilizeTicks++) {
      cluster.settle(50);
      if (electedAfterTicks === -2 && hasElectedLeader(cluster)) electedAfterTicks = stabilizeTicks;
      if (notConverged() === undefined) break;
      if (electedAfterTicks === -2 && stabilizeTicks >= livenessTicksMax) break;
      for (const id of allIds()) cluster.tick(id);
    }
    if (electedAfterTicks === -2) {
      failure = `liveness: no leader elected within ${livenessTicksMax} ticks after the network healed`;
    } else {
      const what = notConverged();
      if (what !== undefined) failure = `no convergence after ${stabilizeTicksMax} ticks: ${what}`;
    }
    mstats.committedAmidFaults = cluster.confCommitted.length;
    // The membership nemesis, healed: a few more changes, one at a time, each of which must complete (commit,
    // learners promoted, a removed leader replaced) and leave every member converged within the same bound.
    for (let k = 1; membership && failure === undefined && k <= healedChangesMax; k++) {
      changeMembers();
      let ticks = 0;
      for (; ticks < stabilizeTicksMax; ticks++) {
        cluster.settle(50);
        if (notConverged() === undefined) break;
        for (const id of allIds()) cluster.tick(id);
      }
      const what = notConverged();
      if (what !== undefined)
        failure = `no convergence within ${stabilizeTicksMax} ticks of membership change ${k} after healing: ${what}`;
    }
  } catch (err) {
    failure = err instanceof InvariantViolation ? `invariant violated: ${err.message}` : `error: ${(err as Error).stack ?? err}`;
  }
  const finalLeader = proposer();
  const leader = finalLeader === undefined ? undefined : cluster.node(finalLeader).raft;
  // What committed: configuration entries as first applied anywhere (the checker made sure every node applied the same).
  for (const c of cluster.confCommitted) {
    mstats.committed++;
    if (c.change.type === 'add-learner') mstats.joined++;
    else if (c.change.type === 'promote') mstats.promoted++;
    else {
      mstats.removed++;
      // A configuration entry of term t was proposed by the leader of term t.
      if (cluster.leaderOfTerm.get(c.term) === c.change.node) mstats.leadersRemoved++;
    }
  }
  return {
    seed,
    ok: failure === undefined,
    failure,
    replay: replayCommand(seed, options),
    trace,
    stats: {
      ...cluster.stats,
      steps,
      committed: leader?.log.committed ?? 0,
      stabilizeTicks,
      electedAfterTicks,
      reads,
      ...(membership ? { membership: mstats } : {}),
    },
  };
}
// #endregion run-scenario

/** The learners the leader still has to promote by itself (autoPromote), once caught up; undefined when none. */
function awaitingPromotion(cluster: SimCluster): string | undefined {
  const leaderId = cluster.currentLeader();
  const waiting = leaderId === undefined ? [] : cluster.raft(leaderId).conf.autoPromote;
  return waiting.length > 0 ? `learners ${waiting.join(', ')} not promoted` : undefined;
}

/**
 * A leader is up whose term no up member has passed: the election is over.
 * A node the leader's configuration does not hold (removed, or never
 * added) may have campaigned to a higher term that nobody heeds (members
 * drop its messages); without membership changes every node is a member.
 */
function hasElectedLeader(cluster: SimCluster): boolean {
  const leaderId = cluster.currentLeader();
  if (leaderId === undefined) return false;
  const leader = cluster.raft(leaderId);
  const t = leader.term;
  for (const n of cluster.nodes.values()) {
    if (n.raft !== undefined && n.raft.term > t && isMember(leader.conf, n.id)) return false;
  }
  return true;
}

/** The seed, the failure and its replay command, then the last events (no header when there are none: `sim --seed` printed them already). */
export function formatFailure(r: ScenarioResult): string {
  const events = r.trace.length > 0 ? ['last events:', ...r.trace.map((l) => `  ${l}`)] : [];
  return [`SEED=${r.seed}`, `${r.failure}`, `replay: ${r.replay}`, ...events].join('\n');
}

/** Runs seeds [first, first + count); stops at the first failure. */
export function runSeeds(first: number, count: number, options: Omit<ScenarioOptions, 'seed'> = {}): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const r = runScenario({ ...options, seed });
    results.push(r);
    if (!r.ok) break;
  }
  return results;
}
