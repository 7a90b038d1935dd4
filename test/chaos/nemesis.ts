/**
 * Nemeses: the faults the harness injects, on a schedule drawn from the
 * run's seed. Each cycle is quiet for a while, then one fault holds for a
 * while, then everything heals (and nodes that are down are restarted).
 *
 * - kill: SIGKILL one or two nodes (a minority), restart them at heal.
 * - pause: SIGSTOP a minority, SIGCONT at heal.
 * - partition: halves (minority | majority), a bridge (one node sees both
 *   sides, which do not see each other) or one node isolated.
 * - leader: the same faults aimed at the current leader (INFO replication).
 * - isolate-leader: cut the leader off, then write to it directly and read
 *   from the majority once it has a new leader. `sync` must never
 *   acknowledge that write; `async` acknowledges it at the old leader's
 *   fsync, and the majority's read then misses an acknowledged write — an
 *   anomaly every time, not by luck.
 * - disk: fill a node's data disk (a small tmpfs) until ENOSPC.
 * - loss: packet loss on one node's links or on every link, as TCP shows
 *   it (see FaultProxy's `loss`): chunks held 200–400 ms, SYNs held 1 s,
 *   now and then a reset.
 * - slow-follower: a follower (INFO replication) whose event loop stalls
 *   for 1.5–3 election timeouts (SIGSTOP, then SIGCONT), again and again.
 * - all: a mix of the above, one per cycle.
 */
import { loopbackTimings } from '@distkv/replication';
import type { ChaosCluster } from './cluster.js';
import { sleep } from './cluster.js';
import type { Rng, Workload } from './workload.js';

export type NemesisKind =
  | 'kill'
  | 'pause'
  | 'partition'
  | 'leader'
  | 'isolate-leader'
  | 'disk'
  | 'loss'
  | 'slow-follower'
  | 'all'
  | 'none';
// biome-ignore format: one line
export const NEMESES: NemesisKind[] = ['kill', 'pause', 'partition', 'leader', 'isolate-leader', 'disk', 'loss', 'slow-follower', 'all', 'none'];

// #region slow-follower-timing
/** The servers' election timeout: all on loopback, they take the loopback timing (no --timing given): 15 ticks of 10 ms. */
export const ELECTION_TIMEOUT_MS = loopbackTimings.electionTimeoutTicks * loopbackTimings.tickMs;
/** A slow follower's stall, in election timeouts: long enough that it must count the leader as gone. */
export const STALL_TIMEOUTS: [number, number] = [1.5, 3];
/** Its run between stalls, in election timeouts: time to hear the leader and catch up. */
export const RUN_TIMEOUTS: [number, number] = [2, 6];
// #endregion slow-follower-timing

/** Loss per chunk and resets per chunk, drawn per cycle. */
const LOSS_RATE: [number, number] = [0.05, 0.3];
const LOSS_RESET_RATE: [number, number] = [0, 0.01];

export interface NemesisEvent {
  kind: string;
  detail: string;
  nodes: string[];
  startMs: number;
  endMs: number;
}

export interface ScheduleOptions {
  kind: NemesisKind;
  quietMs: [number, number];
  faultMs: [number, number];
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)] as T;
}

function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  /** Keys written only by the isolate-leader probe (one writer, in order): for the lost-write count. */
  readonly probeKeys: string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #probe = 0;

  constructor(
    readonly cluster: ChaosCluster,
    readonly workload: Workload,
    readonly rng: Rng,
    readonly options: ScheduleOptions,
  ) {}

  start(): void {
    if (this.options.kind === 'none') return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  #between([lo, hi]: [number, number]): number {
    return lo + this.rng() * (hi - lo);
  }

  /** Sleeps up to ms, waking early when stopped. */
  async #hold(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.#running && Date.now() < end) await sleep(Math.min(100, end - Date.now()));
  }

  async #run(): Promise<void> {
    const mix: NemesisKind[] = ['kill', 'pause', 'partition', 'leader', 'isolate-leader', 'loss', 'slow-follower'];
    if (this.cluster.disksMounted) mix.push('disk');
    while (this.#running) {
      await this.#hold(this.#between(this.options.quietMs));
      if (!this.#running) break;
      const kind = this.options.kind === 'all' ? pick(this.rng, mix) : this.options.kind;
      const event: NemesisEvent = { kind, detail: '', nodes: [], startMs: this.workload.now(), endMs: 0 };
      try {
        const holdMs = this.#between(this.options.faultMs);
        if (kind === 'slow-follower') await this.#slowFollower(event, holdMs);
        else {
          await this.#inject(kind, event);
          await this.#hold(holdMs);
        }
        if (kind === 'loss') this.#lossTotals(event);
      } catch (err) {
        event.detail += ` (nemesis error: ${(err as Error).message.slice(0, 200)})`;
      }
      try {
        await this.#healDisks(event);
        await this.cluster.healAll();
      } catch (err) {
        event.detail += ` (heal error: ${(err as Error).message.slice(0, 200)})`;
      }
      event.endMs = this.workload.now();
      this.events.push(event);
    }
  }

  /**
   * Frees every filled disk. A node whose disk filled may stay wedged after
   * the space comes back (see docs/07-resilience.md): give it 5 s to catch
   * up by itself, note in the event whether it did, then restart it the way
   * an operator would.
   */
  async #healDisks(event: NemesisEvent): Promise<void> {
    const c = this.cluster;
    const filled = c.ids.filter((id) => c.isFilled(id));
    for (const id of filled) c.freeDisk(id);
    for (const id of filled) {
      let recovered = false;
      for (let i = 0; i < 20 && !recovered; i++) {
        await sleep(250);
        try {
          const leader = await c.findLeader();
          if (leader === undefined || !c.processes.isUp(id)) continue;
          const li = await c.processes.info(leader, 1_000);
          const ni = await c.processes.info(id, 1_000);
          // Caught up: it follows the current term (a stopped node's term is frozen) and has applied nearly all.
          recovered =
            ni.get('term') === li.get('term') && Number(li.get('commit_index')) - Number(ni.get('applied_index')) <= 100;
        } catch {
          // not yet
        }
      }
      if (!c.processes.isUp(id)) event.detail += `; ${id} exited (restarted)`;
      else if (!recovered) {
        event.detail += `; ${id} did not catch up within 5 s of freeing the disk (restarted)`;
        await c.processes.kill(id);
      } else event.detail += `; ${id} caught up by itself`;
    }
  }

  #minority(): string[] {
    const ids = this.cluster.ids;
    const size = 1 + Math.floor(this.rng() * Math.floor((ids.length - 1) / 2));
    return shuffle(this.rng, ids).slice(0, size);
  }

  async #inject(kind: NemesisKind, event: NemesisEvent): Promise<void> {
    const c = this.cluster;
    switch (kind) {
      case 'kill': {
        const victims = this.#minority();
        event.nodes = victims;
        event.detail = `SIGKILL ${victims.join(',')}`;
        for (const id of victims) await c.processes.kill(id);
        return;
      }
      case 'pause': {
        const victims = this.#minority();
        event.nodes = victims;
        event.detail = `SIGSTOP ${victims.join(',')}`;
        for (const id of victims) c.processes.pause(id);
        return;
      }
      case 'partition': {
        const ids = shuffle(this.rng, c.ids);
        const shape = pick(this.rng, ['halves', 'bridge', 'isolate'] as const);
        const mode = pick(this.rng, ['reset', 'stall'] as const);
        if (shape === 'halves') {
          const cut = Math.floor(ids.length / 2);
          c.partition([ids.slice(0, cut), ids.slice(cut)], mode);
          event.detail = `halves ${ids.slice(0, cut).join(',')} | ${ids.slice(cut).join(',')} (${mode})`;
          event.nodes = ids.slice(0, cut);
        } else if (shape === 'bridge') {
          const half = Math.floor((ids.length - 1) / 2);
          const left = ids.slice(0, half);
          const bridge = ids[half] as string;
          const right = ids.slice(half + 1);
          c.bridge(left, bridge, right, mode);
          event.detail = `bridge ${left.join(',')} <- ${bridge} -> ${right.join(',')} (${mode})`;
          event.nodes = [bridge];
        } else {
          const lone = ids[0] as string;
          c.partition([[lone], ids.slice(1)], mode);
          event.detail = `isolate ${lone} (${mode})`;
          event.nodes = [lone];
        }
        event.kind = `partition-${shape}`;
        return;
      }
      case 'leader': {
        const leader = await c.findLeader();
        if (leader === undefined) {
          event.detail = 'no leader found';
          return;
        }
        event.nodes = [leader];
        const how = pick(this.rng, ['kill', 'pause', 'isolate'] as const);
        event.kind = `leader-${how}`;
        event.detail = `${how} leader ${leader}`;
        if (how === 'kill') await c.processes.kill(leader);
        else if (how === 'pause') c.processes.pause(leader);
        else c.partition([[leader], c.ids.filter((id) => id !== leader)], pick(this.rng, ['reset', 'stall'] as const));
        return;
      }
      case 'isolate-leader':
        await this.#isolateLeaderProbe(event);
        return;
      case 'disk': {
        const target = this.rng() < 0.5 ? ((await c.findLeader()) ?? pick(this.rng, c.ids)) : pick(this.rng, c.ids);
        event.nodes = [target];
        event.detail = c.fillDisk(target) ? `disk full on ${target}` : `disk nemesis skipped: ${c.diskSkipReason}`;
        return;
      }
      case 'loss': {
        const all = this.rng() < 0.5;
        const nodes = all ? [...c.ids] : [pick(this.rng, c.ids)];
        const rates = { rate: this.#between(LOSS_RATE), resetRate: this.#between(LOSS_RESET_RATE) };
        c.lossy(nodes, rates, Math.floor(this.rng() * 2 ** 32));
        this.#lossAtStart = c.lossCounts();
        event.nodes = all ? [] : nodes;
        event.kind = all ? 'loss-all' : 'loss-node';
        const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
        event.detail = `${all ? 'every link' : `links of ${nodes[0]}`} lossy: ${pct(rates.rate)} held, ${pct(rates.resetRate)} reset`;
        return;
      }
      default:
        return;
    }
  }

  #lossAtStart = { delayed: 0, resets: 0 };

  /** What the lossy links did in this cycle, into the event. */
  #lossTotals(event: NemesisEvent): void {
    const now = this.cluster.lossCounts();
    event.detail += `; ${now.delayed - this.#lossAtStart.delayed} delayed, ${now.resets - this.#lossAtStart.resets} reset`;
  }

  /** The running, unpaused nodes that say they follow a leader. */
  async #followers(): Promise<string[]> {
    const p = this.cluster.processes;
    const roles = await Promise.all(
      this.cluster.ids.map(async (id) => {
        if (!p.isUp(id) || p.isPaused(id)) return undefined;
        const info = await p.info(id, 2_000).catch(() => undefined);
        return info?.get('role') === 'follower' && info.get('leader_id') !== '' ? id : undefined;
      }),
    );
    return roles.filter((id) => id !== undefined);
  }

  // #region slow-follower
  /**
   * For `holdMs`: SIGSTOP one follower for 1.5–3 election timeouts, SIGCONT
   * it, let it run for 2–6, and again. Picked once per cycle from INFO
   * replication (a node with a slow disk or a long GC stays slow); picked
   * anew if it no longer follows. Its peers see it silent past their
   * election timeout; it wakes with a stall's worth of ticks to count.
   */
  async #slowFollower(event: NemesisEvent, holdMs: number): Promise<void> {
    const p = this.cluster.processes;
    const end = Date.now() + holdMs;
    const stalls: number[] = [];
    let victim: string | undefined;
    try {
      while (this.#running && Date.now() < end) {
        const followers = await this.#followers();
        if (victim === undefined || !followers.includes(victim))
          victim = followers.length > 0 ? pick(this.rng, followers) : undefined;
        if (victim === undefined) {
          await this.#hold(250);
          continue;
        }
        const stallMs = ELECTION_TIMEOUT_MS * this.#between(STALL_TIMEOUTS);
        p.pause(victim);
        stalls.push(Math.round(stallMs));
        if (!event.nodes.includes(victim)) event.nodes.push(victim);
        await sleep(stallMs); // not #hold: a stall always ends with SIGCONT, below
        p.resume(victim);
        await this.#hold(ELECTION_TIMEOUT_MS * this.#between(RUN_TIMEOUTS));
      }
    } finally {
      if (victim !== undefined) p.resume(victim);
    }
    const ms = stalls.length === 0 ? '' : ` (${Math.min(...stalls)}–${Math.max(...stalls)} ms)`;
    event.detail = `${stalls.length} SIGSTOP stalls of ${event.nodes.join(',') || 'no follower found'}${ms}`;
  }
  // #endregion slow-follower

  /**
   * Write k=a through the leader; cut the leader off; write k=b to it
   * directly; wait for the others to elect a leader; read k there. All
   * three go into the history, as a client of their own.
   */
  // #region isolate-leader-probe
  async #isolateLeaderProbe(event: NemesisEvent): Promise<void> {
    const c = this.cluster;
    const w = this.workload;
    const lane = w.options.clients; // the nemesis's own client lane
    const key = `p${this.#probe++}`;
    this.probeKeys.push(key);
    const leader = await c.findLeader();
    event.kind = 'isolate-leader';
    if (leader === undefined) {
      event.detail = 'no leader found';
      return;
    }
    event.nodes = [leader];
    const conn = await c.processes.client(leader, 3_000).catch(() => undefined);
    try {
      const a = `${key}-a`;
      await w.run(conn, { client: lane, node: leader, key, kind: 'write', value: a }, ['SET', key, a], () => ({}));
      const others = c.ids.filter((id) => id !== leader);
      c.partition([[leader], others], 'reset');
      const b = `${key}-b`;
      const wb = await w.run(conn, { client: lane, node: leader, key, kind: 'write', value: b }, ['SET', key, b], () => ({}));
      event.detail = `isolate leader ${leader}, write to it: ${wb.status}${wb.note ? ` ${wb.note}` : ''}`;
      // Read on the majority side once it has its own leader (bounded: 15 s of polls).
      for (let i = 0; i < 60 && this.#running; i++) {
        const newLeader = (
          await Promise.all(
            others.map(async (id) =>
              (await c.processes.info(id, 700).catch(() => undefined))?.get('role') === 'leader' ? id : undefined,
            ),
          )
        ).find((x) => x !== undefined);
        if (newLeader !== undefined) {
          const rc = await c.processes.client(newLeader, 3_000).catch(() => undefined);
          const r = await w.run(rc, { client: lane, node: newLeader, key, kind: 'read' }, ['GET', key], (v) => ({
            output: v === null ? null : String(v),
          }));
          void rc?.close().catch(() => undefined);
          if (r.status === 'ok') {
            event.detail += `; ${newLeader} reads ${JSON.stringify(r.output)}`;
            break;
          }
        }
        await sleep(250);
      }
    } finally {
      void conn?.close().catch(() => undefined);
    }
  }
  // #endregion isolate-leader-probe
}
