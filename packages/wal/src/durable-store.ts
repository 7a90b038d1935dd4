/**
 * DurableStore: phase 1's `Store` on top of the WAL, the single server's
 * durable backend (`distkv server` without peers).
 *
 * Write path: encode the command, append it to the log (wal.ts), apply it
 * to the store once the append is durable, then acknowledge. Reads go to
 * the store, which therefore never holds a write a crash could lose.
 * Recovery: load the newest valid snapshot, then replay the log after it
 * (the log's own recovery, recovery.ts, has already cut a torn tail).
 * Snapshots are written atomically beside the segments, and the log is
 * compacted behind them. In a cluster the Raft driver takes this role: it
 * keeps the Raft log in a Wal and applies entries to a Store once committed.
 */
import { join } from 'node:path';
import {
  assert,
  type Command,
  type CommandResult,
  DistkvError,
  decodeCommand,
  encodeCommand,
  type LogLine,
  Store,
  type StoreLimits,
} from '@distkv/core';
import { walError } from './errors.js';
import { nodeFileSystem, type WalFileSystem, writeFully } from './fs.js';
import type { WalLimits } from './limits.js';
import { readU64 } from './record.js';
import { type AppendAck, type FsyncPolicy, Wal } from './wal.js';

export interface DurableStoreOptions {
  /** Data directory (created if missing). */
  dir: string;
  /** Default 'always': a command is acknowledged only after fdatasync. */
  fsync?: FsyncPolicy;
  /** For 'interval', default 1000. */
  fsyncIntervalMs?: number;
  /** Core store limits. */
  limits?: Partial<StoreLimits>;
  /** Take a snapshot automatically after this many entries; 0 disables. Default 100_000. */
  snapshotEveryEntries?: number;
  /** Segment roll size (limits.segmentBytes of the log). */
  segmentBytes?: number;
  /** Recovery messages etc. */
  log?: LogLine;
  /** Further log limits (batch sizes, queue bounds). */
  walLimits?: Partial<WalLimits>;
  /** The file system; tests inject failures through it. */
  fs?: WalFileSystem;
}

const SNAPSHOT_NAME = /^snapshot-(\d{20})\.snap$/;
const SNAPSHOT_META_VERSION = 1;
/** Bytes of snapshot data gathered before one write() call. */
const SNAPSHOT_WRITE_BYTES = 1024 * 1024;
const SNAPSHOT_READ_BYTES = 1024 * 1024;
const SNAPSHOT_EVERY_ENTRIES_MAX = 1_000_000_000;

function snapshotName(index: number): string {
  return `snapshot-${String(index).padStart(20, '0')}.snap`;
}

/** Meta block of a snapshot: version u8 | covered index u64 | its term u64. */
function encodeMeta(index: number, term: number): Buffer {
  const out = Buffer.alloc(17);
  out[0] = SNAPSHOT_META_VERSION;
  out.writeUInt32LE(index % 0x1_0000_0000, 1);
  out.writeUInt32LE(Math.floor(index / 0x1_0000_0000), 5);
  out.writeUInt32LE(term % 0x1_0000_0000, 9);
  out.writeUInt32LE(Math.floor(term / 0x1_0000_0000), 13);
  return out;
}

function decodeMeta(meta: Buffer | null): { index: number; term: number } | undefined {
  if (meta === null || meta.length !== 17 || meta[0] !== SNAPSHOT_META_VERSION) return undefined;
  return { index: readU64(meta, 1), term: readU64(meta, 9) };
}

/**
 * The phase-1 `Store` made durable: every command is logged before it is
 * applied, and acknowledged only once its log entry is durable under the
 * fsync policy. Reads go straight to `store`, which only ever holds
 * commands that are already in the log.
 */
export class DurableStore {
  readonly store: Store;
  readonly wal: Wal;
  readonly dir: string;
  readonly snapshotEveryEntries: number;
  readonly #fs: WalFileSystem;
  readonly #log: LogLine;
  #appliedIndex: number;
  #snapshotIndex: number;
  #snapshotting: Promise<{ index: number }> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: DurableStoreOptions, store: Store, wal: Wal, fs: WalFileSystem, snapshotIndex: number) {
    this.dir = options.dir;
    this.store = store;
    this.wal = wal;
    this.#fs = fs;
    this.#log = options.log ?? (() => undefined);
    this.snapshotEveryEntries = options.snapshotEveryEntries ?? 100_000;
    this.#appliedIndex = wal.lastIndex;
    this.#snapshotIndex = snapshotIndex;
  }

  // #region recovery
  /** Opens (or creates) a store: newest valid snapshot, then replay of the log after it. */
  static async open(options: DurableStoreOptions): Promise<DurableStore> {
    const fs = options.fs ?? nodeFileSystem;
    const log = options.log ?? (() => undefined);
    const every = options.snapshotEveryEntries ?? 100_000;
    if (!Number.isSafeInteger(every) || every < 0 || every > SNAPSHOT_EVERY_ENTRIES_MAX) {
      throw walError('WAL_LIMIT_INVALID', `snapshotEveryEntries must be an integer from 0 to ${SNAPSHOT_EVERY_ENTRIES_MAX}`);
    }
    await fs.mkdir(options.dir);
    const store = new Store(options.limits === undefined ? {} : { limits: options.limits });
    const snapshot = await loadNewestSnapshot(fs, options.dir, store, log);
    const walLimits: Partial<WalLimits> = { ...options.walLimits };
    if (options.segmentBytes !== undefined) walLimits.segmentBytes = options.segmentBytes;
    let replayed = 0;
    const wal = await Wal.open({
      dir: options.dir,
      fs,
      log,
      limits: walLimits,
      fsync: options.fsync ?? 'always',
      ...(options.fsyncIntervalMs === undefined ? {} : { fsyncIntervalMs: options.fsyncIntervalMs }),
      ...(snapshot === undefined ? {} : { firstIndex: snapshot.index + 1 }),
      replay: {
        fromIndex: (snapshot?.index ?? 0) + 1,
        onEntry: (entry) => {
          // Results are not needed: apply is deterministic, so failed commands fail again identically.
          store.apply(decodeCommand(entry.payload, store.limits));
          replayed++;
        },
      },
    });
    const covered = snapshot?.index ?? 0;
    if (wal.firstIndex > covered + 1) {
      await wal.close();
      throw walError(
        'WAL_SNAPSHOT_MISSING',
        `the log in ${options.dir} starts at index ${wal.firstIndex}, but the newest valid snapshot covers only up to ${covered}`,
      );
    }
    if (wal.lastIndex < covered) {
      await wal.close();
      throw walError(
        'WAL_CORRUPT',
        `the snapshot covers index ${covered} but the log ends at ${wal.lastIndex}: log entries the snapshot relied on are gone`,
      );
    }
    if (snapshot !== undefined || replayed > 0) {
      log(
        `wal: recovered ${options.dir}: snapshot at index ${covered}, replayed ${replayed} entries, last index ${wal.lastIndex}`,
      );
    }
    return new DurableStore({ ...options, snapshotEveryEntries: every }, store, wal, fs, covered);
  }
  // #endregion recovery

  /** Index of the last command applied to `store` (and acknowledged). */
  get lastIndex(): number {
    return this.#appliedIndex;
  }

  /** Index covered by the newest snapshot on disk (0: none). */
  get snapshotIndex(): number {
    return this.#snapshotIndex;
  }

  // #region execute
  /**
   * Logs `command`, waits until the entry is durable under the policy, then
   * applies it. Promises resolve in submission order, with exactly what
   * `Store.apply` returns; a failed write rejects and applies nothing.
   */
  execute(command: Command): Promise<CommandResult> {
    if (this.#closed) return Promise.reject(walError('WAL_CLOSED', 'the durable store is closed'));
    let payload: Buffer;
    try {
      payload = encodeCommand(command);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.wal.append({ payload }).then((ack) => this.#apply(ack, command));
  }
  // #endregion execute

  #apply(ack: AppendAck, command: Command): CommandResult {
    // The log resolves appends in index order, so commands apply in log order.
    assert(ack.index === this.#appliedIndex + 1, 'commands apply in log order, without gaps');
    const result = this.store.apply(command);
    this.#appliedIndex = ack.index;
    if (
      this.snapshotEveryEntries > 0 &&
      this.#snapshotting === undefined &&
      !this.#closed &&
      this.#appliedIndex - this.#snapshotIndex >= this.snapshotEveryEntries
    ) {
      this.snapshot().catch((err: unknown) => this.#log(`wal: automatic snapshot failed: ${String(err)}`, 'error'));
    }
    return result;
  }

  /** Makes everything appended so far durable (fdatasync). */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(walError('WAL_CLOSED', 'the durable store is closed'));
    return this.wal.flush();
  }

  /**
   * Writes a snapshot of the store as it is now, while writes keep flowing.
   * One snapshot runs at a time; a call during one waits for it and then
   * takes a fresh one.
   */
  snapshot(): Promise<{ index: number }> {
    if (this.#closed) return Promise.reject(walError('WAL_CLOSED', 'the durable store is closed'));
    const previous = this.#snapshotting ?? Promise.resolve({ index: 0 });
    const next = previous.catch(() => undefined).then(() => this.#writeSnapshot());
    this.#snapshotting = next;
    const clear = () => {
      if (this.#snapshotting === next) this.#snapshotting = undefined;
    };
    next.then(clear, clear);
    return next;
  }

  // #region write-snapshot
  async #writeSnapshot(): Promise<{ index: number }> {
    // Taken synchronously between two applies: the stream sees exactly the
    // commands up to `index`, however many are applied while it is written.
    const index = this.#appliedIndex;
    if (index === this.#snapshotIndex) return { index };
    const term = this.wal.term(index) ?? 0;
    const stream = this.store.snapshot({ meta: encodeMeta(index, term) });
    const final = join(this.dir, snapshotName(index));
    const temp = `${final}.tmp`;
    try {
      // The log up to `index` must be on disk before a snapshot claims it.
      await this.wal.flush();
      await this.#fs.unlink(temp).catch(() => undefined);
      const file = await this.#fs.open(temp, 'wx');
      try {
        let position = 0;
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        for (const chunk of stream) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= SNAPSHOT_WRITE_BYTES) {
            await writeFully(file, Buffer.concat(pending, pendingBytes), position);
            position += pendingBytes;
            pending = [];
            pendingBytes = 0;
          }
        }
        if (pendingBytes > 0) await writeFully(file, Buffer.concat(pending, pendingBytes), position);
        await file.datasync();
      } finally {
        await file.close();
      }
      await this.#fs.rename(temp, final);
      await this.#fs.syncDir(this.dir);
    } catch (err) {
      stream.close();
      await this.#fs.unlink(temp).catch(() => undefined);
      if (err instanceof DistkvError) throw err;
      const errno = (err as NodeJS.ErrnoException).code;
      const code = errno === 'ENOSPC' || errno === 'EDQUOT' ? 'WAL_DISK_FULL' : 'WAL_WRITE_FAILED';
      throw walError(code, `writing snapshot ${final} failed (${String(err)}); the previous snapshot and the log are intact`, {
        cause: err,
      });
    }
    this.#snapshotIndex = index;
    // Only now that the new snapshot is durable may older state go.
    await this.wal.compact(index);
    for (const name of await this.#fs.readdir(this.dir)) {
      const match = SNAPSHOT_NAME.exec(name);
      if (match !== null && Number(match[1]) < index) await this.#fs.unlink(join(this.dir, name));
    }
    return { index };
  }
  // #endregion write-snapshot

  /** Flushes, waits for a running snapshot, closes the log. Later calls reject with WAL_CLOSED. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    const snapshotting = this.#snapshotting?.catch(() => undefined);
    this.#closing = (async () => {
      await snapshotting;
      await this.wal.close();
    })();
    return this.#closing;
  }
}

async function* readChunks(fs: WalFileSystem, path: string): AsyncGenerator<Buffer> {
  const file = await fs.open(path, 'r');
  try {
    let position = 0;
    // Bounded by the file's size: every pass reads at least one byte or ends.
    for (;;) {
      const buf = Buffer.allocUnsafe(SNAPSHOT_READ_BYTES);
      const n = await file.read(buf, 0, buf.length, position);
      if (n <= 0) return;
      position += n;
      yield buf.subarray(0, n);
    }
  } finally {
    await file.close();
  }
}

/** Restores the newest snapshot that is valid; a damaged one is reported and the next older tried. */
async function loadNewestSnapshot(
  fs: WalFileSystem,
  dir: string,
  store: Store,
  log: (line: string) => void,
): Promise<{ index: number; term: number } | undefined> {
  const names = await fs.readdir(dir);
  for (const name of names) {
    if (name.endsWith('.snap.tmp')) {
      await fs.unlink(join(dir, name));
      log(`wal: removed unfinished snapshot ${name}`);
    }
  }
  const snapshots = names
    .filter((n) => SNAPSHOT_NAME.test(n))
    .sort()
    .reverse();
  for (const name of snapshots) {
    try {
      const result = await store.restore(readChunks(fs, join(dir, name)));
      const meta = decodeMeta(result.meta);
      const named = Number((SNAPSHOT_NAME.exec(name) as RegExpExecArray)[1]);
      if (meta === undefined || meta.index !== named) throw walError('WAL_CORRUPT', 'its meta block does not name its index');
      return meta;
    } catch (err) {
      if (!(err instanceof DistkvError)) throw err;
      // restore() changes the store only on success, so it is still empty here.
      log(`wal: snapshot ${name} is not usable (${err.message}); trying an older one`);
    }
  }
  return undefined;
}
