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
 * - membership: one change of the members through the admin API, the
 *   leader's as often as any other's: replace (remove a random member,
 *   the leader included, then join a fresh node by `--join`), or a
 *   learner that joins (`--join --learner`), catches up and is removed;
 *   a cluster short of its size grows back first. Fresh nodes get new
 *   ids (an id is never reused).
 * - all: a mix of the above, one per cycle.
 */
import { mulberry32 } from '@distkv/core/testing';
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
  | 'membership'
  | 'all'
  | 'none';
// biome-ignore format: one line
export const NEMESES: NemesisKind[] = ['kill', 'pause', 'partition', 'leader', 'isolate-leader', 'disk', 'loss', 'slow-follower', 'membership', 'all', 'none'];

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

/** How long a change may take to show in the leader's member list (elections included), and a removed node to exit by itself. */
const CHANGE_MS = 30_000;
const EXIT_MS = 15_000;

/** A member as GET /v1/members lists it. */
interface Member {
  id: string;
  role: 'voter' | 'learner';
  lag: number | null;
}

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
  /**
   * Membership changes alongside the faults, not in turn with them: a
   * loop of its own (its own generator, drawn from the run's), a change
   * every quietMs, while the fault nemesis goes on (it leaves the nodes
   * being added or removed alone, see ChaosCluster.steady).
   */
  membership?: boolean;
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
  #membershipLoop: Promise<void> | undefined;
  #probe = 0;
  /** The next fresh node is n<this>. */
  #nextId: number;

  constructor(
    readonly cluster: ChaosCluster,
    readonly workload: Workload,
    readonly rng: Rng,
    readonly options: ScheduleOptions,
  ) {
    this.#nextId = cluster.ids.length + 1;
  }

  start(): void {
    if (this.options.kind === 'none' && this.options.membership !== true) return;
    this.#running = true;
    if (this.options.kind !== 'none') this.#loop = this.#run();
    if (this.options.membership === true)
      this.#membershipLoop = this.#runMembership(mulberry32(Math.floor(this.rng() * 2 ** 32)));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#membershipLoop;
  }

  #between([lo, hi]: [number, number], rng: Rng = this.rng): number {
    return lo + rng() * (hi - lo);
  }

  /** Sleeps up to ms, waking early when stopped. */
  async #hold(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.#running && Date.now() < end) await sleep(Math.min(100, end - Date.now()));
  }

  async #run(): Promise<void> {
    const mix: NemesisKind[] = ['kill', 'pause', 'partition', 'leader', 'isolate-leader', 'loss', 'slow-follower'];
    if (this.options.membership !== true) mix.push('membership'); // else the loop of its own does them
    if (this.cluster.disksMounted) mix.push('disk');
    while (this.#running) {
      await this.#hold(this.#between(this.options.quietMs));
      if (!this.#running) break;
      const kind = this.options.kind === 'all' ? pick(this.rng, mix) : this.options.kind;
      const event: NemesisEvent = { kind, detail: '', nodes: [], startMs: this.workload.now(), endMs: 0 };
      try {
        const holdMs = this.#between(this.options.faultMs);
        if (kind === 'slow-follower') await this.#slowFollower(event, holdMs);
        else if (kind === 'membership') await this.#membership(event, holdMs, this.rng);
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
    const ids = this.cluster.steady;
    const size = 1 + Math.floor(this.rng() * Math.floor((this.cluster.ids.length - 1) / 2));
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
        const ids = shuffle(this.rng, c.steady);
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
        const target = this.rng() < 0.5 ? ((await c.findLeader()) ?? pick(this.rng, c.steady)) : pick(this.rng, c.steady);
        event.nodes = [target];
        event.detail = c.fillDisk(target) ? `disk full on ${target}` : `disk nemesis skipped: ${c.diskSkipReason}`;
        return;
      }
      case 'loss': {
        const all = this.rng() < 0.5;
        const nodes = all ? [...c.ids] : [pick(this.rng, c.steady)];
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

  /** The membership changes alongside the faults: one every quietMs, each an event of its own. */
  async #runMembership(rng: Rng): Promise<void> {
    while (this.#running) {
      await this.#hold(this.#between(this.options.quietMs, rng));
      if (!this.#running) break;
      const event: NemesisEvent = { kind: 'membership', detail: '', nodes: [], startMs: this.workload.now(), endMs: 0 };
      try {
        await this.#membership(event, this.#between(this.options.faultMs, rng), rng);
      } catch (err) {
        event.detail += ` (nemesis error: ${(err as Error).message.slice(0, 200)})`;
      }
      event.endMs = this.workload.now();
      this.events.push(event);
    }
  }

  // #region membership
  /**
   * One change of the members, done the way an operator does it and
   * checked the way an operator would: each step waits (bounded) until the
   * leader's member list shows it. A removal answered TIMEOUT may have
   * committed anyway, so the list decides, not the answer.
   */
  async #membership(event: NemesisEvent, holdMs: number, rng: Rng): Promise<void> {
    const c = this.cluster;
    const short = c.ids.length < c.options.nodes;
    const action = short ? 'grow' : pick(rng, ['replace', 'learner'] as const);
    event.kind = `membership-${action}`;
    const steps: string[] = [];
    try {
      if (action === 'replace') {
        const victim = pick(rng, c.steady);
        event.nodes.push(victim);
        if (!(await this.#remove(victim, steps))) return;
      }
      const fresh = `n${this.#nextId++}`;
      event.nodes.push(fresh);
      const learner = action === 'learner';
      if (!(await this.#add(fresh, learner, steps))) return;
      if (learner) {
        await this.#hold(holdMs);
        await this.#remove(fresh, steps);
      }
    } finally {
      event.detail = steps.join('; ');
    }
  }
  // #endregion membership

  /** The leader's member list (it has every member's lag), or undefined while there is no leader to ask. */
  async #members(): Promise<Member[] | undefined> {
    const leader = await this.cluster.findLeader();
    if (leader === undefined) return undefined;
    const answer = await this.#admin(leader, 'GET', '');
    return answer?.status === 200 ? (answer.body as { members: Member[] }).members : undefined;
  }

  async #admin(node: string, method: string, path: string): Promise<{ status: number; body: unknown } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.cluster.processes.httpPort(node)}/v1/members${path}`, {
        method,
        signal: AbortSignal.timeout(5_000),
      });
      return { status: res.status, body: await res.json() };
    } catch {
      return undefined; // down, paused, or slow: asked again
    }
  }

  /** Polls `check` every 250 ms for up to `ms`; true once it held. */
  async #until(ms: number, check: () => Promise<boolean>): Promise<boolean> {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) if (await check()) return true;
    return false;
  }

  /** DELETE /v1/members/<id> at the leader until the leader's list lacks it; then it exits by itself (or is killed) and is retired. */
  async #remove(id: string, steps: string[]): Promise<boolean> {
    const c = this.cluster;
    c.changing(id, true);
    try {
      return await this.#removeChanging(id, steps);
    } finally {
      c.changing(id, false);
    }
  }

  /** #remove's work, for a node already marked as changing (#add's failed join is one). */
  async #removeChanging(id: string, steps: string[]): Promise<boolean> {
    const c = this.cluster;
    const wasLeader = (await c.findLeader()) === id;
    c.leaving(id);
    const exited = c.processes.isUp(id) ? c.processes.exited(id) : Promise.resolve(undefined);
    const removed = await this.#until(CHANGE_MS, async () => {
      const members = await this.#members();
      if (members !== undefined && !members.some((m) => m.id === id)) return true;
      const leader = await c.findLeader();
      if (leader !== undefined) await this.#admin(leader, 'DELETE', `/${encodeURIComponent(id)}`);
      return false;
    });
    if (!removed) {
      c.leaving(id, false);
      steps.push(`remove ${id}: still a member after ${CHANGE_MS / 1000} s`);
      return false;
    }
    const exit = await Promise.race([exited, sleep(EXIT_MS).then(() => 'running' as const)]);
    // Not told within the bound: the end of its log goes into the event, to see why.
    const tail =
      exit === 'running' ? ` [its log: ${c.processes.logs(id).trim().split('\n').slice(-4).join(' | ').slice(-600)}]` : '';
    const how =
      exit === 'running'
        ? `still running ${EXIT_MS / 1000} s later (killed)${tail}`
        : exit === undefined
          ? 'it was down'
          : exit.signal === 'SIGKILL'
            ? 'a fault had killed it'
            : `it exited ${exit.code ?? exit.signal} by itself`;
    await c.retire(id);
    steps.push(`removed ${wasLeader ? 'the leader ' : ''}${id} (${how})`);
    return true;
  }

  /** A fresh node joins by `--join` (as a learner that stays one, or promoted once caught up); waits for the list to show it so. */
  async #add(id: string, learner: boolean, steps: string[]): Promise<boolean> {
    const c = this.cluster;
    c.changing(id, true);
    try {
      await c.addNode(id, learner ? ['--learner'] : []);
      // A join may be refused (exit 1): with faults alongside, that is the cluster answering, not a crash.
      c.leaving(id);
      try {
        await c.processes.start(id);
      } catch (err) {
        steps.push(`join ${id} failed: ${(err as Error).message.split('\n')[0]?.slice(0, 200)}`);
        // Its add may have committed before it gave up: take it out of the members again.
        await this.#removeChanging(id, steps);
        if (c.ids.includes(id)) await c.retire(id);
        return false;
      }
      c.leaving(id, false);
      const done = await this.#until(CHANGE_MS, async () => {
        const m = (await this.#members())?.find((x) => x.id === id);
        return learner ? m?.role === 'learner' && m.lag === 0 : m?.role === 'voter';
      });
      steps.push(
        done
          ? `joined ${id} (${learner ? 'a learner, caught up' : 'promoted to voter'})`
          : `joined ${id}, not ${learner ? 'caught up' : 'a voter'} within ${CHANGE_MS / 1000} s`,
      );
      return true;
    } finally {
      c.changing(id, false);
    }
  }

  /** The running, unpaused nodes that say they follow a leader. */
  async #followers(): Promise<string[]> {
    const p = this.cluster.processes;
    const roles = await Promise.all(
      this.cluster.steady.map(async (id) => {
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
