/**
 * One process per data directory. Two processes on one directory would each
 * replay the log and then append to it: the second one's recovery may cut
 * what it takes for a torn tail while the first is still writing it, and
 * acknowledged writes are gone. etcd takes an flock on its WAL for the same
 * reason; Node has no flock, so distkv uses a lock file created with O_EXCL
 * that names its owner. It lives here, in the layer that opens the
 * directory, so a library user running a node without the CLI takes the
 * same lock; `distkv server` and `distkv wal repair` take it from here.
 *
 * The owner is not "any process with that pid": a SIGKILLed holder that is
 * still a zombie, a pid the kernel gave to another program since, or this
 * very process's pid (distkv as pid 1 in a container, restarted after a
 * kill) would otherwise keep a stale lock forever. So the file records the
 * pid, the process's start time and boot id, and its command line, and on
 * Linux the check reads /proc/<pid>/stat (state 'Z' or 'X' is dead; a
 * different start time is another process), and /proc/<pid>/cmdline when no
 * start time of this boot was recorded (a lock of an older distkv). Our own
 * pid counts as the holder only if this process took the lock and has not
 * released it. Elsewhere the check is `kill(pid, 0)`.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
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

/** What identifies a process beyond its pid, as the lock file records it; Linux only. */
interface Identity {
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot when it started. */
  start: string;
  /** /proc/sys/kernel/random/boot_id: start times of another boot say nothing. */
  boot: string;
  /** /proc/<pid>/cmdline, arguments NUL-separated. */
  cmdline: string;
}

interface Owner extends Partial<Identity> {
  pid: number;
}

/** Lock paths this process holds: its own pid in a lock file means "held" only for these. */
const heldHere = new Set<string>();

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
}

/** State and start time from /proc/<pid>/stat; undefined when no such process. */
function procStat(pid: number): { state: string; start: string } | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name in parentheses may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  return { state: fields[0] ?? '', start: fields[19] ?? '' };
}

let selfIdentity: Identity | undefined;
function identityOfSelf(): Identity | undefined {
  if (process.platform !== 'linux') return undefined;
  if (selfIdentity === undefined) {
    const stat = procStat(process.pid);
    const boot = readProc('/proc/sys/kernel/random/boot_id');
    const cmdline = readProc(`/proc/${process.pid}/cmdline`);
    if (stat === undefined || boot === undefined || cmdline === undefined) return undefined;
    selfIdentity = { start: stat.start, boot: boot.trim(), cmdline };
  }
  return selfIdentity;
}

function encodeOwner(): string {
  const me = identityOfSelf();
  if (me === undefined) return `${process.pid}\n`;
  return `${process.pid}\nstart ${me.start}\nboot ${me.boot}\ncmdline ${JSON.stringify(me.cmdline)}\n`;
}

/** The first line is the pid (as before, so older locks parse); undefined for a file a crash cut short. */
function decodeOwner(text: string): Owner | undefined {
  const [first, ...rest] = text.split('\n');
  const pid = Number.parseInt(first ?? '', 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const owner: Owner = { pid };
  for (const line of rest) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'start') owner.start = value;
    else if (key === 'boot') owner.boot = value;
    else if (key === 'cmdline') {
      try {
        const parsed: unknown = JSON.parse(value);
        if (typeof parsed === 'string') owner.cmdline = parsed;
      } catch {
        // a line cut short: the other fields still decide
      }
    }
  }
  return owner;
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it runs.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// #region lock-owner
/** Whether `owner` is a live process that really holds the lock at `path`. */
function holds(owner: Owner, path: string): boolean {
  // Our pid: an earlier incarnation's lock (pid 1 in a container) unless this process took it.
  if (owner.pid === process.pid) return heldHere.has(path);
  const me = identityOfSelf();
  if (me === undefined) return signalable(owner.pid);
  const stat = procStat(owner.pid);
  if (stat === undefined) return false; // gone
  if (stat.state === 'Z' || stat.state === 'X') return false; // dead, not yet reaped: it holds nothing
  // Recorded with its start time (in this boot): the same pid and start time are the same process,
  // whatever its command line says now (process.title rewrites it).
  if (owner.start !== undefined && owner.boot === me.boot) return owner.start === stat.start;
  // A lock of an older distkv (the pid alone), or of another boot: only the command line is left.
  // Held only by the very command recorded, or else by a process of the same program as ours (node).
  const cmdline = readProc(`/proc/${owner.pid}/cmdline`);
  if (cmdline === undefined) return false;
  if (owner.cmdline !== undefined) return cmdline === owner.cmdline;
  const program = (args: string): string => basename(args.split('\0')[0] ?? '');
  return program(cmdline) === program(me.cmdline);
}
// #endregion lock-owner

// #region data-dir-lock
export class DataDirLock {
  #released = false;
  private constructor(readonly path: string) {}

  /** Creates `dir` if needed and takes its lock, or throws DataDirLockedError. */
  static acquire(dir: string): DataDirLock {
    mkdirSync(dir, { recursive: true });
    const path = resolve(dir, LOCK_FILE);
    // Two tries: the second after removing a lock whose owner is gone.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, encodeOwner());
        } catch (err) {
          // A full disk: leave no empty lock behind, and say which file.
          closeSync(fd);
          unlinkSync(path);
          throw new Error(`cannot write ${path}: ${(err as Error).message}`);
        }
        closeSync(fd);
        heldHere.add(path);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw err;
      }
      // A file cut short by a crash right after its creation has no pid: nobody holds it.
      const owner = decodeOwner(text);
      if (owner !== undefined && holds(owner, path)) throw new DataDirLockedError(dir, owner.pid);
      unlinkSync(path);
    }
    throw new Error(`could not take ${path}: another process takes and drops it at the same time`);
  }

  /** Removes the lock file; called once the stores are closed, and at exit. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    heldHere.delete(this.path);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
  }
}
// #endregion data-dir-lock
