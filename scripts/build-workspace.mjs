// `tsc -b` over the workspace (every package's dist/), one at a time: the
// doc tests and the pack test both need dist/ and may run at once, and two
// builds writing the same files would let a reader see half a file. The
// lock is a directory (mkdir is atomic) holding the builder's pid; a lock
// whose process is gone is taken over, and waiting is bounded.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const WAIT_MS_MAX = 300_000;
const POLL_MS = 200;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function lock(dir) {
  const deadline = Date.now() + WAIT_MS_MAX;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {}
    // No pid yet: the holder is between mkdir and writeFile; wait for it.
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(dir, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`waited ${WAIT_MS_MAX} ms for the build lock ${dir}`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

/** Runs `tsc -b` in root under the lock; rejects with tsc's output if the build fails. */
export async function buildWorkspace(root) {
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = join(cache, 'distkv-build.lock');
  await lock(dir);
  try {
    await new Promise((done, fail) => {
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      execFile(process.execPath, [tsc, '-b'], { cwd: root, timeout: WAIT_MS_MAX, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) =>
        err === null ? done() : fail(new Error(`tsc -b failed:\n${stdout}`)),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
