/**
 * Recovery: what `Wal.open()` does before the writer starts. Removes the
 * temp files of segments a crash left half-made, then reads every segment
 * and checks every record (scanLog). A torn tail of the last segment is
 * cut off, since it was never acknowledged; damage anywhere else refuses
 * to start, and repair.ts is the way out. Kept apart from the writer so that
 * the rule "what may be cut, and what must refuse" reads on its own.
 */
import { join } from 'node:path';
import { walError } from './errors.js';
import type { WalFileSystem } from './fs.js';
import type { WalLimits } from './limits.js';
import { checkEntryRecord, checkSegmentHeader, findLaterValidRecord, SEGMENT_HEADER_BYTES } from './record.js';
import { SEGMENT_NAME, type Segment } from './segment.js';

export interface ScanProblem {
  file: string;
  offset: number;
  index: number;
  reason: string;
}

export interface ScanResult {
  segments: Segment[];
  /** What was cut from the tail of the last segment (open), or from the first damaged segment on (repair). */
  cut: Array<ScanProblem & { droppedBytes: number }>;
  /** Segments after the damage that repair renamed to *.corrupt. */
  removed: string[];
}

/**
 * Reads every segment of `dir` and checks every record. In 'open' mode a
 * damaged record at the tail of the last segment is cut off (a crash tore
 * the last, never-acknowledged write); damage anywhere else throws
 * WAL_CORRUPT. In 'repair' mode the log is cut at the first damage,
 * wherever it is, and later segments are renamed to *.corrupt.
 */
// #region scan
export async function scanLog(
  fs: WalFileSystem,
  dir: string,
  limits: Readonly<WalLimits>,
  mode: 'open' | 'repair',
  log: (line: string) => void,
  onEntry?: (index: number, term: number, payload: Buffer) => void,
): Promise<ScanResult> {
  const names = (await fs.readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  const result: ScanResult = { segments: [], cut: [], removed: [] };
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const path = join(dir, name);
    const buf = await fs.readFile(path);
    const isLast = i === names.length - 1;
    const previous = result.segments[result.segments.length - 1];
    const nameIndex = Number((SEGMENT_NAME.exec(name) as RegExpExecArray)[1]);
    const expectedFirst = previous === undefined ? nameIndex : previous.firstIndex + previous.offsets.length;
    const segment: Segment = { firstIndex: nameIndex, name, offsets: [], terms: [], bytes: SEGMENT_HEADER_BYTES };
    let problem: ScanProblem | undefined;
    const header = checkSegmentHeader(buf);
    if (!header.ok) {
      if (header.version !== undefined) {
        throw walError('WAL_VERSION', `${path}: ${header.reason}; this build reads version 1`);
      }
      problem = { file: path, offset: 0, index: expectedFirst, reason: header.reason };
    } else if (header.firstIndex !== nameIndex || nameIndex !== expectedFirst) {
      problem = {
        file: path,
        offset: 0,
        index: expectedFirst,
        reason: `segment starts at index ${header.firstIndex} but index ${expectedFirst} comes next (a gap)`,
      };
    }
    let at = SEGMENT_HEADER_BYTES;
    let expected = nameIndex;
    while (problem === undefined && at < buf.length) {
      const check = checkEntryRecord(buf, at, expected, limits.entryBytesMax);
      if (!check.ok) {
        problem = { file: path, offset: at, index: expected, reason: check.reason };
        break;
      }
      segment.offsets.push(at);
      segment.terms.push(check.entry.term);
      onEntry?.(expected, check.entry.term, check.entry.payload);
      expected++;
      at = check.end;
    }
    if (problem === undefined) {
      segment.bytes = buf.length;
      result.segments.push(segment);
      continue;
    }
    // #region torn-tail
    // A torn write only ever damages the end of the last segment. Damage
    // followed by intact records, or in an older segment, is corruption.
    const tornTail =
      isLast && problem.offset > 0 && findLaterValidRecord(buf, problem.offset, expected - 1, limits.entryBytesMax) === undefined;
    if (mode === 'open' && !tornTail) {
      throw walError(
        'WAL_CORRUPT',
        `${problem.file} at offset ${problem.offset} (entry index ${problem.index}): ${problem.reason}. ` +
          'This is not a torn tail, so the log refuses to start; repair() keeps the valid prefix.',
      );
    }
    // #endregion torn-tail
    const keep = problem.offset;
    const droppedBytes = buf.length - keep;
    if (keep === 0) {
      // The header itself is damaged: nothing in this file can be trusted.
      await fs.rename(path, `${path}.corrupt`);
      result.removed.push(`${name}.corrupt`);
    } else {
      const file = await fs.open(path, 'r+');
      try {
        await file.truncate(keep);
        await file.datasync();
      } finally {
        await file.close();
      }
      segment.bytes = keep;
      result.segments.push(segment);
    }
    result.cut.push({ ...problem, droppedBytes });
    log(
      `wal: ${path}: dropped ${droppedBytes} bytes from offset ${keep} (${problem.reason}); ` +
        `the log now ends at index ${expected - 1}`,
    );
    for (const later of names.slice(i + 1)) {
      await fs.rename(join(dir, later), join(dir, `${later}.corrupt`));
      result.removed.push(`${later}.corrupt`);
      log(`wal: repair moved ${later} aside as ${later}.corrupt`);
    }
    if (result.removed.length > 0) await fs.syncDir(dir);
    break;
  }
  return result;
}
// #endregion scan

/** A crash while a segment was being created leaves its temp file: remove it. */
export async function removeUnfinishedSegments(fs: WalFileSystem, dir: string, log: (line: string) => void): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (name.endsWith('.wal.tmp')) {
      await fs.unlink(join(dir, name));
      log(`wal: removed unfinished segment ${name}`);
    }
  }
}
