/**
 * Requests per second and their latency, one point per second, for the
 * dashboard's chart. Prometheus keeps the real history (its histograms are
 * cumulative); this is the last couple of minutes, computed in the node so
 * the page needs nothing but the node itself. Latencies fall into fixed
 * buckets, so a second of a million requests costs the same memory as one.
 */
import { clusterError } from './errors.js';

/** Bucket upper bounds in milliseconds; the last one catches everything slower. */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10_000,
  Number.POSITIVE_INFINITY,
]);

// #region series-point
export interface SeriesPoint {
  /** End of the interval, wall clock (Date.now()). */
  atMs: number;
  opsPerSec: number;
  errorsPerSec: number;
  /** Upper bound of the bucket holding the median (capped at maxMs); null with no request. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}
// #endregion series-point

export const SERIES_POINTS_MAX_LIMIT = 86_400;

export class OpsSeries {
  readonly pointsMax: number;
  readonly #points: SeriesPoint[] = [];
  readonly #buckets = new Array<number>(LATENCY_BOUNDS_MS.length).fill(0);
  #count = 0;
  #errors = 0;
  #maxMs = 0;
  #startedMs: number;

  constructor(pointsMax = 120, nowMs = Date.now()) {
    if (!Number.isSafeInteger(pointsMax) || pointsMax < 1 || pointsMax > SERIES_POINTS_MAX_LIMIT)
      throw clusterError(
        'CLUSTER_CONFIG_INVALID',
        `seriesPointsMax must be an integer in 1..${SERIES_POINTS_MAX_LIMIT}, got ${pointsMax}`,
      );
    this.pointsMax = pointsMax;
    this.#startedMs = nowMs;
  }

  record(latencySeconds: number, ok: boolean): void {
    const ms = latencySeconds * 1000;
    let i = 0;
    while (ms > (LATENCY_BOUNDS_MS[i] as number)) i++;
    this.#buckets[i] = (this.#buckets[i] as number) + 1;
    this.#count++;
    if (!ok) this.#errors++;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  #quantileMs(q: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i] as number;
      if (seen >= rank) return Math.min(LATENCY_BOUNDS_MS[i] as number, this.#maxMs);
    }
    return this.#maxMs;
  }

  /** Closes the interval that began at the last roll and starts the next one. */
  roll(nowMs = Date.now()): SeriesPoint {
    const seconds = Math.max(0.001, (nowMs - this.#startedMs) / 1000);
    const point: SeriesPoint = {
      atMs: nowMs,
      opsPerSec: Math.round((this.#count / seconds) * 10) / 10,
      errorsPerSec: Math.round((this.#errors / seconds) * 10) / 10,
      p50Ms: this.#quantileMs(0.5),
      p99Ms: this.#quantileMs(0.99),
      maxMs: this.#count === 0 ? null : this.#maxMs,
    };
    this.#points.push(point);
    if (this.#points.length > this.pointsMax) this.#points.shift();
    this.#buckets.fill(0);
    this.#count = 0;
    this.#errors = 0;
    this.#maxMs = 0;
    this.#startedMs = nowMs;
    return point;
  }

  /** Oldest first; only those after `afterMs`. */
  points(afterMs = 0): SeriesPoint[] {
    return this.#points.filter((p) => p.atMs > afterMs);
  }
}
