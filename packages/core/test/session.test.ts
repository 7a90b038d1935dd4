// Goal: client sessions (Raft dissertation §6.3) apply each numbered write at most once, deterministically,
// within their bounds, and survive snapshot and restore. Method: unit tests of each rule, then fast-check
// runs of numbered writes with retries, checked against "at most once" and against a replica that
// restarts from a snapshot midway.
import {
  type Command,
  type CommandResult,
  commands,
  crc32c,
  DistkvError,
  decodeCommand,
  encodeCommand,
  SNAPSHOT_VERSION,
  Store,
  type StoreLimits,
} from '@distkv/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function open(store: Store): number {
  const r = store.apply(commands.openSession());
  if (!r.ok || r.op !== 'openSession') throw new Error(`openSession failed: ${JSON.stringify(r)}`);
  return r.session;
}

const incr = (key: string): Command => commands.incrBy(key, 1);

function value(r: CommandResult): bigint | string {
  if (r.ok && r.op === 'incrBy') return r.value;
  return r.ok ? r.op : r.code;
}

async function reload(store: Store): Promise<Store> {
  const copy = new Store({ limits: store.limits });
  await copy.restore([...store.snapshot()]);
  return copy;
}

describe('§6.3 "If a server receives a command whose serial number has already been executed, it responds immediately without re-executing the request"', () => {
  it('applies a numbered write once and answers its retry with the first result', () => {
    const store = new Store();
    const id = open(store);
    expect(value(store.apply(commands.session(id, 1, incr('n'))))).toBe(1n);
    expect(value(store.apply(commands.session(id, 1, incr('n'))))).toBe(1n);
    expect(store.getString('n')).toBe('1');
    expect(value(store.apply(commands.session(id, 2, incr('n'))))).toBe(2n);
    expect(value(store.apply(commands.session(id, 1, incr('n'))))).toBe(1n);
    expect(store.getString('n')).toBe('2');
  });

  it('keeps a failed result too: a retry of a write that failed fails the same way', () => {
    const store = new Store();
    store.put('s', 'text');
    const id = open(store);
    const first = store.apply(commands.session(id, 1, incr('s')));
    expect(first).toMatchObject({ ok: false, code: 'NOT_INTEGER' });
    store.put('s', '5');
    expect(store.apply(commands.session(id, 1, incr('s')))).toEqual(first);
    expect(store.getString('s')).toBe('5');
  });

  it('gives sessions distinct ids that are never reused, and keeps them apart', () => {
    const store = new Store();
    const a = open(store);
    const b = open(store);
    expect(b).toBeGreaterThan(a);
    expect(value(store.apply(commands.session(a, 1, incr('n'))))).toBe(1n);
    expect(value(store.apply(commands.session(b, 1, incr('n'))))).toBe(2n);
    expect(store.sessionCount).toBe(2);
  });

  it('applies numbers that arrive out of order, each once', () => {
    const store = new Store();
    const id = open(store);
    expect(value(store.apply(commands.session(id, 3, incr('n'))))).toBe(1n);
    expect(value(store.apply(commands.session(id, 2, incr('n'))))).toBe(2n);
    expect(value(store.apply(commands.session(id, 3, incr('n'))))).toBe(1n);
    expect(store.getString('n')).toBe('2');
  });

  it('keeps sessions apart from the keys: FLUSHDB (clear) leaves them', () => {
    const store = new Store();
    const id = open(store);
    store.apply(commands.session(id, 1, incr('n')));
    store.apply(commands.clear());
    expect(value(store.apply(commands.session(id, 1, incr('n'))))).toBe(1n);
    expect(store.has('n')).toBe(false);
  });
});

describe('bounds: a retry the table can no longer judge gets a clear error, never a second apply', () => {
  it('evicts the least recently used session beyond sessionsMax; its writes get SESSION_EXPIRED', () => {
    const store = new Store({ limits: { sessionsMax: 2 } });
    const a = open(store);
    const b = open(store);
    store.apply(commands.session(a, 1, incr('a'))); // a is now the most recently used
    const c = open(store); // evicts b
    expect(store.sessionCount).toBe(2);
    const r = store.apply(commands.session(b, 1, incr('b')));
    expect(r).toMatchObject({ ok: false, op: 'session', code: 'SESSION_EXPIRED' });
    expect(store.has('b')).toBe(false);
    expect(value(store.apply(commands.session(a, 1, incr('a'))))).toBe(1n);
    expect(value(store.apply(commands.session(c, 1, incr('c'))))).toBe(1n);
  });

  it('answers an id that was never opened with SESSION_EXPIRED', () => {
    const store = new Store();
    expect(store.apply(commands.session(99, 1, incr('n')))).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(store.has('n')).toBe(false);
  });

  it('keeps the last sessionResultsMax results; an older number is SESSION_SEQ_TOO_OLD', () => {
    const store = new Store({ limits: { sessionResultsMax: 2 } });
    const id = open(store);
    for (const seq of [1, 2, 3]) store.apply(commands.session(id, seq, incr('n')));
    expect(store.apply(commands.session(id, 1, incr('n')))).toMatchObject({ ok: false, code: 'SESSION_SEQ_TOO_OLD' });
    expect(value(store.apply(commands.session(id, 2, incr('n'))))).toBe(2n);
    expect(value(store.apply(commands.session(id, 3, incr('n'))))).toBe(3n);
    expect(store.getString('n')).toBe('3');
  });

  it('does not keep a result above sessionResultBytesMax: the write applied once, its retry says so', () => {
    const store = new Store({ limits: { sessionResultBytesMax: 64 } });
    store.put('k', 'x'.repeat(500));
    const id = open(store);
    const first = store.apply(commands.session(id, 1, commands.put('k', 'y', { returnPrevious: true })));
    expect(first).toMatchObject({ ok: true, op: 'put', written: true });
    const retry = store.apply(commands.session(id, 1, commands.put('k', 'y', { returnPrevious: true })));
    expect(retry).toMatchObject({ ok: false, code: 'SESSION_RESULT_TOO_LARGE' });
    expect(store.getString('k')).toBe('y');
  });

  it('refuses bad ids and nested session commands when they are built and when they are decoded', () => {
    expect(() => commands.session(0, 1, incr('n'))).toThrow(/SESSION_INVALID/);
    expect(() => commands.session(1, 1.5, incr('n'))).toThrow(/SESSION_INVALID/);
    expect(() => commands.session(1, 1, commands.openSession())).toThrow(/SESSION_INVALID/);
    const nested = encodeCommand(commands.session(1, 1, incr('n')));
    // Hand-build a session command that wraps a session command: the decoder refuses it.
    const outer = Buffer.concat([Buffer.from([1, 8]), Buffer.alloc(16), Buffer.alloc(4), nested]);
    outer.writeBigUInt64LE(1n, 2);
    outer.writeBigUInt64LE(1n, 10);
    outer.writeUInt32LE(nested.length, 18);
    expect(() => decodeCommand(outer)).toThrow(/COMMAND_CORRUPT.*wraps session/);
    const store = new Store();
    const forged = { op: 'session', session: 1, seq: 1, command: { op: 'openSession' } } as Command;
    expect(store.apply(forged)).toMatchObject({ ok: false, code: 'SESSION_INVALID' });
  });

  it('round-trips session commands through the codec', () => {
    for (const c of [commands.openSession(), commands.session(2 ** 53 - 1, 7, commands.mput([['a', 'b']]))]) {
      expect(decodeCommand(encodeCommand(c))).toEqual(c);
    }
  });
});

describe('sessions are replicated state: snapshots carry them', () => {
  it('restores the table: a retry after restore returns the first result, and new ids continue', async () => {
    const store = new Store();
    const a = open(store);
    store.apply(commands.session(a, 1, commands.put('k', 'v', { returnPrevious: true })));
    store.apply(commands.session(a, 2, incr('n')));
    const copy = await reload(store);
    expect(copy.digest()).toBe(store.digest());
    expect(copy.apply(commands.session(a, 2, incr('n')))).toEqual(store.apply(commands.session(a, 2, incr('n'))));
    for (const s of [copy, store]) {
      expect(s.apply(commands.session(a, 1, commands.put('k', 'w')))).toMatchObject({ ok: true, previous: null });
      expect(s.getString('k')).toBe('v');
      expect(s.getString('n')).toBe('1');
    }
    expect(open(copy)).toBe(open(store));
  });

  it('writes format version 2 and still restores version 1 snapshots (no sessions)', async () => {
    const store = new Store();
    store.put('a', '1');
    const v2 = Buffer.concat([...store.snapshot()]);
    expect(SNAPSHOT_VERSION).toBe(2);
    expect(v2.readUInt16LE(8)).toBe(2);
    const v1 = Buffer.from(v2);
    v1.writeUInt16LE(1, 8);
    v1.writeUInt32LE(crc32c(v1, 0, 0, 12), 12);
    const restored = new Store();
    await restored.restore([v1]);
    expect(restored.getString('a')).toBe('1');
    expect(restored.sessionCount).toBe(0);
  });

  it('refuses session blocks in a version 1 snapshot and a table larger than the limits allow', async () => {
    const store = new Store();
    open(store);
    open(store);
    const v2 = Buffer.concat([...store.snapshot()]);
    const v1 = Buffer.from(v2);
    v1.writeUInt16LE(1, 8);
    v1.writeUInt32LE(crc32c(v1, 0, 0, 12), 12);
    await expect(new Store().restore([v1])).rejects.toThrow(/SNAPSHOT_CORRUPT.*no session blocks/);
    const small = new Store({ limits: { sessionsMax: 1 } });
    await expect(small.restore([v2])).rejects.toThrow(/SNAPSHOT_CORRUPT.*sessionsMax/);
    expect(small.sessionCount).toBe(0);
  });

  it('counts sessions in the digest, so replicas that disagree on them differ', () => {
    const a = new Store();
    const b = new Store();
    expect(a.digest()).toBe(b.digest());
    open(a);
    expect(a.digest()).not.toBe(b.digest());
    open(b);
    expect(a.digest()).toBe(b.digest());
  });
});

/** A client's numbered write, possibly a retry: session index (into those opened), seq, key. */
type Step = { kind: 'open' } | { kind: 'write'; session: number; seq: number; key: string; delta: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'open' as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      session: fc.nat(5),
      seq: fc.integer({ min: 1, max: 12 }),
      key: fc.constantFrom('a', 'b'),
      delta: fc.integer({ min: 1, max: 9 }),
    }),
  },
);

const smallLimits: Partial<StoreLimits> = { sessionsMax: 3, sessionResultsMax: 4 };

describe('properties over random numbered writes with retries', () => {
  it('never applies a (session, seq) twice: each answer is the first one or a session error', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const store = new Store({ limits: smallLimits });
        const ids: number[] = [];
        const first = new Map<string, CommandResult>();
        const expected = new Map<string, bigint>();
        for (const s of steps) {
          if (s.kind === 'open') {
            ids.push(open(store));
            continue;
          }
          const id = ids[s.session % Math.max(1, ids.length)] ?? 1;
          const r = store.apply(commands.session(id, s.seq, commands.incrBy(s.key, s.delta)));
          const tag = `${id}/${s.seq}`;
          const before = first.get(tag);
          if (before !== undefined) {
            // A retry: the same answer, or an error saying the table can no longer judge it.
            if (r.ok || !['SESSION_EXPIRED', 'SESSION_SEQ_TOO_OLD'].includes(r.code)) expect(r).toEqual(before);
          } else if (r.ok) {
            first.set(tag, r);
            expected.set(s.key, (expected.get(s.key) ?? 0n) + BigInt(s.delta));
          } else {
            expect(['SESSION_EXPIRED', 'SESSION_SEQ_TOO_OLD']).toContain(r.code);
          }
        }
        for (const key of ['a', 'b']) expect(store.getString(key) ?? '0').toBe(String(expected.get(key) ?? 0n));
        expect(store.sessionCount).toBeLessThanOrEqual(3);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: a replica restored from a snapshot midway answers and ends exactly the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 80 }), fc.nat(80), async (steps, cut) => {
        const run = (store: Store, s: Step, ids: number[]): CommandResult => {
          if (s.kind === 'open') {
            const r = store.apply(commands.openSession());
            if (r.ok && r.op === 'openSession') ids.push(r.session);
            return r;
          }
          const id = ids[s.session % Math.max(1, ids.length)] ?? 1;
          return store.apply(commands.session(id, s.seq, commands.incrBy(s.key, s.delta)));
        };
        const a = new Store({ limits: smallLimits });
        let b = new Store({ limits: smallLimits });
        const idsA: number[] = [];
        const idsB: number[] = [];
        for (const [i, s] of steps.entries()) {
          if (i === cut) b = await reload(b);
          expect(run(b, s, idsB)).toEqual(run(a, s, idsA));
        }
        expect(b.digest()).toBe(a.digest());
      }),
      { numRuns: 150 },
    );
  });
});

// Small enough that a few sessions with big results cross it: one session's worst case is
// 20 + sessionResultsMax * (12 + max(sessionResultBytesMax, 1024)) = 20 + 4 * 1036 = 4164 bytes.
const byteLimits: Partial<StoreLimits> = {
  sessionsMax: 50,
  sessionResultsMax: 4,
  sessionResultBytesMax: 1024,
  sessionTableBytesMax: 8192,
};

describe('bounds in bytes: sessionTableBytesMax caps the table, whatever the counts allow', () => {
  it('refuses a byte bound that one full session would not fit in', () => {
    expect(() => new Store({ limits: { ...byteLimits, sessionTableBytesMax: 4163 } })).toThrow(
      /STORE_LIMIT_INVALID.*sessionTableBytesMax/,
    );
    expect(new Store({ limits: { ...byteLimits, sessionTableBytesMax: 4164 } }).limits.sessionTableBytesMax).toBe(4164);
  });

  it('evicts the least recently used sessions when kept results cross the byte bound; their writes get SESSION_EXPIRED', () => {
    const store = new Store({ limits: byteLimits });
    store.put('big', 'v'.repeat(700)); // a SET ... GET of it keeps a result of about 1 KiB
    const a = open(store);
    const b = open(store);
    const c = open(store);
    for (const id of [a, b, c]) {
      for (const seq of [1, 2, 3])
        store.apply(commands.session(id, seq, commands.put('big', 'v'.repeat(700), { returnPrevious: true })));
    }
    // Three sessions of ~3 KiB each do not fit in 8 KiB: a, used least recently, is gone.
    expect(store.sessionTableBytes).toBeLessThanOrEqual(8192);
    expect(store.sessionCount).toBe(2);
    expect(store.apply(commands.session(a, 4, incr('n')))).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(store.has('n')).toBe(false);
    expect(store.apply(commands.session(c, 1, commands.put('big', 'w')))).toMatchObject({ ok: true, op: 'put' });
  });

  it('counts exactly what a snapshot holds, and a restore keeps the count', async () => {
    const store = new Store({ limits: byteLimits });
    const id = open(store);
    const result = store.apply(commands.session(id, 1, incr('n')));
    // A session block: a 20-byte head, then per result a 12-byte head and its JSON.
    expect(store.sessionTableBytes).toBe(
      20 + 12 + Buffer.byteLength(JSON.stringify({ ok: true, op: 'incrBy', value: { n: '1' } })),
    );
    expect(result).toMatchObject({ ok: true, value: 1n });
    const restored = await reload(store);
    expect(restored.sessionTableBytes).toBe(store.sessionTableBytes);
  });

  it('never holds more than sessionTableBytesMax bytes, and never applies a (session, seq) twice', () => {
    const sized = fc.oneof(
      { weight: 1, arbitrary: fc.constant({ kind: 'open' as const }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('write' as const),
          session: fc.nat(40),
          seq: fc.integer({ min: 1, max: 8 }),
          valueBytes: fc.integer({ min: 0, max: 1100 }),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(sized, { maxLength: 150 }), (steps) => {
        const store = new Store({ limits: byteLimits });
        const ids: number[] = [];
        const first = new Map<string, CommandResult>();
        let writes = 0;
        for (const s of steps) {
          if (s.kind === 'open') ids.push(open(store));
          else {
            const id = ids[s.session % Math.max(1, ids.length)] ?? 1;
            const r = store.apply(
              commands.session(id, s.seq, commands.put('k', 'x'.repeat(s.valueBytes), { returnPrevious: true })),
            );
            const tag = `${id}/${s.seq}`;
            const before = first.get(tag);
            if (before !== undefined) {
              if (r.ok || !['SESSION_EXPIRED', 'SESSION_SEQ_TOO_OLD', 'SESSION_RESULT_TOO_LARGE'].includes(r.code))
                expect(r).toEqual(before);
            } else if (r.ok) {
              first.set(tag, r);
              writes++;
            }
          }
          expect(store.sessionTableBytes).toBeLessThanOrEqual(8192);
        }
        expect(writes).toBeLessThanOrEqual(steps.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('errors', () => {
  it('reports session errors as values with codes from coreErrorCodes', async () => {
    const { coreErrorCodes } = await import('@distkv/core');
    for (const code of ['SESSION_INVALID', 'SESSION_EXPIRED', 'SESSION_SEQ_TOO_OLD', 'SESSION_RESULT_TOO_LARGE']) {
      expect(code in coreErrorCodes).toBe(true);
    }
    expect(new DistkvError('SESSION_EXPIRED', 'x').definite).toBe(true);
  });
});
