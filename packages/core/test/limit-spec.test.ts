import { describe, expect, it } from 'vitest';
import { defineLimits } from '../src/limit-spec.js';

const fail = (message: string): Error => new Error(`LIMIT: ${message}`);

describe('defineLimits', () => {
  const table = {
    itemsMax: { default: 10, min: 1, max: 100 },
    waitMs: { default: 0, min: 0, max: 1000 },
  } as const;
  const limits = defineLimits(table, fail);

  it('derives frozen defaults from the table', () => {
    expect(limits.defaults).toEqual({ itemsMax: 10, waitMs: 0 });
    expect(Object.isFrozen(limits.defaults)).toBe(true);
  });

  it('merges overrides and freezes the result, leaving the defaults alone', () => {
    const resolved = limits.resolve({ itemsMax: 100 });
    expect(resolved).toEqual({ itemsMax: 100, waitMs: 0 });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(limits.defaults.itemsMax).toBe(10);
  });

  it("refuses a value outside its range, or not a safe integer, with the package's error", () => {
    expect(() => limits.resolve({ itemsMax: 0 })).toThrow('LIMIT: itemsMax must be an integer from 1 to 100, got 0');
    expect(() => limits.resolve({ waitMs: 1001 })).toThrow('LIMIT: waitMs must be an integer from 0 to 1000, got 1001');
    expect(() => limits.resolve({ itemsMax: 2.5 })).toThrow('LIMIT: itemsMax must be an integer from 1 to 100, got 2.5');
    expect(() => limits.resolve({ itemsMax: Number.NaN })).toThrow('got NaN');
  });

  it('refuses a table whose default lies outside its own range', () => {
    expect(() => defineLimits({ bad: { default: 5, min: 6, max: 9 } }, fail)).toThrow(
      "limit table: bad's default 5 is outside 6..9",
    );
  });
});
