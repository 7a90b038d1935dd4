import { type Command, type CommandResult, Store, type StoreOptions } from '@distkv/core';
import type { KvBackend } from '../backend.js';

/**
 * A `KvBackend` without a disk: `execute` applies at once and resolves on
 * the next microtask, in submission order. For tests and examples; the
 * `delayMs` option imitates a slow fsync so ordering bugs show.
 */
export class MemoryBackend implements KvBackend {
  readonly store: Store;
  readonly #delayMs: number;
  #executed = 0;

  constructor(options: StoreOptions & { delayMs?: number } = {}) {
    this.store = new Store(options.limits === undefined ? {} : { limits: options.limits });
    this.#delayMs = options.delayMs ?? 0;
  }

  /** How many commands were executed (applied). */
  get executedCount(): number {
    return this.#executed;
  }

  async execute(command: Command): Promise<CommandResult> {
    if (this.#delayMs > 0) {
      // Applying after the delay keeps submission order: timers of equal delay fire in order.
      await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    }
    this.#executed++;
    return this.store.apply(command);
  }

  async flush(): Promise<void> {}
}
