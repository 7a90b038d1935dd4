// Goal: the linearizability checker accepts every linearizable history and
// rejects known-bad ones with a small counterexample. Method: hand-written
// histories for each classic anomaly, and fast-check histories produced by
// a real atomic register with random overlapping timings (always
// linearizable), then corrupted by one changed read (never linearizable).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkHistory, explain, type Operation } from './checker.js';

let client = 0;
function op(kind: Operation['kind'], callMs: number, returnMs: number, fields: Partial<Operation> = {}): Operation {
  return { client: client++, key: 'x', kind, status: 'ok', callMs, returnMs, ...fields };
}
const w = (v: string, call: number, ret: number, extra: Partial<Operation> = {}) =>
  op('write', call, ret, { value: v, ...extra });
const r = (v: string | null, call: number, ret: number) => op('read', call, ret, { output: v });

describe('checker: known-good histories', () => {
  it('accepts a sequential history', () => {
    expect(checkHistory([w('1', 0, 1), r('1', 2, 3), w('2', 4, 5), r('2', 6, 7)]).linearizable).toBe(true);
  });

  it('accepts a read concurrent with a write seeing either value', () => {
    expect(checkHistory([w('1', 0, 1), w('2', 2, 10), r('1', 3, 4), r('2', 5, 6)]).linearizable).toBe(true);
  });

  it('accepts an unknown write whether or not it happened', () => {
    const unknown = w('2', 2, 3, { status: 'info' });
    expect(checkHistory([w('1', 0, 1), unknown, r('1', 20, 21)]).linearizable).toBe(true);
    expect(checkHistory([w('1', 0, 1), unknown, r('2', 20, 21)]).linearizable).toBe(true);
    // ... and even when it takes effect long after its client gave up on it
    expect(checkHistory([w('1', 0, 1), unknown, r('1', 20, 21), r('2', 30, 31)]).linearizable).toBe(true);
  });

  it('ignores failed operations: they did not happen', () => {
    expect(checkHistory([w('1', 0, 1), w('2', 2, 3, { status: 'fail' }), r('1', 4, 5)]).linearizable).toBe(true);
  });

  it('checks compare-and-set against the register', () => {
    const h = [
      w('a', 0, 1),
      op('cas', 2, 3, { expected: 'a', value: 'b', output: true }),
      op('cas', 4, 5, { expected: 'a', value: 'c', output: false }),
      r('b', 6, 7),
    ];
    expect(checkHistory(h).linearizable).toBe(true);
  });

  it('treats keys independently', () => {
    const h = [w('1', 0, 1), { ...w('9', 0, 1), key: 'y' }, r('1', 2, 3), { ...r('9', 2, 3), key: 'y' }];
    expect(checkHistory(h).keys.map((k) => k.linearizable)).toEqual([true, true]);
  });
});

describe('checker: known-bad histories', () => {
  it('rejects a stale read after a write completed', () => {
    const v = checkHistory([w('1', 0, 1), w('2', 2, 3), r('1', 4, 5)]);
    expect(v.linearizable).toBe(false);
    // Minimal: without write 1, "write 2 then read 1" already fails on its own.
    expect(v.keys[0]?.counterexample?.map((o) => `${o.kind}:${o.value ?? o.output}`)).toEqual(['write:2', 'read:1']);
  });

  it('rejects a lost acknowledged write (read of the initial value)', () => {
    expect(checkHistory([w('1', 0, 1), r(null, 2, 3)]).linearizable).toBe(false);
  });

  it('rejects reads that go back in time', () => {
    expect(checkHistory([w('1', 0, 1), w('2', 2, 20), r('2', 3, 4), r('1', 5, 6)]).linearizable).toBe(false);
  });

  it('rejects a CAS that claims success against the wrong value', () => {
    expect(checkHistory([w('a', 0, 1), op('cas', 2, 3, { expected: 'z', value: 'b', output: true })]).linearizable).toBe(false);
  });

  it('rejects a failed CAS when the value did match', () => {
    expect(checkHistory([w('a', 0, 1), op('cas', 2, 3, { expected: 'a', value: 'b', output: false })]).linearizable).toBe(false);
  });

  it('shrinks the counterexample to the ops that matter and explains it', () => {
    const noise = Array.from({ length: 30 }, (_, i) => r('0', 100 + i * 2, 101 + i * 2));
    const v = checkHistory([w('0', 0, 1), ...noise, w('1', 200, 201), r('0', 202, 203)]);
    expect(v.linearizable).toBe(false);
    expect(v.keys[0]?.counterexample?.map((o) => o.kind)).toEqual(['write', 'read']);
    expect(explain(v)).toContain('NOT linearizable');
  });
});

/** A real atomic register: each op takes effect at one random instant inside [call, return]. */
const history = fc
  .array(
    fc.record({
      kind: fc.constantFrom('read', 'write', 'delete', 'cas' as const),
      key: fc.constantFrom('a', 'b'),
      start: fc.integer({ min: 0, max: 1000 }),
      length: fc.integer({ min: 1, max: 60 }),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      value: fc.constantFrom('1', '2', '3'),
      expected: fc.constantFrom('1', '2', null),
      unknown: fc.boolean(),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((specs) => {
    const effects = specs
      .map((s, i) => ({ ...s, i, effectMs: s.start + s.at * s.length }))
      .sort((a, b) => a.effectMs - b.effectMs);
    const state = new Map<string, string | null>();
    const ops: Operation[] = [];
    for (const s of effects) {
      const current = state.get(s.key) ?? null;
      const base = { client: s.i, key: s.key, callMs: s.start, returnMs: s.start + s.length, status: 'ok' as const };
      if (s.kind === 'read') ops.push({ ...base, kind: 'read', output: current });
      else if (s.kind === 'write') {
        state.set(s.key, s.value);
        ops.push({ ...base, kind: 'write', value: s.value, status: s.unknown ? 'info' : 'ok' });
      } else if (s.kind === 'delete') {
        state.set(s.key, null);
        ops.push({ ...base, kind: 'delete' });
      } else {
        const swapped = current === s.expected;
        if (swapped) state.set(s.key, s.value);
        ops.push({ ...base, kind: 'cas', expected: s.expected, value: s.value, output: swapped });
      }
    }
    return ops;
  });

describe('checker: generated histories', () => {
  it('accepts every history of a real atomic register', () => {
    fc.assert(
      fc.property(history, (ops) => {
        const v = checkHistory(ops);
        if (v.linearizable !== true) throw new Error(explain(v));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a history where one read returns a value never written', () => {
    fc.assert(
      fc.property(history, fc.nat(), (ops, pick) => {
        const reads = ops.filter((o) => o.kind === 'read');
        fc.pre(reads.length > 0);
        const victim = reads[pick % reads.length] as Operation;
        victim.output = 'never-written';
        expect(checkHistory(ops).linearizable).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
