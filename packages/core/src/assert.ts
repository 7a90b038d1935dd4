/**
 * Programmer-error assertions. They stay on in production and are never
 * caught: a failed assertion means the code is wrong, not the input.
 * Operating errors (bad input, full disk) are `DistkvError`s instead.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new AssertionError(why);
}
