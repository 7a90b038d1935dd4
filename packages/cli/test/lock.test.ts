// Goal: one process per data directory. A second `distkv server` (or `wal repair`, or a `cluster up` node) on a directory a live node holds is refused with exit 2 and the holder's pid, before it reads anything; the lock of a SIGKILLed node is taken over and the data is all there.
// Method: DataDirLock in this process for the rules (a live holder, a dead pid, a file without a pid); real `distkv server` processes on port 0 and temp dirs for the end to end; only our own children are signalled.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLock, DataDirLockedError, LOCK_FILE } from '@distkv/cli';
import { Client } from '@distkv/net';
import { afterAll, describe, expect, it } from 'vitest';
import { freeBasePort, kill, packageDir, run, startServer } from './helpers.js';

const binPath = join(packageDir, 'bin', 'distkv.mjs');
const root = mkdtempSync(join(tmpdir(), 'distkv-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The pid of a process that ran and exited: nobody runs under it now (barring reuse within this test). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('DataDirLock', () => {
  it('refuses a directory a live process holds, naming the pid; release lets the next one in', () => {
    const dir = join(root, 'rules');
    const first = DataDirLock.acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(process.pid));
    let refused: unknown;
    try {
      DataDirLock.acquire(dir);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as DataDirLockedError).pid).toBe(process.pid);
    expect((refused as Error).message).toContain(`in use by distkv pid ${process.pid}`);
    first.release();
    first.release(); // idempotent
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    DataDirLock.acquire(dir).release();
  });

  it('takes over a lock whose owner is gone, or that holds no pid', () => {
    const dir = join(root, 'stale');
    DataDirLock.acquire(dir).release();
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()}\n`);
    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(process.pid));
    lock.release();
    writeFileSync(join(dir, LOCK_FILE), '');
    DataDirLock.acquire(dir).release();
  });
});

describe('distkv server and wal repair hold the data directory', () => {
  it('a second server and wal repair are refused while a node runs; after its SIGKILL the lock is taken over and the data is there', async () => {
    const dir = join(root, 'server');
    const first = await startServer(binPath, ['--data-dir', dir], root);
    try {
      const c = await Client.connect({ port: first.port, reconnect: { attemptsMax: 1 } });
      expect(await c.call('SET', 'kept', 'yes')).toBe('OK');
      await c.close();

      const second = await run(binPath, ['server', '--port', '0', '--data-dir', dir], { cwd: root });
      expect(second.code, second.stderr).toBe(2);
      expect(second.stderr).toContain(`is in use by distkv pid ${first.child.pid}`);
      const repair = await run(binPath, ['wal', 'repair', dir], { cwd: root });
      expect(repair.code, repair.stderr).toBe(2);
      expect(repair.stderr).toContain(`is in use by distkv pid ${first.child.pid}`);
    } finally {
      await kill(first.child, 'SIGKILL');
    }
    // The lock file outlives a SIGKILL; its pid no longer runs, so the next node takes it over.
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(first.child.pid));
    const again = await startServer(binPath, ['--data-dir', dir], root);
    try {
      const c = await Client.connect({ port: again.port, reconnect: { attemptsMax: 1 } });
      expect(String(await c.call('GET', 'kept'))).toBe('yes');
      await c.close();
    } finally {
      await kill(again.child, 'SIGTERM');
    }
    // A clean stop releases it.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 240_000); // four `distkv` starts, each a ts-node start: a bound for a loaded machine, not a pass criterion

  it('cluster up on a data dir whose node directory another server holds: the node says why, cluster up exits 1', async () => {
    const dataDir = join(root, 'cluster');
    const holder = await startServer(binPath, ['--data-dir', join(dataDir, 'n1')], root);
    try {
      const base = await freeBasePort(1);
      const up = await run(binPath, ['cluster', 'up', '--nodes', '1', '--base-port', String(base), '--data-dir', dataDir], {
        cwd: root,
      });
      expect(up.code, up.stdout + up.stderr).toBe(1);
      expect(up.stdout).toContain(`is in use by distkv pid ${holder.child.pid}`);
      expect(up.stdout).toContain('n1 failed to start; its lines above say why');
    } finally {
      await kill(holder.child, 'SIGTERM');
    }
  }, 240_000);
});
