/**
 * What the clock-free generators (churn.ts, episodes.ts) share: how a run
 * starts (its seed's rng, a trace kept to its last lines, a cluster
 * electing with the bare §5.2 rules)
 * (pre-vote and check-quorum would only slow the leader changes down;
 * safety must not depend on them), a campaign fired by hand, and the
 * result with its replay command.
 */
import { type NodeId, type RaftConfig, type ReplicationLimits, type Rng, seededRng } from '@distkv/replication';
import { InvariantViolation, type ScenarioResult, SimCluster } from '@distkv/replication/testing';
import { raftElection, raftElectionOf } from '../raft-election.js';

export interface Trace {
  readonly lines: string[];
  log(line: string): void;
}

export function keepLast(linesMax: number): Trace {
  const lines: string[] = [];
  return {
    lines,
    log(line) {
      lines.push(line);
      if (lines.length > linesMax) lines.shift();
    },
  };
}

export function bareRaftCluster(
  ids: readonly string[],
  rng: Rng,
  limits: Partial<ReplicationLimits>,
  unsafe: RaftConfig['unsafe'] | undefined,
): SimCluster {
  return new SimCluster({
    ids,
    rng,
    election: (_id, r) => raftElection({ preVote: false, checkQuorum: false, rng: r }),
    limits,
    ...(unsafe !== undefined ? { unsafe } : {}),
  });
}

/** What both generators are given; each adds its own length of run. */
export interface GeneratorOptions {
  seed: number;
  /** Default 5. */
  nodes?: number;
  unsafe?: RaftConfig['unsafe'];
  /** Keep the last this many trace lines; default 60 (churn) or 80 (episodes). */
  traceLinesMax?: number;
}

/** A run's start: the seed's rng, nodes "1".."n" (default 5) in a bare Raft cluster, and a trace of its last lines. */
export function startRun(
  options: GeneratorOptions,
  traceLinesMax: number,
  limits: Partial<ReplicationLimits>,
): { rng: Rng; trace: Trace; cluster: SimCluster } {
  const rng = seededRng(options.seed);
  const ids = Array.from({ length: options.nodes ?? 5 }, (_, i) => String(i + 1));
  const trace = keepLast(traceLinesMax);
  return { rng, trace, cluster: bareRaftCluster(ids, rng, limits, options.unsafe) };
}

/** The node's election timeout fires: it campaigns at once (no pre-vote in these clusters). */
export function campaign(cluster: SimCluster, id: NodeId): void {
  raftElectionOf(cluster.raft(id)).campaign('election', false);
}

export function failureOf(err: unknown): string {
  return err instanceof InvariantViolation ? `invariant violated: ${err.message}` : `error: ${(err as Error).stack ?? err}`;
}

export function generatorResult(
  generator: 'churn' | 'episodes',
  run: { seed: number; unsafe: RaftConfig['unsafe'] | undefined; failure: string | undefined; steps: number },
  trace: Trace,
  cluster: SimCluster,
): ScenarioResult {
  const flags = run.unsafe?.commitPreviousTermEntries === true ? ' --unsafe-commit-previous-term' : '';
  return {
    seed: run.seed,
    ok: run.failure === undefined,
    failure: run.failure,
    replay: `pnpm --filter @distkv/election sim --${generator} --seed ${run.seed}${flags}`,
    trace: trace.lines,
    stats: { ...cluster.stats, steps: run.steps, committed: 0, stabilizeTicks: 0, electedAfterTicks: -1, reads: 0 },
  };
}
