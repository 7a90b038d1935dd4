import type { Command, CommandResult, Store } from '@distkv/core';

/**
 * What the server needs from the layer below: reads from an in-memory
 * `Store`, writes through `execute`. `@distkv/wal`'s `DurableStore` fits
 * as is; so does `MemoryBackend` (src/testing) for tests without a disk,
 * and later a replicated node whose `execute` resolves on commit.
 */
// #region backend
export interface KvBackend {
  /** Reads go here directly; they never wait for the log. Read on every request: a replica may swap it (snapshot install). */
  readonly store: Store;
  /** Resolves once the command is durable (per the backend's policy) and applied, in submission order. */
  execute(command: Command): Promise<CommandResult>;
  /** Called on graceful shutdown, after the last reply was sent. */
  flush?(): Promise<void>;
  /** The `# Replication` section of INFO; a single node reports `role:master`. */
  replicationInfo?(): Record<string, string | number>;
  // #pause backend
  /**
   * Called before each read (GET, MGET, EXISTS, SCAN, KEYS, DBSIZE, and the
   * line protocol's GET, SCAN, SIZE). `undefined`: read `store` now. A
   * promise: read once it resolves (a replica confirmed that its applied
   * state holds every acknowledged write); a rejection is sent like a
   * failed write's.
   */
  readBarrier?(): Promise<void> | undefined;
  // #resume backend
}
// #endregion backend

// #region error-prefixes
/**
 * A rejection from `execute` whose `code` is one of these is sent as
 * `-CODE message`, the way Redis names the kind of an error in its first
 * word (`-TRYAGAIN`, `-TIMEOUT`); any other as `-ERR message`.
 */
export const respErrorPrefixes: ReadonlySet<string> = new Set(['TRYAGAIN', 'TIMEOUT', 'NOT_LEADER']);
// #endregion error-prefixes
