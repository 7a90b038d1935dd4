// Goal: any sequence of commands, snapshots, restarts, truncations and torn tails recovers to the state of a model.
// Method: fast-check generates the sequences; the model is a plain array of entries (Wal) or of commands folded
// into an in-memory @distkv/core Store (DurableStore); every restart compares the two.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, commands, isDistkvError, Store } from '@distkv/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DurableStore, Wal } from '../src/index.js';
import { tempDir } from './helpers.js';

const walOp = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    count: fc.integer({ min: 1, max: 40 }),
    bytes: fc.integer({ min: 0, max: 300 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('compact' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('restart' as const) }),
);

describe('Wal against a model', () => {
  it('appends, truncations, compactions and restarts keep exactly the model entries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(walOp, { maxLength: 25 }), async (ops) => {
        const dir = tempDir();
        const open = () => Wal.open({ dir, limits: { segmentBytes: 4096 } });
        let wal = await open();
        const model: Buffer[] = []; // model[i] is entry i + 1
        let term = 0;
        const terms: number[] = [];
        const check = async () => {
          expect(wal.lastIndex).toBe(model.length);
          if (wal.lastIndex >= wal.firstIndex) {
            const entries = await wal.entries(wal.firstIndex, wal.lastIndex);
            for (const e of entries) {
              expect(e.payload.equals(model[e.index - 1] as Buffer)).toBe(true);
              expect(e.term).toBe(terms[e.index - 1]);
            }
          }
        };
        try {
          for (const op of ops) {
            if (op.kind === 'append') {
              term++;
              const acks = [];
              for (let i = 0; i < op.count; i++) {
                const payload = Buffer.alloc((op.bytes + i) % 301, model.length + 1);
                model.push(payload);
                terms.push(term);
                acks.push(wal.append({ payload, term }));
              }
              await Promise.all(acks);
            } else if (op.kind === 'truncate') {
              const low = wal.firstIndex - 1;
              const index = low + Math.floor(op.fraction * (model.length - low));
              await wal.truncateAfter(index);
              model.length = index;
              terms.length = index;
              term = Math.max(term, ...terms.slice(-1));
            } else if (op.kind === 'compact') {
              await wal.compact(Math.floor(op.fraction * model.length));
            } else {
              await wal.close();
              wal = await open();
            }
            await check();
          }
        } finally {
          await wal.close();
        }
      }),
      { numRuns: 100 },
    );
  });
});

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 20 }), fc.string({ maxLength: 30 })).map(([k, v]) => commands.put(`k${k}`, v)),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 20 }).map((k) => commands.del(`k${k}`)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: -5, max: 5 }))
      .map(([k, d]) => commands.incrBy(`k${k}`, d)),
  },
  { weight: 1, arbitrary: fc.constant(commands.clear()) },
);
const storeOp = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.array(commandArb, { minLength: 1, maxLength: 20 }).map((batch) => ({ kind: 'commands' as const, batch })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((bytes) => ({ kind: 'tear' as const, bytes })) },
);

describe('DurableStore against a model', () => {
  it('recovers to the model state after commands, snapshots, restarts and torn tails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(storeOp, { maxLength: 20 }), async (ops) => {
        const dir = tempDir();
        const open = () => DurableStore.open({ dir, segmentBytes: 4096, snapshotEveryEntries: 37 });
        let store = await open();
        const logged: Command[] = [];
        const modelAt = (count: number) => {
          const model = new Store();
          for (const command of logged.slice(0, count)) model.apply(command);
          return model.digest();
        };
        try {
          for (const op of ops) {
            if (op.kind === 'commands') {
              await Promise.all(op.batch.map((c) => store.execute(c)));
              logged.push(...op.batch);
              expect(store.store.digest()).toBe(modelAt(logged.length));
            } else if (op.kind === 'snapshot') {
              await store.snapshot();
            } else {
              await store.close();
              if (op.kind === 'tear') {
                // A torn last write: cut bytes off the end of the newest segment (never acknowledged in real life).
                const last = readdirSync(dir)
                  .filter((n) => n.endsWith('.wal'))
                  .sort()
                  .pop() as string;
                const bytes = readFileSync(join(dir, last));
                writeFileSync(join(dir, last), bytes.subarray(0, Math.max(27, bytes.length - op.bytes)));
              }
              try {
                store = await open();
              } catch (err) {
                // Only possible when the tear reached below the snapshot: the documented refusal.
                expect(op.kind).toBe('tear');
                expect(isDistkvError(err, 'WAL_CORRUPT')).toBe(true);
                return;
              }
              expect(store.lastIndex).toBeLessThanOrEqual(logged.length);
              logged.length = store.lastIndex;
              expect(store.store.digest()).toBe(modelAt(logged.length));
            }
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 100 },
    );
  });
});
