/**
 * Repair: the operator's way out when `Wal.open()` refused a log with
 * damage that is not a torn tail (`distkv wal repair`). It keeps the longest
 * valid prefix and moves the rest aside, never deleting it. The same scan as
 * recovery (recovery.ts) in its 'repair' mode.
 */
import { nodeFileSystem, type WalFileSystem } from './fs.js';
import { resolveWalLimits, type WalLimits } from './limits.js';
import { type ScanProblem, scanLog } from './recovery.js';

export interface RepairResult {
  /** Last index of the valid prefix that was kept (firstIndex - 1 when empty). */
  lastIndex: number;
  /** Where the log was cut, if anywhere. */
  cut: Array<ScanProblem & { droppedBytes: number }>;
  /** Segment files moved aside (renamed to *.corrupt), not deleted. */
  removed: string[];
}

/**
 * Keeps the longest valid prefix of the log in `dir`: cuts the first damaged
 * segment at the damage and moves every later segment aside as *.corrupt.
 * Run it only after reading the error that made open() refuse: entries
 * after the damage are given up.
 */
export async function repair(
  dir: string,
  options: { fs?: WalFileSystem; log?: (line: string) => void; limits?: Partial<WalLimits> } = {},
): Promise<RepairResult> {
  const fs = options.fs ?? nodeFileSystem;
  const result = await scanLog(fs, dir, resolveWalLimits(options.limits), 'repair', options.log ?? (() => undefined));
  const last = result.segments[result.segments.length - 1];
  return {
    lastIndex: last === undefined ? 0 : last.firstIndex + last.offsets.length - 1,
    cut: result.cut,
    removed: result.removed,
  };
}
