/**
 * Where the frames of a peer connection begin and end, followed byte by
 * byte without buffering them, so that the inbound gate (peer-auth.ts) can
 * time out a frame that stays half-received (slow-loris on the peer port)
 * while FramedConnection does the actual parsing.
 */
/** Follows frame boundaries (4-byte length, then the body) to tell whether a frame is half-received. */
export class FrameBoundary {
  #headerLeft = 4;
  #header = 0;
  #bodyLeft = 0;

  /** Feeds a chunk; true when it ends inside a frame. */
  push(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= take;
        i += take;
        if (this.#bodyLeft === 0) this.#headerLeft = 4;
        continue;
      }
      this.#header = (this.#header * 256 + (chunk[i] as number)) % 2 ** 32;
      this.#headerLeft--;
      i++;
      if (this.#headerLeft === 0) {
        this.#bodyLeft = this.#header;
        this.#header = 0;
        this.#headerLeft = this.#bodyLeft === 0 ? 4 : 0;
      }
    }
    return this.#headerLeft !== 4 || this.#bodyLeft > 0;
  }
}
