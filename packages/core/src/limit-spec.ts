/**
 * Limits as data. Each package declares its limits once, as a table: for
 * each name, its default and the range a user may set it to, with the doc
 * comment beside them. The type of the limits, the frozen defaults and the
 * function that checks a user's overrides all come from that one table, so
 * a limit cannot have a default without a range, or a range without a doc.
 */

/** One limit: the value used when none is given, and the range a user may set. */
export interface LimitSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** The limits a table declares, one number each; property docs carry over. */
export type LimitsOf<S> = { -readonly [K in keyof S]: number };

/** What `defineLimits` makes of a table. */
export interface DefinedLimits<T> {
  /** Every limit at its default, frozen. */
  readonly defaults: Readonly<T>;
  /** Merges `overrides` into the defaults, checks each against its range, and freezes the result. */
  resolve(overrides?: Partial<T>): Readonly<T>;
}

/**
 * Turns a limit table into its defaults and a resolver. A value must be a
 * safe integer from `min` to `max`; the first that is not throws
 * `fail(message)`, so each package answers with its own error code.
 */
// #region define-limits
export function defineLimits<S extends { readonly [name: string]: LimitSpec }>(
  table: S,
  fail: (message: string) => Error,
): DefinedLimits<LimitsOf<S>> {
  const specs = Object.entries(table) as Array<[keyof S & string, LimitSpec]>;
  const defaults = Object.freeze(Object.fromEntries(specs.map(([name, spec]) => [name, spec.default]))) as LimitsOf<S>;
  for (const [name, { default: value, min, max }] of specs) {
    if (!(min <= value && value <= max))
      throw new RangeError(`limit table: ${name}'s default ${value} is outside ${min}..${max}`);
  }
  return {
    defaults,
    resolve(overrides = {}) {
      const limits = { ...defaults, ...overrides };
      for (const [name, { min, max }] of specs) {
        const value = limits[name];
        if (!Number.isSafeInteger(value) || value < min || value > max) {
          throw fail(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
        }
      }
      return Object.freeze(limits);
    },
  };
}
// #endregion define-limits
