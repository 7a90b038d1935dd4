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
 * - all: a mix of the above, one per cycle.
 */
import type { ChaosCluster } from './cluster.js';
import { sleep } from './cluster.js';
import type { Rng, Workload } from './workload.js';

export type NemesisKind = 'kill' | 'pause' | 'partition' | 'leader' | 'isolate-leader' | 'disk' | 'all' | 'none';
export const NEMESES: NemesisKind[] = ['kill', 'pause', 'partition', 'leader', 'isolate-leader', 'disk', 'all', 'none'];

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
    const mix: NemesisKind[] = ['kill', 'pause', 'partition', 'leader', 'isolate-leader'];
    if (this.cluster.disksMounted) mix.push('disk');
    while (this.#running) {
      await this.#hold(this.#between(this.options.quietMs));
      if (!this.#running) break;
      const kind = this.options.kind === 'all' ? pick(this.rng, mix) : this.options.kind;
      const event: NemesisEvent = { kind, detail: '', nodes: [], startMs: this.workload.now(), endMs: 0 };
      try {
        await this.#inject(kind, event);
        await this.#hold(this.#between(this.options.faultMs));
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
   * the space comes back (see docs/06-resilience.md): give it 5 s to catch
   * up by itself, note in the event whether it did, then restart it the way
   * an operator would.
   */
  async #healDisks(event: NemesisEvent): Promise<void> {
    const c = this.cluster;
    const filled = c.ids.filter((id) => c.node(id).filler !== undefined);
    for (const id of filled) c.freeDisk(id);
    for (const id of filled) {
      let recovered = false;
      for (let i = 0; i < 20 && !recovered; i++) {
        await sleep(250);
        try {
          const leader = await c.findLeader();
          if (leader === undefined || !c.isUp(id)) continue;
          const li = await c.info(leader);
          const ni = await c.info(id);
          // Caught up: it follows the current term (a stopped node's term is frozen) and has applied nearly all.
          recovered =
            ni.get('term') === li.get('term') && Number(li.get('commit_index')) - Number(ni.get('applied_index')) <= 100;
        } catch {
          // not yet
        }
      }
      if (!c.isUp(id)) event.detail += `; ${id} exited (restarted)`;
      else if (!recovered) {
        event.detail += `; ${id} did not catch up within 5 s of freeing the disk (restarted)`;
        await c.kill(id);
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
        for (const id of victims) await c.kill(id);
        return;
      }
      case 'pause': {
        const victims = this.#minority();
        event.nodes = victims;
        event.detail = `SIGSTOP ${victims.join(',')}`;
        for (const id of victims) c.pause(id);
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
        if (how === 'kill') await c.kill(leader);
        else if (how === 'pause') c.pause(leader);
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
      default:
        return;
    }
  }

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
    const conn = await c.connect(leader, 3_000).catch(() => undefined);
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
            others.map(async (id) => ((await c.info(id, 700).catch(() => undefined))?.get('role') === 'leader' ? id : undefined)),
          )
        ).find((x) => x !== undefined);
        if (newLeader !== undefined) {
          const rc = await c.connect(newLeader, 3_000).catch(() => undefined);
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
