// Goal: the data-directory lock's owner check cannot be fooled (issue 17, item 8): a zombie holder, a live process
// that is not the holder (a foreign or recycled pid) and this process's own pid from an earlier incarnation do not
// keep a stale lock, while a live distkv that really holds the directory is still refused with its pid.
// Method: real processes, all started here: a `distkv server` under `sh -c '… & exec sleep'` (its parent never
// reaps it), SIGKILLed into a zombie; a `sleep` whose pid is written into the lock, with and without a recorded
// start time and command line; bounded waits only (Linux /proc). The lock is @distkv/wal's, which the CLI uses.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLock, DataDirLockedError, LOCK_FILE } from '@distkv/wal';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { kill, packageDir } from './helpers.js';

const binPath = join(packageDir, 'bin', 'distkv.mjs');
const root = mkdtempSync(join(tmpdir(), 'distkv-lock-owner-'));
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const c of children) await kill(c, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const linux = process.platform === 'linux';

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

function acquireError(dir: string): unknown {
  try {
    DataDirLock.acquire(dir).release();
    return undefined;
  } catch (err) {
    return err;
  }
}

describe.runIf(linux)('DataDirLock owner check (Linux /proc)', () => {
  it('refuses while a live distkv holds the directory, and takes it over once that holder is a zombie', async () => {
    const dir = join(root, 'zombie');
    // sh starts the server in the background, prints its pid, and becomes `sleep`, which never reaps it.
    const parent = spawn(
      'sh',
      [
        '-c',
        '"$0" "$1" server --port 0 --data-dir "$2" >/dev/null 2>&1 & echo $!; exec sleep 600',
        process.execPath,
        binPath,
        dir,
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.add(parent);
    const holder = await new Promise<number>((resolve) =>
      parent.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    expect(holder).toBeGreaterThan(0);
    await vi.waitFor(() => expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(holder)), {
      timeout: 120_000,
      interval: 100,
    });
    const refused = acquireError(dir);
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as DataDirLockedError).pid).toBe(holder);
    expect((refused as Error).message).toContain(`in use by distkv pid ${holder}`);

    process.kill(holder, 'SIGKILL'); // a grandchild we started; its parent (sleep) leaves it a zombie
    await vi.waitFor(() => expect(procState(holder)).toBe('Z'), { timeout: 30_000, interval: 50 });
    expect(acquireError(dir)).toBeUndefined();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 180_000);

  it('takes over a lock naming a live process that is not a distkv holding it (a foreign or recycled pid)', async () => {
    const dir = join(root, 'foreign');
    DataDirLock.acquire(dir).release();
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.add(sleeper);
    const pid = sleeper.pid as number;
    await vi.waitFor(() => expect(procState(pid)).toBe('S'), { timeout: 30_000, interval: 20 });
    // A lock of an older distkv (the pid alone): `sleep` is not the program that wrote it.
    writeFileSync(join(dir, LOCK_FILE), `${pid}\n`);
    expect(acquireError(dir)).toBeUndefined();
    // A lock that recorded its holder: the pid now runs with another start time and command line (recycled).
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const cmdline = JSON.stringify(readFileSync(`/proc/${process.pid}/cmdline`, 'utf8'));
    writeFileSync(join(dir, LOCK_FILE), `${pid}\nstart 1\nboot ${boot}\ncmdline ${cmdline}\n`);
    expect(acquireError(dir)).toBeUndefined();
    // Its real start time, but recorded in another boot: only the command line is left, and it is not sleep's.
    const start = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    writeFileSync(join(dir, LOCK_FILE), `${pid}\nstart ${start}\nboot another-boot\ncmdline ${cmdline}\n`);
    expect(acquireError(dir)).toBeUndefined();
    // Not vacuous: the same record in this boot names sleep itself, so it is refused.
    writeFileSync(join(dir, LOCK_FILE), `${pid}\nstart ${start}\nboot ${boot}\ncmdline ${cmdline}\n`);
    expect(acquireError(dir)).toBeInstanceOf(DataDirLockedError);
    await kill(sleeper, 'SIGKILL');
  });

  it("takes over a lock naming this process's own pid that this process does not hold (pid 1 after a container restart)", () => {
    const dir = join(root, 'own');
    DataDirLock.acquire(dir).release();
    writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`);
    expect(acquireError(dir)).toBeUndefined();
    // But a lock this process holds is still refused, naming this pid.
    const held = DataDirLock.acquire(dir);
    try {
      const refused = acquireError(dir);
      expect(refused).toBeInstanceOf(DataDirLockedError);
      expect((refused as DataDirLockedError).pid).toBe(process.pid);
    } finally {
      held.release();
    }
  });
});
