// Goal: installing a leader's snapshot is crash-atomic on disk (issue 17, item 2): a SIGKILL at any step leaves a
// directory that opens, whose log follows the snapshot it holds, keeps no entry of the branch the snapshot
// replaced, and loses nothing acknowledged after the install. Method: a real process (fixtures/install-process.ts)
// writes a divergent log over several segments, installs a snapshot, and SIGKILLs itself at step k (every step its
// install hook reports, found by a run without a kill); the test then opens the directory here, twice.
import { type ChildProcess, fork } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableLog, type LogIndex } from '@distkv/replication';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'install-process.ts');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Line = { step?: string; acked?: number; term?: number; snapshotIndex?: number };

/** Runs the fixture on a new directory, or with `reopenCopyOf` only opens a copy of that one. */
async function run(
  killAt: string,
  reopenCopyOf?: string,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; lines: Line[]; dataDir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'distkv-install-'));
  dirs.push(root);
  const dataDir = join(root, 'data');
  const progressFile = join(root, 'progress');
  if (reopenCopyOf !== undefined) await cp(reopenCopyOf, dataDir, { recursive: true });
  const reopen = reopenCopyOf !== undefined;
  const child: ChildProcess = fork(fixture, [JSON.stringify({ dataDir, progressFile, killAt, reopen })], {
    execArgv: ['--loader', 'ts-node/esm', '--no-warnings'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (c, s) => resolve({ code: c, signal: s })),
  );
  const text = await readFile(progressFile, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
  return { code, signal, lines, dataDir };
}

/** Opens the directory and checks it against what the killed process saw. */
async function check(dataDir: string, lines: Line[]): Promise<void> {
  const snapshotIndex = lines.find((l) => l.snapshotIndex !== undefined)?.snapshotIndex as number;
  const { log, snapshot } = await DurableLog.open(dataDir, { walLimits: { segmentBytes: 4096 } });
  try {
    const s = log.storage;
    const installed = snapshot.meta.index === snapshotIndex;
    // The snapshot is written first, atomically: either the old state (no snapshot) or the new one.
    expect([0, snapshotIndex]).toContain(snapshot.meta.index);
    if (installed) {
      expect(snapshot.meta.term).toBe(2);
      expect(s.firstIndex()).toBe(snapshotIndex + 1);
      // Log matching: nothing from the replaced branch follows the snapshot.
      for (let i = snapshotIndex + 1; i <= s.lastIndex(); i++) expect(s.term(i as LogIndex), `term at ${i}`).toBe(2);
    }
    // Nothing acknowledged is lost: every entry of term 2 acked is there; term 1's are there unless the snapshot replaced them.
    for (const l of lines) {
      if (l.acked === undefined) continue;
      if (l.term === 1 && installed) continue;
      expect(s.term(l.acked as LogIndex), `acked ${l.term}/${l.acked}`).toBe(l.term);
    }
  } finally {
    await log.close();
  }
}

describe('snapshot install: a SIGKILL at every step leaves a directory that opens and agrees with its snapshot', () => {
  it('runs the whole install without a kill, and reports its steps', async () => {
    const { code, lines, dataDir } = await run('none');
    expect(code).toBe(0);
    expect(lines.map((l) => l.step).filter((s) => s !== undefined)).toContain('snapshot-written');
    await check(dataDir, lines);
  });

  it('recovers after a kill at each step, and again after a second open', { timeout: 240_000 }, async () => {
    const dry = await run('none');
    const steps = dry.lines.map((l) => l.step).filter((s): s is string => s !== undefined && s !== 'closed');
    // Not vacuous: the install has a step per file of the replaced log and the rest.
    expect(steps.length).toBeGreaterThan(5);
    for (const step of steps) {
      const { signal, lines, dataDir } = await run(step);
      expect(signal, `killed at ${step}`).toBe('SIGKILL');
      expect(lines[lines.length - 1]?.step).toBe(step);
      await check(dataDir, lines).catch((err: unknown) => {
        throw new Error(`after a kill at ${step}: ${(err as Error).message}`);
      });
      await check(dataDir, lines);
    }
  });

  it('recovers after a kill at each step of replacing, at open, a log the snapshot disagrees with', {
    timeout: 240_000,
  }, async () => {
    // Killed right after the snapshot was written: the old branch's log is still whole, and the next open replaces it.
    const killed = await run('snapshot-written');
    expect(killed.signal).toBe('SIGKILL');
    const dry = await run('none', killed.dataDir);
    expect(dry.code).toBe(0);
    const steps = dry.lines.map((l) => l.step).filter((s): s is string => s !== undefined && s !== 'opened');
    expect(steps).toContain('log-detached');
    expect(steps).toContain('unlinked-1');
    for (const step of steps) {
      const { signal, lines, dataDir } = await run(step, killed.dataDir);
      expect(signal, `killed at ${step}`).toBe('SIGKILL');
      await check(dataDir, [...killed.lines, ...lines]).catch((err: unknown) => {
        throw new Error(`after a kill at ${step} of the open: ${(err as Error).message}`);
      });
    }
  });
});
