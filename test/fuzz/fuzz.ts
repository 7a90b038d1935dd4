/**
 * Shared pieces of the decoder fuzz tests: how many runs (DISTKV_FUZZ_RUNS, set
 * high by `pnpm fuzz`), byte mutations of valid inputs, and the one rule
 * every decoder must follow on garbage — fail with a clear, coded error,
 * never a TypeError, RangeError or any other crash.
 */
import { isDistkvError } from '@distkv/core';
import fc from 'fast-check';

/** Runs per property: modest in CI, `pnpm fuzz` raises it (DISTKV_FUZZ_RUNS=n). */
export const numRuns = (() => {
  const n = Number(process.env.DISTKV_FUZZ_RUNS ?? '200');
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`DISTKV_FUZZ_RUNS must be a positive integer, got ${process.env.DISTKV_FUZZ_RUNS}`);
  return n;
})();

/** fast-check parameters: DISTKV_FUZZ_SEED replays a failure fast-check reported. */
export const params = (): fc.Parameters<unknown> => ({
  numRuns,
  ...(process.env.DISTKV_FUZZ_SEED === undefined ? {} : { seed: Number(process.env.DISTKV_FUZZ_SEED) }),
});

type Mutation = { at: number; kind: 'flip' | 'set' | 'cut' | 'insert' | 'delete'; byte: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'set', 'cut', 'insert', 'delete'),
  byte: fc.integer({ min: 0, max: 255 }),
  len: fc.integer({ min: 1, max: 16 }),
});

function apply(input: Buffer, m: Mutation): Buffer {
  if (input.length === 0) return m.kind === 'insert' ? Buffer.from([m.byte]) : input;
  const at = m.at % input.length;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(input);
      out[at] = (out[at] as number) ^ (1 << (m.byte & 7));
      return out;
    }
    case 'set': {
      const out = Buffer.from(input);
      out[at] = m.byte;
      return out;
    }
    case 'cut':
      return input.subarray(0, at);
    case 'insert':
      return Buffer.concat([input.subarray(0, at), Buffer.alloc(m.len, m.byte), input.subarray(at)]);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + m.len)]);
  }
}

/** A valid input from `valid`, then 1..4 random mutations: the bytes a decoder meets on a bad disk or a hostile peer. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([input, ms]) => ms.reduce((b, m) => apply(b, m), input));
}

/** Pure garbage, and garbage glued to valid bytes. */
export function garbageOr(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const junk = fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b));
  return fc.oneof(
    junk,
    mutated(valid),
    fc.tuple(valid, junk).map(([v, j]) => Buffer.concat([v, j])),
  );
}

/** Splits bytes into chunks at the given cut points: decoders must not care how bytes arrive. */
export function chunked(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (input.length === 0 ? 0 : c % input.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) out.push(input.subarray(last, p));
    last = Math.max(last, p);
  }
  out.push(input.subarray(last));
  return out;
}

/**
 * Rethrows anything that is not a coded DistkvError among `codes` (or, when
 * `other` accepts it, the decoder's own documented error type).
 */
export function expectCoded(err: unknown, codes: readonly string[], other: (e: unknown) => boolean = () => false): void {
  if (other(err)) return;
  if (err instanceof TypeError || err instanceof RangeError) throw err;
  if (!isDistkvError(err) || !codes.includes(err.code)) throw err;
}
