// Goal: messages survive the wire exactly, and no damaged bytes decode into a message.
// Method: fast-check round trips of random messages; every truncation and random bit flips must raise MESSAGE_CORRUPT.
import { isDistkvError } from '@distkv/core';
import { decodeMessage, encodeMessage, type LogIndex, type Message, type NodeId, type Term } from '@distkv/replication';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const limits = { entriesMax: 64, bytesMax: 1024 };
const id = fc.constantFrom('1', '2', 'n3', 'node-four') as fc.Arbitrary<NodeId>;
const num = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const t = num as fc.Arbitrary<Term>;
const ix = fc.integer({ min: 0, max: 2 ** 40 }) as fc.Arbitrary<LogIndex>;
const bytes = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));

const anyMessage: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({
      from: id,
      to: id,
      term: t,
      prevIndex: ix,
      prevTerm: t,
      commit: ix,
      entries: fc.array(fc.tuple(t, bytes), { maxLength: 5 }),
    })
    .map(({ entries, ...m }) => ({
      type: 'MsgApp' as const,
      ...m,
      entries: entries.map(([et, payload], i) => ({ term: et, index: (m.prevIndex + 1 + i) as LogIndex, payload })),
    })),
  fc.record({
    type: fc.constant('MsgAppResp' as const),
    from: id,
    to: id,
    term: t,
    reject: fc.boolean(),
    index: ix,
    hintIndex: ix,
    hintTerm: t,
  }),
  fc.record({ type: fc.constant('MsgHeartbeat' as const), from: id, to: id, term: t, commit: ix }),
  fc.record({ type: fc.constant('MsgHeartbeatResp' as const), from: id, to: id, term: t }),
  fc
    .record({
      from: id,
      to: id,
      term: t,
      meta: fc.record({ index: ix, term: t }),
      offset: fc.nat(1000),
      extra: fc.nat(1000),
      chunk: bytes,
    })
    .map(({ extra, ...m }) => ({ type: 'MsgSnap' as const, ...m, totalBytes: m.offset + m.chunk.length + extra })),
  fc.record({
    type: fc.constant('MsgSnapResp' as const),
    from: id,
    to: id,
    term: t,
    meta: fc.record({ index: ix, term: t }),
    offset: fc.nat(),
    reject: fc.boolean(),
  }),
  // Phase 5: numbered heartbeat rounds, votes, pre-votes, TimeoutNow and policy messages.
  fc.record({ type: fc.constant('MsgHeartbeat' as const), from: id, to: id, term: t, commit: ix, seq: fc.integer({ min: 1 }) }),
  fc.record({ type: fc.constant('MsgHeartbeatResp' as const), from: id, to: id, term: t, seq: fc.integer({ min: 1 }) }),
  fc.record({
    type: fc.constantFrom('MsgVote' as const, 'MsgPreVote' as const),
    from: id,
    to: id,
    term: t,
    lastIndex: ix,
    lastTerm: t,
    transfer: fc.boolean(),
  }),
  fc.record({
    type: fc.constantFrom('MsgVoteResp' as const, 'MsgPreVoteResp' as const),
    from: id,
    to: id,
    term: t,
    reject: fc.boolean(),
  }),
  fc.record({ type: fc.constant('MsgTimeoutNow' as const), from: id, to: id, term: t }),
  fc.record({
    type: fc.constant('MsgPolicy' as const),
    from: id,
    to: id,
    term: t,
    kind: fc.constantFrom('election', 'answer', 'coordinator'),
  }),
);

/**
 * Moves the fields of a random message into what a correct peer can send
 * (see the codec's validateMessage): only index 0 has term 0, no term passes
 * the message's, entry terms never decrease, leaders and candidates are in
 * a term above 0. What the codec refuses is tested below.
 */
function sane(m: Message): Message {
  const term = Math.max(1, m.term) as Term;
  const termOf = (index: number, tt: number, min = 1): Term => (index === 0 ? 0 : Math.min(term, Math.max(min, tt))) as Term;
  switch (m.type) {
    case 'MsgApp': {
      const prevTerm = termOf(m.prevIndex, m.prevTerm);
      let prev: number = Math.max(1, prevTerm);
      const entries = m.entries.map((e) => {
        prev = Math.min(term, Math.max(prev, e.term));
        return { ...e, term: prev as Term };
      });
      return { ...m, term, prevTerm, entries };
    }
    case 'MsgHeartbeat':
      return { ...m, term };
    case 'MsgSnap': {
      const index = Math.max(1, m.meta.index) as LogIndex;
      return { ...m, term, meta: { index, term: termOf(index, m.meta.term) } };
    }
    case 'MsgSnapResp':
      return { ...m, term, meta: { index: m.meta.index, term: termOf(m.meta.index, m.meta.term) } };
    case 'MsgAppResp':
      return { ...m, term, hintTerm: Math.min(term, m.hintTerm) as Term };
    case 'MsgVote':
    case 'MsgPreVote':
      return { ...m, term, lastTerm: termOf(m.lastIndex, m.lastTerm) };
    default:
      return m;
  }
}
const message = anyMessage.map(sane);

function decodesToCorrupt(input: Uint8Array): boolean {
  try {
    decodeMessage(input, limits);
    return false;
  } catch (err) {
    return isDistkvError(err, 'MESSAGE_CORRUPT');
  }
}

describe('message codec', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m), limits)).toEqual(m);
      }),
    );
  });

  it('refuses every truncation', () => {
    fc.assert(
      fc.property(message, (m) => {
        const b = encodeMessage(m);
        for (let n = 0; n < b.length; n++) expect(decodesToCorrupt(b.subarray(0, n))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses flipped bits (the checksum)', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 7 }), (m, at, bit) => {
        const b = Buffer.from(encodeMessage(m));
        const i = at % b.length;
        b[i] = (b[i] as number) ^ (1 << bit);
        expect(decodesToCorrupt(b)).toBe(true);
      }),
    );
  });

  it('refuses more entries than the receiver allows', () => {
    const m: Message = {
      type: 'MsgApp',
      from: '1' as NodeId,
      to: '2' as NodeId,
      term: 1 as Term,
      prevIndex: 0 as LogIndex,
      prevTerm: 0 as Term,
      commit: 0 as LogIndex,
      entries: [1, 2, 3].map((i) => ({ term: 1 as Term, index: i as LogIndex, payload: Buffer.alloc(0) })),
    };
    expect(() => decodeMessage(encodeMessage(m), { entriesMax: 2, bytesMax: 10 })).toThrow(/MESSAGE_CORRUPT/);
  });

  it('refuses content no correct peer sends, naming the field', () => {
    const app = (entries: Array<[number, number]>, over: Partial<Message> = {}): Message =>
      ({
        type: 'MsgApp',
        from: '1' as NodeId,
        to: '2' as NodeId,
        term: 3 as Term,
        prevIndex: 4 as LogIndex,
        prevTerm: 2 as Term,
        commit: 0 as LogIndex,
        entries: entries.map(([et, i]) => ({ term: et as Term, index: i as LogIndex, payload: Buffer.alloc(0) })),
        ...over,
      }) as Message;
    const why = (m: Message): string => {
      try {
        decodeMessage(encodeMessage(m), limits);
        return 'accepted';
      } catch (err) {
        expect(isDistkvError(err, 'MESSAGE_CORRUPT')).toBe(true);
        return (err as Error).message;
      }
    };
    expect(
      why(
        app([
          [2, 5],
          [3, 6],
        ]),
      ),
    ).toBe('accepted');
    expect(
      why(
        app([
          [3, 5],
          [2, 6],
        ]),
      ),
    ).toMatch(/entry 6 has term 2 after term 3: terms never decrease/);
    expect(why(app([[1, 5]]))).toMatch(/entry 5 has term 1 after term 2/);
    expect(why(app([[4, 5]]))).toMatch(/entry 5 has term 4, beyond the leader's/);
    expect(why(app([], { prevTerm: 0 as Term }))).toMatch(/prev index 4 with term 0/);
    expect(why(app([], { term: 0 as Term }))).toMatch(/never in term 0/);
    const snap: Message = {
      type: 'MsgSnap',
      from: '1' as NodeId,
      to: '2' as NodeId,
      term: 2 as Term,
      meta: { index: 9 as LogIndex, term: 3 as Term },
      offset: 0,
      totalBytes: 0,
      chunk: Buffer.alloc(0),
    };
    expect(why(snap)).toMatch(/snapshot term 3 is beyond the message's term/);
    expect(why({ ...snap, meta: { index: 0 as LogIndex, term: 0 as Term } })).toMatch(/covers at least entry 1/);
    expect(
      why({
        type: 'MsgVote',
        from: '1' as NodeId,
        to: '2' as NodeId,
        term: 2 as Term,
        lastIndex: 3 as LogIndex,
        lastTerm: 5 as Term,
        transfer: false,
      }),
    ).toMatch(/last term 5 is beyond/);
  });
});
