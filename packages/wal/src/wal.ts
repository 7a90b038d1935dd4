/**
 * The WAL writer: a segmented write-ahead log of `(index, term, payload)`
 * entries with group commit, the durable log under DurableStore (phase 2)
 * and under the Raft log of every later phase.
 *
 * One writer (`#pump`) owns the file. `append()` only assigns the next index
 * and queues the entry; the pump takes what has queued as one batch, writes
 * it with one write() and, under 'always', one fdatasync, then acknowledges
 * the whole batch. So a batch is as large as the load makes it, and the disk
 * sees one sync in flight at a time. Truncation, compaction and explicit
 * syncs are queued behind the entries, so they happen in call order.
 *
 * Three cursors say how far an entry got: `lastIndex` (appended, queued),
 * `#writtenIndex` (the kernel has it) and `#durableIndex` (fdatasync
 * returned); `#assertCursors` keeps durable <= written <= appended. What
 * happens before the writer starts (a torn tail cut, damage refused) is in
 * recovery.ts; the operator's repair is repair.ts; segment files are
 * segment.ts; the record format is record.ts.
 */
import { join, resolve } from 'node:path';
import { assert, DistkvError, type LogLine } from '@distkv/core';
import { type WalErrorCode, walError } from './errors.js';
import { nodeFileSystem, readFully, type WalFile, type WalFileSystem, writeFully } from './fs.js';
import { resolveWalLimits, type WalLimits } from './limits.js';
import { notifyBatch, notifyFsync } from './observe.js';
import { checkEntryRecord, encodeEntry, entryRecordBytes } from './record.js';
import { removeUnfinishedSegments, scanLog } from './recovery.js';
import { createSegment, emptySegment, type Segment, segmentName } from './segment.js';
import { type HardState, loadState, saveState } from './state.js';

export type FsyncPolicy = 'always' | 'interval' | 'none';

/**
 * How far an acknowledged entry got. `fsynced`: fdatasync returned, so it
 * survives a power cut. `written`: the kernel has it (it survives the
 * process being killed, not the machine losing power).
 */
export type Durability = 'fsynced' | 'written';

export interface AppendAck {
  index: number;
  durability: Durability;
}

export interface WalEntry {
  index: number;
  term: number;
  payload: Buffer;
}

export interface WalOptions {
  /** Directory of the segment files (created if missing). */
  dir: string;
  /** Default 'always'. */
  fsync?: FsyncPolicy;
  /** For 'interval': fsync this often. Default 1000. */
  fsyncIntervalMs?: number;
  limits?: Partial<WalLimits>;
  /** The file system; tests inject failures through it. */
  fs?: WalFileSystem;
  /** Recovery messages (a cut tail, removed temp files). */
  log?: LogLine;
  /** Where an empty log starts. Default 1. */
  firstIndex?: number;
  /** Called for every entry from `fromIndex` on while the log is read at open. */
  replay?: { fromIndex: number; onEntry: (entry: WalEntry) => void };
}

type Settle<T> = { resolve: (value: T) => void; reject: (error: DistkvError) => void };
type EntryOp = { kind: 'entry'; index: number; term: number; payload: Uint8Array } & Settle<AppendAck>;
type ControlOp =
  | ({ kind: 'sync' } & Settle<void>)
  | ({ kind: 'barrier' } & Settle<void>)
  | ({ kind: 'truncate'; index: number } & Settle<void>)
  | ({ kind: 'compact'; upToIndex: number } & Settle<void>);
type Op = EntryOp | ControlOp;

function errnoCode(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : 'EIO';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A segmented write-ahead log of `(index, term, payload)` entries with group
 * commit. `append()` resolves once its entry is durable under the fsync
 * policy; one write+fdatasync is in flight at a time, and entries that
 * arrive meanwhile form the next batch. Later phases use it as the Raft log.
 */
export class Wal {
  readonly dir: string;
  readonly policy: FsyncPolicy;
  readonly limits: Readonly<WalLimits>;
  readonly #fs: WalFileSystem;
  readonly #log: LogLine;
  /** The resolved directory, as WAL observers (observe.ts) match it. */
  readonly #observedDir: string;
  #segments: Segment[];
  #file: WalFile;
  #queue: Op[] = [];
  #queueHead = 0;
  #queueEntries = 0;
  #queueBytes = 0;
  #pumping = false;
  #syncWanted = false;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #lastIndex: number;
  #lastTerm: number;
  #writtenIndex: number;
  #durableIndex: number;
  /**
   * Truncations queued and not yet carried out. `truncateAfter` lowers
   * `lastIndex` at once, the file only when its turn in the queue comes;
   * meanwhile the written log may run ahead of the appended one.
   */
  #truncatesQueued = 0;
  #failed: DistkvError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #stateChain: Promise<unknown> = Promise.resolve();

  private constructor(options: WalOptions, fs: WalFileSystem, limits: Readonly<WalLimits>, segments: Segment[], file: WalFile) {
    this.dir = options.dir;
    this.policy = options.fsync ?? 'always';
    this.limits = limits;
    this.#fs = fs;
    this.#log = options.log ?? (() => undefined);
    this.#observedDir = resolve(options.dir);
    this.#segments = segments;
    this.#file = file;
    const last = this.#active;
    this.#lastIndex = last.firstIndex + last.offsets.length - 1;
    this.#writtenIndex = this.#lastIndex;
    this.#durableIndex = this.#lastIndex;
    this.#lastTerm = this.#termAt(this.#lastIndex) ?? 0;
    this.#assertCursors();
  }

  static async open(options: WalOptions): Promise<Wal> {
    const fs = options.fs ?? nodeFileSystem;
    const limits = resolveWalLimits(options.limits);
    const policy = options.fsync ?? 'always';
    if (policy !== 'always' && policy !== 'interval' && policy !== 'none') {
      throw walError('WAL_LIMIT_INVALID', `fsync must be 'always', 'interval' or 'none', got ${String(policy)}`);
    }
    const intervalMs = options.fsyncIntervalMs ?? 1000;
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1 || intervalMs > 3_600_000) {
      throw walError('WAL_LIMIT_INVALID', `fsyncIntervalMs must be an integer from 1 to 3600000, got ${intervalMs}`);
    }
    const firstIndex = options.firstIndex ?? 1;
    if (!Number.isSafeInteger(firstIndex) || firstIndex < 1) {
      throw walError('WAL_LIMIT_INVALID', `firstIndex must be a positive integer, got ${firstIndex}`);
    }
    const log = options.log ?? (() => undefined);
    await fs.mkdir(options.dir);
    await removeUnfinishedSegments(fs, options.dir, log);
    const replay = options.replay;
    const scan = await scanLog(
      fs,
      options.dir,
      limits,
      'open',
      log,
      replay === undefined
        ? undefined
        : (index, term, payload) => {
            if (index >= replay.fromIndex) replay.onEntry({ index, term, payload });
          },
    );
    let segments = scan.segments;
    if (segments.length === 0) {
      await createSegment(fs, options.dir, firstIndex);
      segments = [emptySegment(firstIndex)];
    }
    const active = segments[segments.length - 1] as Segment;
    const file = await fs.open(join(options.dir, active.name), 'r+');
    const wal = new Wal(options, fs, limits, segments, file);
    if (policy === 'interval') {
      wal.#timer = setInterval(() => {
        wal.#syncWanted = true;
        wal.#kick();
      }, intervalMs);
      wal.#timer.unref();
    }
    return wal;
  }

  /** First index still in the log (entries before it were compacted away). */
  get firstIndex(): number {
    return (this.#segments[0] as Segment).firstIndex;
  }

  /** Index of the last entry appended, including ones not yet durable. */
  get lastIndex(): number {
    return this.#lastIndex;
  }

  /** Term of the last entry appended (0 for an empty log). */
  get lastTerm(): number {
    return this.#lastTerm;
  }

  /** Last index known to be fsynced. */
  get durableIndex(): number {
    return this.#durableIndex;
  }

  /** Why the log stopped accepting writes, if it did. */
  get failure(): DistkvError | undefined {
    return this.#failed;
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1] as Segment;
  }

  // #region append
  /**
   * Appends one entry at `lastIndex + 1`. The index is assigned now (read
   * `lastIndex` right after the call); the promise resolves once the entry
   * is durable under the policy, in index order.
   */
  append(entry: { term?: number; payload: Uint8Array; index?: number }): Promise<AppendAck> {
    const term = entry.term ?? 0;
    assert(Number.isSafeInteger(term) && term >= 0, 'term is a non-negative integer');
    assert(term >= this.#lastTerm, 'terms never decrease along the log');
    if (entry.index !== undefined) assert(entry.index === this.#lastIndex + 1, 'append continues the log');
    const refusal = this.#refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const bytes = entry.payload.byteLength;
    if (bytes > this.limits.entryBytesMax) {
      return Promise.reject(
        walError('WAL_ENTRY_TOO_LARGE', `an entry of ${bytes} bytes exceeds limits.entryBytesMax = ${this.limits.entryBytesMax}`),
      );
    }
    if (this.#queueEntries >= this.limits.queueEntriesMax || this.#queueBytes + bytes > this.limits.queueBytesMax) {
      return Promise.reject(
        walError(
          'WAL_QUEUE_FULL',
          `${this.#queueEntries} entries (${this.#queueBytes} bytes) wait to be written ` +
            `(limits.queueEntriesMax = ${this.limits.queueEntriesMax}, limits.queueBytesMax = ${this.limits.queueBytesMax})`,
        ),
      );
    }
    const index = ++this.#lastIndex;
    this.#lastTerm = term;
    this.#queueEntries++;
    this.#queueBytes += bytes;
    this.#assertCursors();
    return new Promise<AppendAck>((resolve, reject) => {
      this.#queue.push({ kind: 'entry', index, term, payload: entry.payload, resolve, reject });
      this.#kick();
    });
  }
  // #endregion append

  /** Makes everything appended so far durable (fdatasync), whatever the policy. */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(walError('WAL_CLOSED', 'the log is closed'));
    return this.#control({ kind: 'sync' });
  }

  /**
   * Removes every entry after `index` (Raft overwrites a conflicting
   * suffix). Takes effect for `lastIndex` at once; on disk, later segments
   * are unlinked and the file cut and fsynced before the promise resolves,
   * and before any entry appended after this call is written.
   */
  truncateAfter(index: number): Promise<void> {
    assert(Number.isSafeInteger(index), 'index is an integer');
    const refusal = this.#refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (index < this.firstIndex - 1 || index > this.#lastIndex) {
      return Promise.reject(
        walError('WAL_RANGE', `cannot truncate after ${index}: the log holds ${this.firstIndex}..${this.#lastIndex}`),
      );
    }
    if (index === this.#lastIndex) return this.#control({ kind: 'barrier' });
    this.#lastIndex = index;
    this.#lastTerm = this.term(index) ?? 0;
    this.#truncatesQueued++;
    return this.#control({ kind: 'truncate', index });
  }

  /**
   * Deletes the segments whose entries all lie at or below `upToIndex`
   * (after a snapshot covers them). The segment being written is kept, so
   * `firstIndex` may stay below `upToIndex + 1`.
   */
  compact(upToIndex: number): Promise<void> {
    assert(Number.isSafeInteger(upToIndex), 'upToIndex is an integer');
    if (this.#closed) return Promise.reject(walError('WAL_CLOSED', 'the log is closed'));
    return this.#control({ kind: 'compact', upToIndex });
  }

  /** The term of entry `index`, or undefined when it is not in the log. */
  term(index: number): number | undefined {
    if (index > this.#writtenIndex && index <= this.#lastIndex) {
      for (let i = this.#queueHead; i < this.#queue.length; i++) {
        const op = this.#queue[i] as Op;
        if (op.kind === 'entry' && op.index === index) return op.term;
      }
    }
    return this.#termAt(index);
  }

  #termAt(index: number): number | undefined {
    if (index > this.#writtenIndex) return undefined;
    const segment = this.#segmentOf(index);
    return segment?.terms[index - segment.firstIndex];
  }

  #segmentOf(index: number): Segment | undefined {
    // Segments are few (one per segmentBytes); a backwards walk finds recent entries first.
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const segment = this.#segments[i] as Segment;
      if (index >= segment.firstIndex) {
        return index < segment.firstIndex + segment.offsets.length ? segment : undefined;
      }
    }
    return undefined;
  }

  // #region entries
  /**
   * Entries `fromIndex..toIndex` (both inclusive), read back from the files
   * and checked against their checksums again. Stops early, after at least
   * one entry, once `bytesMax` payload bytes are gathered. A truncation or
   * compaction that removes the range while it is being read makes this
   * throw WAL_RANGE or WAL_CORRUPT; the Raft driver serialises the two.
   */
  async entries(fromIndex: number, toIndex: number, bytesMax = Number.POSITIVE_INFINITY): Promise<WalEntry[]> {
    if (fromIndex < this.firstIndex || toIndex > this.#lastIndex || fromIndex > toIndex + 1) {
      throw walError(
        'WAL_RANGE',
        `entries ${fromIndex}..${toIndex} are not all in the log (${this.firstIndex}..${this.#lastIndex})`,
      );
    }
    // Entries still queued are read once written.
    if (toIndex > this.#writtenIndex) await this.#control({ kind: 'barrier' });
    const out: WalEntry[] = [];
    let bytes = 0;
    let index = fromIndex;
    while (index <= toIndex) {
      const segment = this.#segmentOf(index);
      if (segment === undefined) throw walError('WAL_RANGE', `entry ${index} left the log while it was being read`);
      const last = Math.min(toIndex, segment.firstIndex + segment.offsets.length - 1);
      const start = segment.offsets[index - segment.firstIndex] as number;
      const end =
        last + 1 - segment.firstIndex < segment.offsets.length
          ? (segment.offsets[last + 1 - segment.firstIndex] as number)
          : segment.bytes;
      const isActive = segment === this.#active;
      const file = isActive ? this.#file : await this.#fs.open(join(this.dir, segment.name), 'r');
      let buf: Buffer;
      try {
        buf = await readFully(file, end - start, start);
      } finally {
        if (!isActive) await file.close();
      }
      let at = 0;
      for (; index <= last; index++) {
        const check = checkEntryRecord(buf, at, index, this.limits.entryBytesMax);
        if (!check.ok) {
          throw walError(
            'WAL_CORRUPT',
            `${join(this.dir, segment.name)} at offset ${start + at} (entry index ${index}): ${check.reason}`,
          );
        }
        out.push({ index, term: check.entry.term, payload: Buffer.from(check.entry.payload) });
        bytes += check.entry.payload.length;
        at = check.end;
        if (bytes >= bytesMax) return out;
      }
    }
    return out;
  }
  // #endregion entries

  /** The persisted term and vote (term 0, no vote, when never saved). */
  loadState(): Promise<HardState> {
    return loadState(this.#fs, this.dir);
  }

  /** Saves term and vote atomically (temp file, fsync, rename, fsync dir); calls are serialised. */
  saveState(state: HardState): Promise<void> {
    if (this.#closed) return Promise.reject(walError('WAL_CLOSED', 'the log is closed'));
    const next = this.#stateChain.then(() => saveState(this.#fs, this.dir, state));
    this.#stateChain = next.catch(() => undefined);
    return next;
  }

  /** Flushes, stops the timer and closes the file. Later calls fail with WAL_CLOSED. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const done = this.#failed === undefined ? this.#control({ kind: 'sync' }).catch(() => undefined) : Promise.resolve();
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#closing = done.then(async () => {
      await this.#stateChain;
      await this.#file.close();
    });
    return this.#closing;
  }

  // ---- the writer ----------------------------------------------------------

  /**
   * The writer's invariant, checked wherever a cursor moves: nothing is
   * durable that was not written, nothing is written that was not appended.
   * The second holds except while a truncation waits in the queue (see
   * `#truncatesQueued`) or after one failed and stopped the log.
   */
  #assertCursors(): void {
    assert(this.#durableIndex <= this.#writtenIndex, 'durableIndex <= writtenIndex: only written entries are fsynced');
    assert(this.#truncatesQueued >= 0, 'truncatesQueued counts queued truncations');
    if (this.#truncatesQueued === 0 && this.#failed === undefined) {
      assert(this.#writtenIndex <= this.#lastIndex, 'writtenIndex <= lastIndex: only appended entries are written');
    }
  }

  #refusal(): DistkvError | undefined {
    if (this.#closed) return walError('WAL_CLOSED', 'the log is closed');
    if (this.#failed !== undefined) {
      return walError('WAL_FAILED', `the log refuses writes after an earlier failure (${this.#failed.message}); reopen it`);
    }
    return undefined;
  }

  #control(
    op: { kind: 'sync' } | { kind: 'barrier' } | { kind: 'truncate'; index: number } | { kind: 'compact'; upToIndex: number },
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ...op, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#pump();
  }

  // #region pump
  /** The single writer: one batch (one write, at most one fdatasync) at a time. */
  async #pump(): Promise<void> {
    try {
      // Bounded: each pass consumes at least one queued op or the sync request.
      for (;;) {
        if (this.#syncWanted && this.#queueHead < this.#queue.length) {
          // The interval timer fired under sustained load: sync before the next batch.
          this.#syncWanted = false;
          if (this.#dirty && this.#failed === undefined) await this.#sync().catch(() => undefined);
        }
        const op = this.#queue[this.#queueHead];
        if (op === undefined) {
          this.#queue = [];
          this.#queueHead = 0;
          if (this.#syncWanted && this.#dirty && this.#failed === undefined) {
            this.#syncWanted = false;
            await this.#sync().catch(() => undefined);
            continue;
          }
          this.#syncWanted = false;
          this.#assertCursors();
          return;
        }
        if (op.kind === 'entry') {
          const batchEntries = await this.#writeBatch();
          // Yield one event-loop turn before the next batch. The writers just
          // acknowledged resubmit in microtasks; without this turn they would
          // miss the batch that is already queued, and closed-loop writers
          // would split into two cohorts that take turns, halving each batch.
          // The turn is taken even with an empty queue: the writers just acked
          // are about to resubmit, and the first of them must not start a
          // batch of one while the others are still on their way. Only a
          // lone writer (a batch of one, nothing queued) has nobody to wait
          // for. Under 'interval' and 'none' the turn is always taken: a
          // write completes in microtasks, and timers and I/O must still run.
          const alone = batchEntries === 1 && this.#queueHead === this.#queue.length;
          if (this.policy !== 'always' || !alone) await new Promise<void>((resolve) => setImmediate(resolve));
        } else {
          this.#queueHead++;
          await this.#runControl(op);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
  // #endregion pump

  #takeBatch(): { batch: EntryOp[]; bytes: number; payloadBytes: number } {
    const batch: EntryOp[] = [];
    let bytes = 0;
    let payloadBytes = 0;
    while (this.#queueHead < this.#queue.length) {
      const op = this.#queue[this.#queueHead] as Op;
      if (op.kind !== 'entry') break;
      const recordBytes = entryRecordBytes(op.payload.byteLength);
      const full =
        batch.length >= this.limits.batchEntriesMax ||
        bytes + recordBytes > this.limits.batchBytesMax ||
        this.#segmentFull(bytes + recordBytes);
      if (batch.length > 0 && full) break;
      batch.push(op);
      bytes += recordBytes;
      payloadBytes += op.payload.byteLength;
      this.#queueHead++;
    }
    assert(batch.length > 0, 'a batch is taken only when an entry heads the queue');
    assert(batch.length <= this.limits.batchEntriesMax, 'a batch holds at most batchEntriesMax entries');
    assert(batch.length === 1 || bytes <= this.limits.batchBytesMax, 'a batch is one entry or fits batchBytesMax');
    this.#queueEntries -= batch.length;
    this.#queueBytes -= payloadBytes;
    assert(this.#queueEntries >= 0, 'queueEntries counts queued entries');
    assert(this.#queueBytes >= 0, 'queueBytes counts queued payload bytes');
    if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
      // Drop what was consumed, so a queue that never empties stays bounded.
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return { batch, bytes, payloadBytes };
  }

  // #region write-batch
  /** Writes (and under 'always' fsyncs) one batch; returns how many entries it held. */
  async #writeBatch(): Promise<number> {
    const head = this.#queue[this.#queueHead] as EntryOp;
    if (
      this.#failed === undefined &&
      this.#active.offsets.length > 0 &&
      this.#segmentFull(entryRecordBytes(head.payload.byteLength))
    ) {
      try {
        await this.#roll(head.index);
      } catch (err) {
        const error = err instanceof DistkvError ? err : this.#writeError(err, `starting a segment at index ${head.index}`);
        const { batch } = this.#takeBatch();
        this.#rejectFrom(batch, error, this.#failed === undefined);
        return batch.length;
      }
    }
    const { batch, bytes } = this.#takeBatch();
    const last = batch[batch.length - 1] as EntryOp;
    assert(head.index === this.#writtenIndex + 1, 'a batch continues the written log');
    assert(last.index === head.index + batch.length - 1, 'a batch holds consecutive indexes');
    if (this.#failed !== undefined) {
      for (const op of batch) op.reject(this.#refusal() as DistkvError);
      return batch.length;
    }
    const segment = this.#active;
    const start = segment.bytes;
    const buf = Buffer.allocUnsafe(bytes);
    const offsets: number[] = [];
    let at = 0;
    for (const op of batch) {
      offsets.push(start + at);
      at = encodeEntry(buf, at, op.index, op.term, op.payload);
    }
    assert(at === bytes, 'the batch encodes to the bytes it was sized for');
    try {
      await writeFully(this.#file, buf, start);
    } catch (err) {
      await this.#rollback(batch, start, err);
      return batch.length;
    }
    for (let i = 0; i < batch.length; i++) {
      segment.offsets.push(offsets[i] as number);
      segment.terms.push((batch[i] as EntryOp).term);
    }
    segment.bytes = start + bytes;
    assert(
      segment.bytes <= this.limits.segmentBytes || segment.offsets.length === 1,
      'a segment outgrows segmentBytes only by holding a single entry',
    );
    notifyBatch(this.#observedDir, batch.length, bytes);
    this.#writtenIndex = last.index;
    this.#dirty = true;
    this.#assertCursors();
    if (this.policy === 'always') {
      try {
        await this.#sync();
      } catch (err) {
        this.#rejectFrom(batch, err as DistkvError, false);
        return batch.length;
      }
      for (const op of batch) op.resolve({ index: op.index, durability: 'fsynced' });
    } else {
      for (const op of batch) op.resolve({ index: op.index, durability: 'written' });
    }
    return batch.length;
  }
  // #endregion write-batch

  /** Would `bytes` more overflow the segment being written? */
  #segmentFull(bytes: number): boolean {
    return this.#active.bytes + bytes > this.limits.segmentBytes;
  }

  #writeError(err: unknown, what: string): DistkvError {
    const errno = errnoCode(err);
    const code: WalErrorCode = errno === 'ENOSPC' || errno === 'EDQUOT' ? 'WAL_DISK_FULL' : 'WAL_WRITE_FAILED';
    return walError(code, `${what} failed (${errno}: ${message(err)}); nothing of it was acknowledged`, {
      cause: err,
      definite: true,
    });
  }

  // #region rollback
  /**
   * A write failed (ENOSPC, EIO): cut the file back to where the batch
   * began and fsync, so the failed entries are certainly gone, then reject
   * the batch and everything queued after it (their indexes followed it).
   * The log stays open: the next append is tried afresh.
   */
  async #rollback(batch: EntryOp[], start: number, cause: unknown): Promise<void> {
    const first = (batch[0] as EntryOp).index;
    const last = (batch[batch.length - 1] as EntryOp).index;
    try {
      await this.#file.truncate(start);
      await this.#file.datasync();
    } catch (err) {
      this.#failed = walError('WAL_FAILED', `cutting back a failed write also failed (${message(err)})`, {
        cause: err,
        definite: false,
      });
      this.#rejectFrom(batch, this.#failed, true);
      return;
    }
    const error = this.#writeError(cause, `writing entries ${first}..${last} to ${this.#active.name}`);
    this.#log(`wal: ${error.message}; the file was cut back and the log goes on`, 'warn');
    this.#rejectFrom(batch, error, true);
  }
  // #endregion rollback

  /** Rejects `batch` and every queued op after it, and rewinds lastIndex to what is written. */
  #rejectFrom(batch: EntryOp[], error: DistkvError, definite: boolean): void {
    for (const op of batch) op.reject(error);
    const rest = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    this.#queueEntries = 0;
    this.#queueBytes = 0;
    const after = walError(error.code as WalErrorCode, `not written: an earlier entry failed (${error.message})`, { definite });
    for (const op of rest) {
      if (op.kind === 'sync' || op.kind === 'barrier') this.#queue.push(op);
      else {
        if (op.kind === 'truncate') this.#truncatesQueued--;
        op.reject(after);
      }
    }
    this.#lastIndex = this.#writtenIndex;
    this.#lastTerm = this.#termAt(this.#writtenIndex) ?? 0;
    this.#assertCursors();
  }

  async #sync(): Promise<void> {
    if (!this.#dirty) return;
    const target = this.#writtenIndex;
    const startedMs = performance.now();
    try {
      await this.#file.datasync();
      notifyFsync(this.#observedDir, (performance.now() - startedMs) / 1000, true);
    } catch (err) {
      notifyFsync(this.#observedDir, (performance.now() - startedMs) / 1000, false);
      // After a failed fsync the kernel may have dropped the dirty pages:
      // nothing written since the last good fsync can be trusted, so stop.
      this.#failed = walError('WAL_FSYNC_FAILED', `fdatasync of ${this.#active.name} failed (${message(err)})`, {
        cause: err,
        definite: false,
      });
      this.#log(`wal: ${this.#failed.message}; the log refuses writes until it is reopened`, 'error');
      throw this.#failed;
    }
    this.#dirty = false;
    this.#durableIndex = target;
    this.#assertCursors();
  }

  async #runControl(op: ControlOp): Promise<void> {
    try {
      switch (op.kind) {
        case 'barrier':
          break;
        case 'sync':
          if (this.#failed !== undefined) throw this.#refusal();
          await this.#sync();
          break;
        case 'truncate':
          try {
            await this.#truncate(op.index);
          } finally {
            this.#truncatesQueued--;
          }
          this.#assertCursors();
          break;
        case 'compact':
          await this.#compact(op.upToIndex);
          break;
      }
      op.resolve();
    } catch (err) {
      op.reject(err as DistkvError);
    }
  }

  // #region roll
  /**
   * Starts a new segment. The old one is fsynced first, so that only the
   * last segment can ever have a torn tail; the new one appears complete
   * (header written, fsynced, renamed, directory fsynced) or not at all.
   */
  async #roll(firstIndex: number): Promise<void> {
    await this.#sync();
    const path = join(this.dir, segmentName(firstIndex));
    await createSegment(this.#fs, this.dir, firstIndex);
    let file: WalFile;
    try {
      file = await this.#fs.open(path, 'r+');
    } catch (err) {
      // An empty segment we do not track would look like a gap at recovery.
      await this.#fs.unlink(path).catch(() => undefined);
      throw err;
    }
    await this.#file.close();
    this.#file = file;
    this.#segments.push(emptySegment(firstIndex));
  }
  // #endregion roll

  // #region truncate
  async #truncate(index: number): Promise<void> {
    if (index >= this.#writtenIndex) return; // only queued entries were removed, and they were dropped from the queue
    try {
      // Unlink later segments newest first, so that a crash leaves a prefix.
      let keep = this.#segments.length - 1;
      while (keep > 0 && (this.#segments[keep] as Segment).firstIndex > index + 1) keep--;
      const doomed = this.#segments.slice(keep + 1).reverse();
      if (doomed.length > 0) {
        await this.#file.close();
        for (const segment of doomed) await this.#fs.unlink(join(this.dir, segment.name));
        await this.#fs.syncDir(this.dir);
        this.#segments.length = keep + 1;
        this.#file = await this.#fs.open(join(this.dir, this.#active.name), 'r+');
      }
      const segment = this.#active;
      const count = index + 1 - segment.firstIndex;
      const bytes = count < segment.offsets.length ? (segment.offsets[count] as number) : segment.bytes;
      await this.#file.truncate(bytes);
      await this.#file.datasync();
      segment.offsets.length = count;
      segment.terms.length = count;
      segment.bytes = bytes;
      this.#writtenIndex = index;
      this.#durableIndex = index;
      this.#dirty = false;
    } catch (err) {
      this.#failed = walError('WAL_FAILED', `truncating the log after ${index} failed (${message(err)})`, {
        cause: err,
        definite: false,
      });
      throw this.#failed;
    }
  }
  // #endregion truncate

  async #compact(upToIndex: number): Promise<void> {
    // Oldest first, so that a crash leaves a suffix that still starts at a segment header.
    let removed = 0;
    while (this.#segments.length - removed > 1) {
      const next = this.#segments[removed + 1] as Segment;
      if (next.firstIndex > upToIndex + 1) break;
      try {
        await this.#fs.unlink(join(this.dir, (this.#segments[removed] as Segment).name));
      } catch (err) {
        this.#segments.splice(0, removed);
        throw this.#writeError(err, `deleting a compacted segment`);
      }
      removed++;
    }
    this.#segments.splice(0, removed);
    if (removed > 0) await this.#fs.syncDir(this.dir);
  }
}
