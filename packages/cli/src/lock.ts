/**
 * One process per data directory. Two `distkv server`s on one directory
 * would each replay the log and then append to it: the second one's
 * recovery may cut what it takes for a torn tail while the first is still
 * writing it, and acknowledged writes are gone. etcd takes an flock on its
 * WAL for the same reason; Node has no flock, so distkv uses a lock file
 * created with O_EXCL that holds the owner's pid. A lock left by a process
 * that died (SIGKILL, a power cut) names a pid that no longer runs, and is
 * taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DistkvError } from '@distkv/core';
import './errors.js';

export const LOCK_FILE = 'distkv.lock';

/** DATA_DIR_LOCKED: another live process holds the directory; the message says which and what to do. */
export class DataDirLockedError extends DistkvError<'DATA_DIR_LOCKED'> {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      'DATA_DIR_LOCKED',
      `${dir} is in use by distkv pid ${pid} (${join(dir, LOCK_FILE)}): stop that process first, or, if no distkv uses this directory, remove the file`,
    );
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it runs.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// #region data-dir-lock
export class DataDirLock {
  #released = false;
  private constructor(readonly path: string) {}

  /** Creates `dir` if needed and takes its lock, or throws DataDirLockedError. */
  static acquire(dir: string): DataDirLock {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    // Two tries: the second after removing a lock whose owner is gone.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, `${process.pid}\n`);
        } catch (err) {
          // A full disk: leave no empty lock behind, and say which file.
          closeSync(fd);
          unlinkSync(path);
          throw new Error(`cannot write ${path}: ${(err as Error).message}`);
        }
        closeSync(fd);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let owner: number;
      try {
        owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw err;
      }
      // A file cut short by a crash right after its creation has no pid: nobody holds it.
      if (Number.isSafeInteger(owner) && owner > 0 && running(owner)) throw new DataDirLockedError(dir, owner);
      unlinkSync(path);
    }
    throw new Error(`could not take ${path}: another process takes and drops it at the same time`);
  }

  /** Removes the lock file; called once the stores are closed, and at exit. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
  }
}
// #endregion data-dir-lock
