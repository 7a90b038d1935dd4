/**
 * The chaos workload: N concurrent clients, each with one RESP connection
 * to some node, issuing random reads, writes, deletes and compare-and-sets
 * on a few shared keys, plus writes of fresh unique keys (a "set" workload:
 * every acknowledged one must survive to the end). Every operation is
 * recorded with client-side times, and its outcome classified:
 *
 * - ok: a reply that is not an error;
 * - fail: an error the server documents as definite (nothing happened);
 * - info: anything else — a timeout, a lost connection after sending, an
 *   indefinite error. It may or may not have happened.
 */
import { performance } from 'node:perf_hooks';
import { mulberry32, type TestRng } from '@distkv/core/testing';
import type { Client } from '@distkv/net';
import type { Operation } from './checker.js';
import type { ChaosCluster } from './cluster.js';
import { sleep } from './cluster.js';

// #region classify
/** Server error codes after which the operation certainly did not happen (see @distkv/replication's errors). */
export const DEFINITE_ERRORS = new Set([
  'TRYAGAIN',
  'NOT_LEADER',
  'FORWARDS_FULL',
  'PROPOSALS_FULL',
  'PROPOSAL_DROPPED',
  'PROPOSAL_TOO_LARGE',
  'READS_FULL',
]);

export interface HistoryOp extends Operation {
  /** Node the client sent it to. */
  node: string;
  /** Error code or reply detail, for the report. */
  note?: string;
}

export type Rng = TestRng;

export interface WorkloadOptions {
  clients: number;
  keys: number;
  /** Per-request client timeout: a reply later than this is an unknown outcome. */
  timeoutMs: number;
  /** Pause between one client's operations, uniformly 0..thinkMsMax. */
  thinkMsMax: number;
}

/** Classifies an error thrown by Client.call: [status, code]. */
export function classify(err: unknown): ['fail' | 'info', string] {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SERVER_ERROR') {
    const m = /^SERVER_ERROR: -?([A-Z_]+)/.exec(e.message ?? '');
    const code = m?.[1] ?? 'ERR';
    return [DEFINITE_ERRORS.has(code) ? 'fail' : 'info', code];
  }
  // Could not even connect: nothing was sent.
  if (e.code === 'CONNECTION_REFUSED' || e.code === 'CLIENT_CLOSED') return ['fail', e.code];
  return ['info', e.code ?? 'CONN'];
}
// #endregion classify

export class Workload {
  readonly history: HistoryOp[] = [];
  /** Unique-key writes that were acknowledged: key -> value. */
  readonly acknowledged = new Map<string, string>();
  #t0: number;
  #running = false;
  readonly #loops: Array<Promise<void>> = [];

  constructor(
    readonly cluster: ChaosCluster,
    readonly options: WorkloadOptions,
    readonly rng: Rng,
    t0: number,
  ) {
    this.#t0 = t0;
  }

  /** Time zero of the history (the run's start, once the cluster is up). */
  startClock(): void {
    this.#t0 = performance.now();
  }

  now(): number {
    return performance.now() - this.#t0;
  }

  start(): void {
    this.#running = true;
    for (let c = 0; c < this.options.clients; c++)
      this.#loops.push(this.#client(c, mulberry32(Math.floor(this.rng() * 2 ** 32))));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** One operation, timed and classified, appended to the history. */
  async run(
    client: Client | undefined,
    base: Omit<HistoryOp, 'status' | 'callMs' | 'returnMs'>,
    args: string[],
    interpret: (reply: unknown) => Pick<Operation, 'output'>,
  ): Promise<HistoryOp> {
    const op: HistoryOp = { ...base, status: 'info', callMs: this.now(), returnMs: 0 };
    try {
      if (client === undefined) throw Object.assign(new Error('no connection'), { code: 'CONNECTION_REFUSED' });
      const reply = await client.call(...args);
      op.returnMs = this.now();
      Object.assign(op, interpret(reply), { status: 'ok' });
    } catch (err) {
      op.returnMs = this.now();
      const [status, code] = classify(err);
      op.status = status;
      op.note = code;
    }
    this.history.push(op);
    return op;
  }

  async #client(c: number, rng: Rng): Promise<void> {
    // The members change under the membership nemesis: read them anew each time.
    let node = this.cluster.ids[c % this.cluster.ids.length] as string;
    let conn: Client | undefined;
    let seq = 0;
    const lastSeen = new Map<string, string | null>();
    while (this.#running) {
      if (conn === undefined) {
        if (!this.cluster.ids.includes(node)) node = this.cluster.ids[c % this.cluster.ids.length] as string;
        try {
          conn = await this.cluster.processes.client(node, this.options.timeoutMs);
        } catch {
          conn = undefined;
        }
      }
      const key = `k${Math.floor(rng() * this.options.keys)}`;
      const roll = rng();
      const value = `c${c}-${seq++}`;
      let op: HistoryOp;
      if (roll < 0.45) {
        op = await this.run(conn, { client: c, node, key, kind: 'read' }, ['GET', key], (r) => ({
          output: r === null ? null : String(r),
        }));
        if (op.status === 'ok') lastSeen.set(key, op.output as string | null);
      } else if (roll < 0.75) {
        op = await this.run(conn, { client: c, node, key, kind: 'write', value }, ['SET', key, value], () => ({}));
      } else if (roll < 0.8) {
        op = await this.run(conn, { client: c, node, key, kind: 'delete' }, ['DEL', key], () => ({}));
      } else if (roll < 0.93) {
        const expected = lastSeen.get(key) ?? null;
        const args = expected === null ? ['SET', key, value, 'NX'] : ['SET', key, value, 'IFEQ', expected];
        op = await this.run(conn, { client: c, node, key, kind: 'cas', expected, value }, args, (r) => ({
          output: r === 'OK',
        }));
      } else {
        const unique = `u${c}-${seq}`;
        op = await this.run(conn, { client: c, node, key: unique, kind: 'write', value }, ['SET', unique, value], () => ({}));
        if (op.status === 'ok') this.acknowledged.set(unique, value);
      }
      if (op.status !== 'ok') {
        // The connection may be dead or stuck: drop it, and try another node next.
        if (op.note !== undefined && !DEFINITE_ERRORS.has(op.note)) {
          // Not awaited: a paused node never finishes the close handshake.
          void conn?.close().catch(() => undefined);
          conn = undefined;
          const ids = this.cluster.ids;
          node = ids[Math.floor(rng() * ids.length)] as string;
        }
        await sleep(20 + rng() * 80);
      }
      await sleep(rng() * this.options.thinkMsMax);
    }
    void conn?.close().catch(() => undefined);
  }
}
