// Goal: the unstable+stable log always reads as one log, whatever mix of appends, truncations and persists.
// Method: fast-check drives RaftLog and MemoryStorage with random operations and compares with an array model.
import { type Entry, type LogIndex, MemoryStorage, RaftLog, type Term } from '@distkv/replication';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Op = { kind: 'append'; at: number; terms: number[] } | { kind: 'persist' } | { kind: 'commit'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    at: fc.nat(30),
    terms: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({ kind: fc.constant('persist' as const) }),
  fc.record({ kind: fc.constant('commit' as const), at: fc.nat(30) }),
);

describe('§5.3 RaftLog: unstable tail over stable storage', () => {
  it('reads the same as a plain array of entries after any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const storage = new MemoryStorage();
        const log = new RaftLog(storage, 0 as LogIndex, 0 as LogIndex);
        let model: Entry[] = [];
        let committed = 0;
        for (const o of ops) {
          if (o.kind === 'append') {
            // Truncate-and-append above the commit index, like a follower taking a leader's entries.
            const first = Math.min(Math.max(o.at, committed) + 1, model.length + 1);
            let t = first > 1 ? (model[first - 2]?.term ?? 1) : 1;
            const entries = o.terms.map((dt, i) => {
              t = Math.max(t, dt);
              return { term: t as Term, index: (first + i) as LogIndex, payload: Buffer.from([first + i]) };
            });
            log.append(entries);
            model = model.slice(0, first - 1).concat(entries);
          } else if (o.kind === 'persist') {
            const unstable = [...log.unstableEntries];
            storage.append(unstable);
            const last = unstable[unstable.length - 1];
            if (last !== undefined) log.stableTo(last.index, last.term);
            expect(log.unstableEntries).toEqual([]);
          } else {
            const at = Math.min(o.at, model.length);
            log.commitTo(at as LogIndex);
            committed = Math.max(committed, at);
          }
          expect(log.lastIndex()).toBe(model.length);
          for (const m of model) expect(log.term(m.index)).toBe(m.term);
          if (model.length > 0) {
            expect(log.slice(1 as LogIndex, (model.length + 1) as LogIndex, 1000, 1 << 20)).toEqual(model);
          }
          expect(log.committed).toBe(committed);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('findConflictByTerm returns the last index at or below `index` whose term is at most `term`', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
        fc.nat(25),
        fc.integer({ min: 0, max: 6 }),
        (steps, at, t) => {
          const storage = new MemoryStorage();
          let term = 1;
          const entries: Entry[] = [];
          for (const [i, d] of steps.entries()) {
            term += d;
            entries.push({ term: term as Term, index: (i + 1) as LogIndex, payload: new Uint8Array(0) });
          }
          storage.append(entries);
          const log = new RaftLog(storage, 0 as LogIndex, 0 as LogIndex);
          const index = Math.min(at, steps.length) as LogIndex;
          const got = log.findConflictByTerm(index, t as Term);
          let want = index as number;
          while (want > 0 && (storage.term(want as LogIndex) as number) > t) want--;
          expect(got).toBe(want);
        },
      ),
    );
  });
});
