/**
 * The server's SCAN cursors. Kept on the server (ServerContext.cursors),
 * not in the cursor a client sees, because Redis clients treat a cursor as
 * an opaque decimal number.
 */
/**
 * SCAN cursors must be decimal numbers (redis-cli --scan parses them with
 * strtoull), so a cursor is an id into this map of "next key to return".
 * Bounded: the oldest cursors are forgotten, and a forgotten one is an
 * `ERR invalid cursor`, never a silent restart.
 */
export class ScanCursors {
  readonly #max: number;
  readonly #next = new Map<string, Buffer>();
  #lastId = 0;

  constructor(max: number) {
    this.#max = max;
  }

  save(nextKey: Buffer): string {
    if (this.#next.size >= this.#max) {
      const oldest = this.#next.keys().next();
      if (oldest.done !== true) this.#next.delete(oldest.value);
    }
    this.#lastId++;
    const id = String(this.#lastId);
    this.#next.set(id, nextKey);
    return id;
  }

  take(id: string): Buffer | undefined {
    const key = this.#next.get(id);
    if (key !== undefined) this.#next.delete(id);
    return key;
  }
}
