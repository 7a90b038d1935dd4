import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32c, isDistkvError } from '@distkv/core';
import { DataDirLock, type RepairResult, repair, Wal } from '@distkv/wal';
import type { Command } from 'commander';
import { commandGroup } from './arguments.js';

const SEGMENT_NAME = /^(\d{20})\.wal$/;

/** What `distkv wal inspect --json` prints. */
export interface WalReport {
  dir: string;
  layout: 'replica' | 'single';
  logDir: string;
  segments: Array<{
    file: string;
    bytes: number;
    firstIndex: number;
    lastIndex: number | null;
    /** The damage is in this file. */
    damaged: boolean;
    /** A later segment, past the damage: repair moves it aside as *.corrupt. */
    afterDamage: boolean;
  }>;
  /** Files a previous repair moved aside. */
  setAside: string[];
  firstIndex: number | null;
  lastIndex: number | null;
  corruption: Array<{ file: string; offset: number; index: number; reason: string; droppedBytes: number }>;
  /** clean; torn-tail (the server cuts it itself at start: it was never acknowledged); corrupt (the server refuses to start). */
  verdict: 'clean' | 'torn-tail' | 'corrupt';
  snapshot: { file: string; index: number; term: number; bytes: number; checksumOk: boolean; problem?: string } | null;
  snapshots: Array<{ file: string; index: number; bytes: number }>;
  hardState: { term: number; vote: string | null } | { problem: string } | null;
}

/** A replica keeps its log in <dir>/log (with <dir>/snapshot and <dir>/hardstate); a single node in <dir> itself. */
function layoutOf(dir: string): { layout: 'replica' | 'single'; logDir: string } {
  if (existsSync(join(dir, 'log'))) return { layout: 'replica', logDir: join(dir, 'log') };
  return { layout: 'single', logDir: dir };
}

/**
 * A replica's framed file (hardstate, snapshot): magic(8) | length u32 |
 * body | crc32c u32 over everything before it. Read here without opening
 * the replica, so inspecting never changes anything.
 */
function readFramed(path: string, magic: string): { body: Buffer } | { problem: string } {
  const buf = readFileSync(path);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== magic) return { problem: 'bad magic or too short' };
  const length = buf.readUInt32LE(8);
  if (length !== buf.length - 16) return { problem: `length ${length} does not match the file (${buf.length} bytes)` };
  if (crc32c(buf, 0, 0, 12 + length) !== buf.readUInt32LE(12 + length)) return { problem: 'checksum mismatch' };
  return { body: buf.subarray(12, 12 + length) };
}

async function copySegments(logDir: string, names: string[]): Promise<string> {
  const copy = mkdtempSync(join(tmpdir(), 'distkv-wal-inspect-'));
  for (const name of names) await copyFile(join(logDir, name), join(copy, name));
  return copy;
}

/**
 * Reads a data directory without changing it: @distkv/wal's own repair()
 * and open() run on a copy of the segments, so the verdict is exactly the
 * server's (the same checks, the same torn-tail rule), and the original
 * files are only read.
 */
export async function inspectWal(dirArg: string): Promise<WalReport> {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  const { layout, logDir } = layoutOf(dir);
  const files = existsSync(logDir) ? readdirSync(logDir).sort() : [];
  const names = files.filter((n) => SEGMENT_NAME.test(n));
  const setAside = files.filter((n) => n.endsWith('.corrupt'));
  let repaired: RepairResult = { lastIndex: 0, cut: [], removed: [] };
  let verdict: WalReport['verdict'] = 'clean';
  let firstIndex: number | null = null;
  let kept: string[] = [];
  if (names.length > 0) {
    const scratch = await copySegments(logDir, names);
    try {
      repaired = await repair(scratch);
      kept = readdirSync(scratch)
        .filter((n) => SEGMENT_NAME.test(n))
        .sort();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    // #region inspect-verdict
    if (repaired.cut.length > 0) {
      // Would the server start on it? open() cuts a torn tail itself and refuses anything else.
      const trial = await copySegments(logDir, names);
      try {
        const wal = await Wal.open({ dir: trial });
        await wal.close();
        verdict = 'torn-tail';
      } catch (err) {
        if (!isDistkvError(err, 'WAL_CORRUPT')) throw err;
        verdict = 'corrupt';
      } finally {
        rmSync(trial, { recursive: true, force: true });
      }
    }
    // #endregion inspect-verdict
    firstIndex = Number((SEGMENT_NAME.exec(names[0] as string) as RegExpExecArray)[1]);
  }
  const original = (file: string): string => join(logDir, file.slice(file.lastIndexOf('/') + 1));
  const segments = names.map((name) => {
    const first = Number((SEGMENT_NAME.exec(name) as RegExpExecArray)[1]);
    const keptAt = kept.indexOf(name);
    let last: number | null = null;
    if (keptAt >= 0) {
      const next = kept[keptAt + 1];
      last = next === undefined ? repaired.lastIndex : Number((SEGMENT_NAME.exec(next) as RegExpExecArray)[1]) - 1;
      if (last < first) last = null; // an empty segment
    }
    const damaged = keptAt < 0 || repaired.cut.some((c) => original(c.file) === join(logDir, name));
    const afterDamage = keptAt < 0 && !repaired.cut.some((c) => original(c.file) === join(logDir, name));
    const bytes = statSync(join(logDir, name)).size;
    return { file: join(logDir, name), bytes, firstIndex: first, lastIndex: last, damaged: damaged && !afterDamage, afterDamage };
  });
  let snapshot: WalReport['snapshot'] = null;
  let hardState: WalReport['hardState'] = null;
  const snapshots: WalReport['snapshots'] = [];
  if (layout === 'replica') {
    const snapPath = join(dir, 'snapshot');
    if (existsSync(snapPath)) {
      const framed = readFramed(snapPath, 'DKVRAFTS');
      const bytes = statSync(snapPath).size;
      snapshot =
        'problem' in framed
          ? { file: snapPath, index: 0, term: 0, bytes, checksumOk: false, problem: framed.problem }
          : {
              file: snapPath,
              index: Number(framed.body.readBigUInt64LE(0)),
              term: Number(framed.body.readBigUInt64LE(8)),
              bytes,
              checksumOk: true,
            };
    }
    const hsPath = join(dir, 'hardstate');
    if (existsSync(hsPath)) {
      const framed = readFramed(hsPath, 'DKVRAFTH');
      if ('problem' in framed) hardState = { problem: framed.problem };
      else {
        const voteLength = framed.body.readUInt16LE(8);
        hardState = {
          term: Number(framed.body.readBigUInt64LE(0)),
          vote: voteLength === 0 ? null : framed.body.toString('utf8', 10, 10 + voteLength),
        };
      }
    }
  } else {
    for (const name of readdirSync(dir).sort()) {
      const match = /^snapshot-(\d{20})\.snap$/.exec(name);
      if (match !== null)
        snapshots.push({ file: join(dir, name), index: Number(match[1]), bytes: statSync(join(dir, name)).size });
    }
  }
  return {
    dir,
    layout,
    logDir,
    segments,
    setAside,
    firstIndex,
    lastIndex: names.length === 0 ? null : repaired.lastIndex,
    corruption: repaired.cut.map((c) => ({ ...c, file: original(c.file) })),
    verdict,
    snapshot,
    snapshots,
    hardState,
  };
}

function formatReport(r: WalReport): string {
  const lines: string[] = [];
  lines.push(`${r.dir} (${r.layout === 'replica' ? 'a replica: log/, snapshot, hardstate' : 'a single node'})`);
  if (r.segments.length === 0) lines.push('  no log segments');
  for (const s of r.segments) {
    const range = s.lastIndex === null ? 'none readable' : `${s.firstIndex}..${s.lastIndex}`;
    const note = s.afterDamage ? '  AFTER THE DAMAGE (repair sets it aside)' : s.damaged ? '  DAMAGED' : '';
    lines.push(`  ${s.file}  ${s.bytes} bytes  entries ${range}${note}`);
  }
  if (r.segments.length > 0) lines.push(`  log: index ${r.firstIndex}..${r.lastIndex} readable`);
  for (const name of r.setAside) lines.push(`  set aside by an earlier repair: ${name}`);
  if (r.snapshot !== null) {
    const s = r.snapshot;
    lines.push(
      s.checksumOk
        ? `  snapshot: index ${s.index}, term ${s.term}, ${s.bytes} bytes, checksum ok`
        : `  snapshot: ${s.file} DAMAGED: ${s.problem}`,
    );
  }
  for (const s of r.snapshots) lines.push(`  snapshot: ${s.file} covers index ${s.index}, ${s.bytes} bytes`);
  if (r.hardState !== null) {
    lines.push(
      'problem' in r.hardState
        ? `  hardstate DAMAGED: ${r.hardState.problem}`
        : `  hardstate: term ${r.hardState.term}, voted for ${r.hardState.vote ?? 'nobody'}`,
    );
  }
  for (const c of r.corruption) {
    lines.push(
      `  corruption: ${c.file} at offset ${c.offset} (entry index ${c.index}): ${c.reason}; ${c.droppedBytes} bytes after it`,
    );
  }
  const verdicts = {
    clean: 'verdict: clean',
    'torn-tail': 'verdict: a torn tail (a write cut by a crash, never acknowledged); the server cuts it itself on start',
    corrupt: 'verdict: CORRUPT; the server refuses to start. `distkv wal repair <dir>` keeps the valid prefix',
  };
  lines.push(`  ${verdicts[r.verdict]}`);
  return `${lines.join('\n')}\n`;
}

export function registerWalCommand(program: Command): void {
  const wal = commandGroup(program, 'wal', "look into a node's write-ahead log; repair a damaged one", [
    'distkv wal inspect ./data/n1',
    'distkv wal repair ./data/n1',
  ]);
  wal
    .command('inspect')
    .description('segments, index ranges, snapshot, hard state, and any corruption with file and offset (read-only)')
    .argument('<dir>', "a node's data directory (e.g. ./data/n1), or a log directory")
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExit code: 0 clean or a torn tail, 1 corrupt, 2 on a bad argument.\n\nExamples:\n  distkv wal inspect ./data/n1\n  distkv wal inspect ./data --json | jq .corruption',
    )
    .action(async (dir: string, flags: { json?: boolean }) => {
      const report = await inspectWal(dir).catch((err: Error) => {
        process.stderr.write(`distkv wal inspect: ${err.message}\n`);
        process.exit(2);
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      process.exitCode = report.verdict === 'corrupt' ? 1 : 0;
    });
  wal
    .command('repair')
    .description('keep the longest valid prefix: cut the first damaged segment, move later ones aside as *.corrupt')
    .argument('<dir>', "a node's data directory (refused while a node holds it)")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nEntries after the damage are given up (a replica gets them back from the leader).\n\nExamples:\n  distkv wal inspect ./data/n1 && distkv wal repair ./data/n1',
    )
    .action(async (dirArg: string, flags: { json?: boolean }) => {
      const dir = resolve(dirArg);
      if (!existsSync(dir)) {
        process.stderr.write(`distkv wal repair: ${dir}: no such directory\n`);
        process.exit(2);
      }
      // A running node owns its log: cutting it under the node's feet would lose what it acknowledged.
      let lock: DataDirLock;
      try {
        lock = DataDirLock.acquire(dir);
      } catch (err) {
        if (!isDistkvError(err, 'DATA_DIR_LOCKED')) throw err;
        process.stderr.write(`distkv wal repair: ${err.message}\n`);
        process.exit(2);
      }
      const { logDir } = layoutOf(dir);
      const logLines: string[] = [];
      const result = await repair(logDir, { log: (line) => logLines.push(line) }).finally(() => lock.release());
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ logDir, ...result })}\n`);
        return;
      }
      for (const line of logLines) process.stdout.write(`${line}\n`);
      process.stdout.write(
        result.cut.length === 0
          ? `${logDir}: nothing to repair; the log ends at index ${result.lastIndex}\n`
          : `${logDir}: repaired; the log now ends at index ${result.lastIndex}${result.removed.length > 0 ? `; set aside: ${result.removed.join(', ')}` : ''}\n`,
      );
    });
}
