import type { Command, CommandResult, Store } from '@distkv/core';

/**
 * What the server needs from the layer below: reads from an in-memory
 * `Store`, writes through `execute`. `@distkv/wal`'s `DurableStore` fits
 * as is; so does `MemoryBackend` (src/testing) for tests without a disk,
 * and later a replicated node whose `execute` resolves on commit.
 */
// #region backend
export interface KvBackend {
  /** Reads go here directly; they never wait for the log. */
  readonly store: Store;
  /** Resolves once the command is durable (per the backend's policy) and applied, in submission order. */
  execute(command: Command): Promise<CommandResult>;
  /** Called on graceful shutdown, after the last reply was sent. */
  flush?(): Promise<void>;
}
// #endregion backend
