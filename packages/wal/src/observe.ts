/**
 * A read-only window on every Wal under a directory, for metrics: how long
 * each fdatasync took and how many entries each written batch held. The
 * owner of the log (the Raft driver) opens and reopens its Wal itself, so an
 * observer is registered by directory, not by instance: the cluster observes
 * its data dir and sees whichever Wal lives under it. Observers only read;
 * one that throws is ignored, so metrics can never fail a write.
 */
import { resolve, sep } from 'node:path';

// #region wal-observer
export interface WalObserver {
  /** An fdatasync of a segment returned after `seconds` (failed ones too: `ok` false). */
  onFsync?(sample: { dir: string; seconds: number; ok: boolean }): void;
  /** One batch was written (one write system call): `entries` records, `bytes` bytes. */
  onBatch?(sample: { dir: string; entries: number; bytes: number }): void;
}
// #endregion wal-observer

/** Most observers at once; registering more is a programmer error (a leak). */
export const WAL_OBSERVERS_MAX = 64;

const observers = new Map<WalObserver, string>();

/**
 * Calls `observer` for every Wal whose directory is `dir` or lies under it,
 * until the returned function is called.
 */
export function observeWal(dir: string, observer: WalObserver): () => void {
  if (observers.size >= WAL_OBSERVERS_MAX) throw new Error(`more than ${WAL_OBSERVERS_MAX} WAL observers: one is never removed`);
  observers.set(observer, resolve(dir));
  return () => {
    observers.delete(observer);
  };
}

/** The observers of one Wal's directory (resolved); empty, and cheap, when nobody observes. */
export function observersOf(dir: string): WalObserver[] {
  if (observers.size === 0) return [];
  const out: WalObserver[] = [];
  for (const [o, root] of observers) if (dir === root || dir.startsWith(root.endsWith(sep) ? root : root + sep)) out.push(o);
  return out;
}

export function notifyFsync(dir: string, seconds: number, ok: boolean): void {
  for (const o of observersOf(dir)) {
    try {
      o.onFsync?.({ dir, seconds, ok });
    } catch {
      // an observer must not fail the log
    }
  }
}

export function notifyBatch(dir: string, entries: number, bytes: number): void {
  for (const o of observersOf(dir)) {
    try {
      o.onBatch?.({ dir, entries, bytes });
    } catch {
      // an observer must not fail the log
    }
  }
}
