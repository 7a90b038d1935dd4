import { nodeFileSystem, type WalFile, type WalFileSystem } from '../fs.js';

export type FaultOp = 'write' | 'datasync' | 'truncate' | 'open' | 'rename' | 'unlink' | 'syncDir' | 'readFile';

export interface Fault {
  op: FaultOp;
  /** errno code to fail with, e.g. 'ENOSPC' or 'EIO'. */
  code: string;
  /** Only paths containing this text. */
  pathIncludes?: string;
  /** Fail this many calls, then stop (default: until cleared). */
  times?: number;
  /** For 'write': write this many bytes of the call first, then fail (a short write). */
  partialBytes?: number;
}

function errnoError(code: string, op: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${op} '${path}'`), { code, syscall: op, path });
}

/**
 * A file system that fails on demand: the real one underneath, with
 * injected errors (a full disk, an I/O error) that tests switch on and off.
 * Later phases reuse it for their own disk-fault tests.
 */
export class FaultyFileSystem implements WalFileSystem {
  readonly #inner: WalFileSystem;
  #faults: Fault[] = [];
  /** Calls per operation, for tests that want to see what happened. */
  readonly calls = new Map<FaultOp, number>();

  constructor(inner: WalFileSystem = nodeFileSystem) {
    this.#inner = inner;
  }

  /** Adds a fault; returns a function that removes it. */
  inject(fault: Fault): () => void {
    const entry = { ...fault };
    this.#faults.push(entry);
    return () => {
      this.#faults = this.#faults.filter((f) => f !== entry);
    };
  }

  clear(): void {
    this.#faults = [];
  }

  /** Throws when a fault matches; returns the matching write fault for partial writes. */
  check(op: FaultOp, path: string): Fault | undefined {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    const fault = this.#faults.find((f) => f.op === op && (f.pathIncludes === undefined || path.includes(f.pathIncludes)));
    if (fault === undefined) return undefined;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) this.#faults = this.#faults.filter((f) => f !== fault);
    }
    if (op === 'write' && fault.partialBytes !== undefined) return fault;
    throw errnoError(fault.code, op, path);
  }

  async open(path: string, flags: 'r' | 'r+' | 'wx'): Promise<WalFile> {
    this.check('open', path);
    return new FaultyFile(this, path, await this.#inner.open(path, flags));
  }
  readFile(path: string): Promise<Buffer> {
    this.check('readFile', path);
    return this.#inner.readFile(path);
  }
  readdir(dir: string): Promise<string[]> {
    return this.#inner.readdir(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.#inner.mkdir(dir);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', to);
    await this.#inner.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    await this.#inner.unlink(path);
  }
  async syncDir(dir: string): Promise<void> {
    this.check('syncDir', dir);
    await this.#inner.syncDir(dir);
  }
}

class FaultyFile implements WalFile {
  readonly #fs: FaultyFileSystem;
  readonly #path: string;
  readonly #inner: WalFile;
  constructor(fs: FaultyFileSystem, path: string, inner: WalFile) {
    this.#fs = fs;
    this.#path = path;
    this.#inner = inner;
  }
  async write(bytes: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const fault = this.#fs.check('write', this.#path);
    if (fault?.partialBytes !== undefined) {
      const n = Math.min(fault.partialBytes, length);
      if (n > 0) await this.#inner.write(bytes, offset, n, position);
      throw errnoError(fault.code, 'write', this.#path);
    }
    return this.#inner.write(bytes, offset, length, position);
  }
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.#inner.read(into, offset, length, position);
  }
  async datasync(): Promise<void> {
    this.#fs.check('datasync', this.#path);
    await this.#inner.datasync();
  }
  async truncate(length: number): Promise<void> {
    this.#fs.check('truncate', this.#path);
    await this.#inner.truncate(length);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
