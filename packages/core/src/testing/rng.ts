/** A source of uniform numbers in [0, 1), like `Math.random`, but replayable. */
export type TestRng = () => number;

/**
 * mulberry32: a small seeded PRNG, so a failing case replays from its seed
 * (print the seed with the failure). Not for anything but tests and
 * simulations: 32 bits of state.
 */
export function mulberry32(seed: number): TestRng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
