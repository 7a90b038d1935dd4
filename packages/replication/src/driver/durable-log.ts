/**
 * The driver's disk: carries out step 1 of a Ready (persist, then sync).
 *
 *   <dataDir>/log/        the Raft log, a @distkv/wal Wal (one entry per Raft entry, its term kept)
 *   <dataDir>/hardstate   term and vote (commit is volatile), replaced atomically
 *   <dataDir>/snapshot    the latest snapshot: its (index, term), the members in force there, and the store's snapshot bytes
 *   <dataDir>/log.replaced a log a snapshot replaced, while it is deleted (only after a crash part-way)
 *
 * An in-memory MemoryStorage mirrors the log for the state machine to read;
 * it is updated only after the bytes are durable. Entries live in memory
 * too, bounded by compaction.
 */
import { mkdir, open, readdir, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, crc32c, type DistkvError } from '@distkv/core';
import { type FsyncPolicy, LOCK_FILE, Wal, type WalLimits } from '@distkv/wal';
import { replicationError } from '../errors.js';
import { type ConfState, decodeConfState, encodeConfState } from '../membership.js';
import type { Ready } from '../raft.js';
import { catchUpStart, MemoryStorage } from '../storage.js';
import type { Entry, HardState, LogIndex, NodeId, Snapshot, Term } from '../types.js';
import type { CatchUpTail } from './compaction.js';

const HARDSTATE_MAGIC = 'DKVRAFTH';
const SNAPSHOT_MAGIC = 'DKVRAFTS';
/** A snapshot that carries the members in force at its index (membership, chapter 5). */
const SNAPSHOT_CONF_MAGIC = 'DKVRAFTC';

/** Writes `bytes` to `path` so that a crash leaves either the old file or the new one, whole. */
async function writeAtomically(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const file = await open(tmp, 'w');
  try {
    await file.write(bytes, 0, bytes.byteLength, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, join(dir, name));
  await syncDir(dir);
}

function frame(magic: string, body: Buffer): Buffer {
  const out = Buffer.alloc(8 + 4 + body.length + 4);
  out.write(magic, 0, 'latin1');
  out.writeUInt32LE(body.length, 8);
  body.copy(out, 12);
  out.writeUInt32LE(crc32c(out, 0, 0, 12 + body.length), 12 + body.length);
  return out;
}

function unframe(magic: string, buf: Buffer, what: string): Buffer {
  const bad = (why: string): DistkvError => replicationError('STATE_CORRUPT', `${what}: ${why}`);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== magic) throw bad('bad magic or too short');
  const length = buf.readUInt32LE(8);
  if (length !== buf.length - 16) throw bad('length does not match the file');
  if (crc32c(buf, 0, 0, 12 + length) !== buf.readUInt32LE(12 + length)) throw bad('checksum mismatch');
  return buf.subarray(12, 12 + length);
}

// #region snapshot-file
/**
 * The snapshot file: its index and term, the members in force there when
 * it has them (a member's log may be compacted past every membership
 * change, so the snapshot is where the configuration survives), and the
 * store's bytes. A file without members is the older format, read as
 * before: its members are those the node is configured with.
 */
function snapshotFile(snapshot: Snapshot): Buffer {
  const { index, term, conf } = snapshot.meta;
  const members = conf === undefined ? undefined : encodeConfState(conf);
  const head = Buffer.alloc(16 + (members === undefined ? 0 : 4 + members.byteLength));
  head.writeBigUInt64LE(BigInt(index), 0);
  head.writeBigUInt64LE(BigInt(term), 8);
  if (members !== undefined) {
    head.writeUInt32LE(members.byteLength, 16);
    members.copy(head, 20);
  }
  const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
  return frame(members === undefined ? SNAPSHOT_MAGIC : SNAPSHOT_CONF_MAGIC, Buffer.concat([head, data]));
}

export function readSnapshotFile(file: Buffer): Snapshot {
  const withConf = file.toString('latin1', 0, 8) === SNAPSHOT_CONF_MAGIC;
  const body = unframe(withConf ? SNAPSHOT_CONF_MAGIC : SNAPSHOT_MAGIC, file, 'snapshot');
  const index = Number(body.readBigUInt64LE(0)) as LogIndex;
  const term = Number(body.readBigUInt64LE(8)) as Term;
  if (!withConf) return { meta: { index, term }, data: Buffer.from(body.subarray(16)) };
  const bad = (why: string): DistkvError => replicationError('STATE_CORRUPT', `snapshot: ${why}`);
  if (body.byteLength < 20) throw bad('too short for its members');
  const length = body.readUInt32LE(16);
  if (20 + length > body.byteLength) throw bad('its members run past the file');
  const members = body.subarray(20, 20 + length);
  const decoded = decodeConfState(members, 0);
  if (decoded === undefined || decoded.end !== length) throw bad('its members do not decode');
  return { meta: { index, term, conf: decoded.conf }, data: Buffer.from(body.subarray(20 + length)) };
}
// #endregion snapshot-file

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

const LOG = 'log';
const REPLACED_LOG = 'log.replaced';

// #region replace-log
/**
 * Removes the log so that a crash at any point leaves it whole or gone,
 * never in part: the directory is renamed aside in one step (and the rename
 * made durable) before any file of it is deleted. Deleting in place, as
 * `rm -rf` does, could leave any subset of segments, for example only the
 * last one, which would then look like a log that follows the snapshot
 * while holding a branch that disagrees with it (log matching broken), or
 * a gap that refuses to start. Called only once the snapshot that covers
 * the log is durable, so whatever sits aside at open may be deleted.
 */
async function removeLog(dir: string, hook: (step: string) => void | Promise<void>): Promise<void> {
  const aside = join(dir, REPLACED_LOG);
  await deleteAside(aside, async () => {}); // a crash of an earlier removal
  try {
    await rename(join(dir, LOG), aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return;
  }
  await syncDir(dir);
  await hook('log-detached');
  await deleteAside(aside, hook);
  await hook('log-deleted');
}

async function deleteAside(aside: string, hook: (step: string) => void | Promise<void>): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  let unlinked = 0;
  for (const name of names.sort()) {
    await unlink(join(aside, name));
    await hook(`unlinked-${++unlinked}`);
  }
  await rmdir(aside);
  return true;
}
// #endregion replace-log

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * When an appended entry counts as persisted. `always` (the default, and the
 * only choice with more than one voter): after fdatasync. A single voter may
 * trade durability for speed as a single Redis does (`interval`, `none`):
 * a power loss can then take the last acknowledged writes, never a process
 * crash. Term and vote are always synced.
 */
export interface DurableLogOptions {
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** The log's WAL limits (segment size); the defaults suit a node, tests shrink segments. */
  walLimits?: Partial<WalLimits>;
  /**
   * A test seam: called at each step of installing a snapshot (and of
   * replacing, at open, a log the snapshot covers), so a crash test can
   * SIGKILL the process there. `unlinked-<k>`: the k-th file of the replaced
   * log is gone.
   */
  installHook?: (step: string) => void | Promise<void>;
  /** Recovery messages (a replaced log removed at open). */
  log?: (line: string) => void;
  /** The catch-up tail compaction keeps (see compact): read back at open, so a restart keeps it too. Default none. */
  catchUpTail?: CatchUpTail;
}

function walOpenOptions(o: DurableLogOptions): { fsync?: FsyncPolicy; fsyncIntervalMs?: number; limits?: Partial<WalLimits> } {
  return {
    ...(o.fsync === undefined ? {} : { fsync: o.fsync }),
    ...(o.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: o.fsyncIntervalMs }),
    ...(o.walLimits === undefined ? {} : { limits: o.walLimits }),
  };
}

/** A single server's WAL (phase 2 and 3) keeps its segments at the top of its directory; a replica's are in log/. */
async function refuseSingleServerDir(dir: string): Promise<void> {
  const names = await readdir(dir);
  const single = names.find((n) => /^\d{20}\.wal$/.test(n) || /^snapshot-\d{20}\.snap$/.test(n));
  if (single !== undefined)
    throw replicationError(
      'CONFIG_INVALID',
      `${dir} holds a single server's data (${single}), not a replica's; start \`distkv server\` without --peers on it, or give this node another data dir`,
    );
}

/**
 * What the log read back at open keeps: the entries after the snapshot,
 * and before them as much of a catch-up tail as `tail` allows; the entry
 * just before the kept ones starts the log (only its term is kept).
 */
function tailOf(snapshot: Snapshot, entries: Entry[], tail: CatchUpTail | undefined): [{ index: LogIndex; term: Term }, Entry[]] {
  const at = snapshot.meta.index;
  let firstAfter = entries.findIndex((e) => e.index > at);
  if (firstAfter === -1) firstAfter = entries.length;
  // A tail reaches the snapshot's index; there is none when the log begins after it (a snapshot from the
  // leader replaced it, or compaction kept no tail).
  const atSnapshot = firstAfter - 1;
  if (tail === undefined || atSnapshot < 0 || (entries[atSnapshot] as Entry).index !== at) {
    return [{ index: at, term: snapshot.meta.term }, entries.slice(firstAfter)];
  }
  let keep = atSnapshot; // entries[keep] is the log's start; entries after it are kept
  let bytes = 0;
  while (keep > 0 && at - (entries[keep - 1] as Entry).index <= tail.entries) {
    const b = (entries[keep] as Entry).payload.byteLength;
    if (bytes + b > tail.bytes) break;
    bytes += b;
    keep--;
  }
  const start = entries[keep] as Entry;
  return [{ index: start.index, term: start.term }, entries.slice(keep + 1)];
}

export class DurableLog {
  readonly dir: string;
  readonly storage = new MemoryStorage();
  #wal: Wal;
  readonly #walOptions: DurableLogOptions;
  #savedTerm: Term = 0 as Term;
  #savedVote: NodeId | null = null;

  private constructor(dir: string, wal: Wal, walOptions: DurableLogOptions) {
    this.dir = dir;
    this.#wal = wal;
    this.#walOptions = walOptions;
  }

  /** Opens (or creates) the data directory; returns the log and the snapshot the application must restore. */
  static async open(dir: string, options: DurableLogOptions = {}): Promise<{ log: DurableLog; snapshot: Snapshot }> {
    await mkdir(dir, { recursive: true });
    await refuseSingleServerDir(dir);
    const walOptions: DurableLogOptions = {
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
      ...(options.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: options.fsyncIntervalMs }),
      ...(options.walLimits === undefined ? {} : { walLimits: options.walLimits }),
      ...(options.installHook === undefined ? {} : { installHook: options.installHook }),
    };
    let hardState: HardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };
    const hs = await readIfExists(join(dir, 'hardstate'));
    if (hs !== undefined) {
      const body = unframe(HARDSTATE_MAGIC, hs, 'hardstate');
      const voteLength = body.readUInt16LE(8);
      hardState = {
        term: Number(body.readBigUInt64LE(0)) as Term,
        vote: voteLength === 0 ? null : (body.toString('utf8', 10, 10 + voteLength) as NodeId),
        commit: 0 as LogIndex,
      };
    }
    let snapshot: Snapshot = { meta: { index: 0 as LogIndex, term: 0 as Term }, data: new Uint8Array(0) };
    const sn = await readIfExists(join(dir, 'snapshot'));
    if (sn !== undefined) {
      snapshot = readSnapshotFile(sn);
    }
    const entries: Entry[] = [];
    const logDir = join(dir, LOG);
    // The snapshot that replaced it is durable (it is written first): finish deleting it.
    if (await deleteAside(join(dir, REPLACED_LOG), async () => {}))
      options.log?.(`removed ${REPLACED_LOG}: a log a snapshot replaced, left by a crash while it was deleted`);
    let wal = await Wal.open({
      ...walOpenOptions(walOptions),
      dir: logDir,
      firstIndex: snapshot.meta.index + 1,
      replay: {
        // From the oldest entry a catch-up tail may hold; the first read only marks where the log starts.
        fromIndex: Math.max(1, snapshot.meta.index - (options.catchUpTail?.entries ?? 0)),
        onEntry: (e) => entries.push({ index: e.index as LogIndex, term: e.term as Term, payload: e.payload }),
      },
    });
    await syncDir(dir); // log/ may have just been created
    const termAtSnapshot = snapshot.meta.index === 0 ? undefined : wal.term(snapshot.meta.index);
    if (
      wal.lastIndex < snapshot.meta.index ||
      wal.firstIndex > snapshot.meta.index + 1 ||
      (termAtSnapshot !== undefined && termAtSnapshot !== snapshot.meta.term)
    ) {
      // A snapshot from the leader was installed and the crash came before the
      // old log was replaced: the old log is covered by it or disagrees with it.
      options.log?.(
        `the log (${wal.firstIndex}..${wal.lastIndex}) does not follow the snapshot at ${snapshot.meta.index} (term ${snapshot.meta.term}): replacing it`,
      );
      await wal.close();
      await removeLog(dir, walOptions.installHook ?? (async () => {}));
      wal = await Wal.open({ ...walOpenOptions(walOptions), dir: logDir, firstIndex: snapshot.meta.index + 1 });
      await syncDir(dir);
      entries.length = 0;
    }
    const log = new DurableLog(dir, wal, walOptions);
    log.storage.restore(snapshot, ...tailOf(snapshot, entries, options.catchUpTail));
    log.storage.setHardState(hardState);
    log.#savedTerm = hardState.term;
    log.#savedVote = hardState.vote;
    return { log, snapshot };
  }

  // #region persist
  /** Step 1 of a Ready: snapshot, entries, hard state — durable before this resolves. */
  async persist(rd: Ready): Promise<void> {
    if (rd.snapshot !== undefined) await this.#installSnapshot(rd.snapshot);
    const first = rd.entries[0];
    if (first !== undefined) {
      if (first.index <= this.#wal.lastIndex) await this.#wal.truncateAfter(first.index - 1);
      // One promise per entry; the WAL writes them as one batch and one fdatasync.
      await Promise.all(rd.entries.map((e) => this.#wal.append({ index: e.index, term: e.term, payload: e.payload })));
      await this.#wal.flush();
      this.storage.append(rd.entries);
    }
    const hs = rd.hardState;
    if (hs !== undefined) {
      // The commit index is volatile: only a new term or vote costs a sync.
      if (hs.term !== this.#savedTerm || hs.vote !== this.#savedVote) await this.#saveHardState(hs);
      this.storage.setHardState(hs);
    }
  }
  // #endregion persist

  // #region compact
  /**
   * After the application snapshotted itself at `index` (already applied):
   * keep the snapshot, and drop the log before it but for a catch-up tail
   * (at most `tail.entries` entries and `tail.bytes` payload bytes up to
   * `index`), which stays in memory and in the WAL.
   */
  async compact(
    index: LogIndex,
    data: Uint8Array,
    tail: CatchUpTail = { entries: 0, bytes: 0 },
    conf?: ConfState,
  ): Promise<void> {
    const t = this.storage.term(index);
    assert(t !== undefined, 'the compaction point is in the log');
    if (index <= this.storage.snapshot().meta.index) return;
    const keepFrom = catchUpStart(this.storage, index, tail.entries, tail.bytes);
    await this.#writeSnapshot({ meta: { index, term: t, ...(conf === undefined ? {} : { conf }) }, data });
    this.storage.compact(index, data, keepFrom, conf);
    await this.#wal.compact(keepFrom);
  }
  // #endregion compact

  async close(): Promise<void> {
    await this.#wal.close();
  }

  // #region seed
  /**
   * Makes `dir`, which must not exist or be empty (but for a data-dir lock), the data directory of a
   * node of a new cluster restored from a backup: the snapshot (with the
   * new cluster's members in its configuration), an empty log after it,
   * and a hard state of its term with no vote. Every node of the new
   * cluster is seeded from the same backup; they elect a leader in the
   * next term. A directory that holds anything is refused: a voter's log
   * and vote must never go back in time, so a live cluster's member is
   * replaced (removed, and a fresh node added), never restored.
   */
  static async seed(dir: string, snapshot: Snapshot): Promise<void> {
    const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    // The data-dir lock of whoever restores (the CLI takes it, as a server does) is no content.
    if (existing.some((name) => name !== LOCK_FILE))
      throw replicationError(
        'DATA_DIR_NOT_EMPTY',
        `${dir} is not empty: a backup seeds a new node only. To bring back a member of a running cluster, remove it (distkv member remove) and add a fresh node with --join; to restore a whole cluster, restore every node into a new, empty directory`,
      );
    if (snapshot.meta.conf === undefined || snapshot.meta.index === 0)
      throw replicationError('STATE_CORRUPT', 'a backup must hold a snapshot of at least one entry, with its members');
    const { log } = await DurableLog.open(dir);
    try {
      await log.#installSnapshot(snapshot);
      await log.#saveHardState({ term: snapshot.meta.term, vote: null, commit: snapshot.meta.index });
    } finally {
      await log.close();
    }
  }
  // #endregion seed

  async #installSnapshot(snapshot: Snapshot): Promise<void> {
    const hook = this.#walOptions.installHook ?? (() => {});
    await this.#writeSnapshot(snapshot);
    await hook('snapshot-written');
    // The whole log is replaced: start a new one right after the snapshot.
    await this.#wal.close();
    await removeLog(this.dir, hook);
    this.#wal = await Wal.open({
      ...walOpenOptions(this.#walOptions),
      dir: join(this.dir, LOG),
      firstIndex: snapshot.meta.index + 1,
    });
    await syncDir(this.dir); // the new log/ itself, so entries appended to it are not lost with its name
    await hook('log-created');
    this.storage.applySnapshot(snapshot);
  }

  async #writeSnapshot(snapshot: Snapshot): Promise<void> {
    await writeAtomically(this.dir, 'snapshot', snapshotFile(snapshot));
  }

  async #saveHardState(hs: HardState): Promise<void> {
    const vote = Buffer.from(hs.vote ?? '', 'utf8');
    const body = Buffer.alloc(10 + vote.length);
    body.writeBigUInt64LE(BigInt(hs.term), 0);
    body.writeUInt16LE(vote.length, 8);
    vote.copy(body, 10);
    await writeAtomically(this.dir, 'hardstate', frame(HARDSTATE_MAGIC, body));
    this.#savedTerm = hs.term;
    this.#savedVote = hs.vote;
  }
}
