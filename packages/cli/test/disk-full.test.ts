// Goal: a node whose disk fills up fails stop (exit code 3, a clear log line) instead of lingering as a zombie that
// answers clients but never replicates again (chaos finding F1); the others go on, and once the disk has room the
// restarted node catches up. Method: 3 real processes, n3's data directory on its own 16 MiB tmpfs (needs root and
// mount; skipped with the reason otherwise), filled to ENOSPC with a filler file, then large writes through the leader.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ProcessCluster, processCluster, waitLeader, write } from './process-cluster.js';

function canMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'no mount command';
  }
}

/** Fills the file system under `dir` until ENOSPC; at most `bytesMax`. */
function fill(dir: string, bytesMax: number): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(256 * 1024, 7);
  try {
    for (let written = 0; written < bytesMax; written += chunk.length) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

let cluster: ProcessCluster | undefined;
let mounted: string | undefined;
afterEach(async () => {
  if (mounted !== undefined) execFileSync('umount', ['-l', mounted]);
  mounted = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

const skip = canMount();

describe.skipIf(skip !== undefined)(`a full disk (real processes)${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  it('the node with the full disk exits with code 3, the others go on, and it catches up after a restart', async () => {
    cluster = await processCluster(3);
    const c = cluster;
    const dir = c.dataDir('n3');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir]);
    mounted = dir;
    await c.startAll();
    await waitLeader(c);
    const exited = c.exited('n3');

    const filler = fill(dir, 32 * 1024 * 1024);
    const value = 'v'.repeat(64 * 1024);
    let n3Exit: { code: number | null } | undefined;
    void exited.then((e) => {
      n3Exit = e;
    });
    // Large writes until n3 cannot persist them (bounded: 16 MiB of room at most is 256 such writes).
    for (let i = 0; i < 400 && n3Exit === undefined; i++) {
      const via = c.ids.find((id) => id !== 'n3' && c.isUp(id)) as string;
      await c.call(via, 'SET', `big${i % 8}`, value).catch(() => undefined);
    }
    const { code } = await exited;
    expect(code).toBe(3);
    expect(c.logs('n3')).toContain('storage failed');

    // The two others still elect and serve.
    const leader = await waitLeader(c, ['n1', 'n2']);
    await write(c, leader, 'after-disk-full', 'yes');

    // Room again: the restarted node catches up with everything committed.
    rmSync(filler);
    await c.start('n3');
    await expect.poll(() => c.converged(), { message: 'n3 caught up' }).toBe(true);
    expect(String(await c.call('n3', 'GET', 'after-disk-full'))).toBe('yes');
  });
});
