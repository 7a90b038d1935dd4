/**
 * Leadership transfer in the driver (thesis §3.10): the state machine
 * already knows how (the election brings the target up to date, then sends
 * it TimeoutNow, and abandons the attempt after an election timeout); this
 * waits for the outcome, so an operator's `distkv leader transfer n2`
 * returns when n2 leads, or says why not. One transfer at a time per node.
 */
import { replicationError } from '../errors.js';
import type { NodeId } from '../types.js';

/** How long a transfer may take by default before TRANSFER_TIMEOUT (the election abandons it after one election timeout). */
export const TRANSFER_TIMEOUT_MS_DEFAULT = 5_000;

interface Waiter {
  to: NodeId;
  startedMs: number;
  resolve: (tookMs: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

// #region leader-transfer
export class LeaderTransfers {
  #waiting: Waiter | undefined;

  /**
   * Starts a transfer to `to` with `start` (RaftNode.transferLeadership,
   * which throws NOT_LEADER or TRANSFER_TARGET_INVALID) and resolves with
   * the milliseconds it took once this node sees `to` lead.
   */
  begin(to: NodeId, timeoutMs: number, start: () => void): Promise<number> {
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000)
      return Promise.reject(
        replicationError('CONFIG_INVALID', `timeoutMs must be an integer from 1 to 600000, got ${timeoutMs}`),
      );
    if (this.#waiting !== undefined)
      return Promise.reject(
        replicationError('TRANSFER_IN_PROGRESS', `a transfer to ${this.#waiting.to} is under way; wait for it to finish`),
      );
    try {
      start();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(
          replicationError(
            'TRANSFER_TIMEOUT',
            `${to} did not become leader within ${timeoutMs} ms; the transfer was abandoned or is still under way`,
          ),
        );
      }, timeoutMs);
      this.#waiting = { to, startedMs: performance.now(), resolve, reject, timer };
    });
  }

  /** Called on every change of role or leader this node sees. */
  leaderChanged(leader: NodeId | null): void {
    const w = this.#waiting;
    if (w === undefined || leader !== w.to) return;
    clearTimeout(w.timer);
    this.#waiting = undefined;
    w.resolve(performance.now() - w.startedMs);
  }

  /** The node stopped: a waiting transfer cannot be observed any more. */
  stop(): void {
    const w = this.#waiting;
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.#waiting = undefined;
    w.reject(replicationError('NODE_STOPPED', 'the node stopped before the transfer finished'));
  }
}
// #endregion leader-transfer
