import { writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';

/**
 * The few file operations the log needs, behind an interface so that tests
 * can inject failures (ENOSPC, EIO) without a real full disk. Writes and
 * reads are positional (pwrite/pread): the log tracks its own offsets,
 * which is what makes cutting back a failed batch exact.
 */
// #region fs-layer
export interface WalFile {
  /** Writes part or all of `bytes` at `position`; returns how many bytes were written. */
  write(bytes: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Reads up to `length` bytes at `position` into `into`; returns how many were read. */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync: the data and the size reach stable storage. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface WalFileSystem {
  open(path: string, flags: 'r' | 'r+' | 'wx'): Promise<WalFile>;
  readFile(path: string): Promise<Buffer>;
  readdir(dir: string): Promise<string[]>;
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory, so that a create, rename or unlink in it is durable. */
  syncDir(dir: string): Promise<void>;
}
// #endregion fs-layer

class NodeFile implements WalFile {
  readonly #handle: fsp.FileHandle;
  constructor(handle: fsp.FileHandle) {
    this.#handle = handle;
  }
  // #region sync-write
  async write(bytes: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    // pwrite into the page cache is a memory copy: doing it on the main
    // thread saves a thread-pool round trip per batch, which is most of a
    // one-writer commit besides fdatasync itself. fdatasync stays async.
    return writeSync(this.#handle.fd, bytes, offset, length, position);
  }
  // #endregion sync-write
  async read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.#handle.read(into, offset, length, position)).bytesRead;
  }
  datasync(): Promise<void> {
    return this.#handle.datasync();
  }
  truncate(length: number): Promise<void> {
    return this.#handle.truncate(length);
  }
  close(): Promise<void> {
    return this.#handle.close();
  }
}

/** The real file system (node:fs/promises). */
export const nodeFileSystem: WalFileSystem = {
  async open(path, flags) {
    return new NodeFile(await fsp.open(path, flags));
  },
  readFile: (path) => fsp.readFile(path),
  readdir: (dir) => fsp.readdir(dir),
  async mkdir(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  async syncDir(dir) {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(file: WalFile, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  // Bounded: every pass writes at least one byte or throws.
  while (done < bytes.length) {
    const n = await file.write(bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    done += n;
  }
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readFully(file: WalFile, length: number, position: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = await file.read(out, done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}
