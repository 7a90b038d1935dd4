// Goal: @distkv/replication's message codec — what a node decodes from
// every peer frame — rejects garbage with MESSAGE_CORRUPT, never a crash,
// and never returns a message beyond its decode limits (entries, bytes).
// Method: fast-check over real encoded messages, mutated, and pure garbage.
import { decodeMessage, encodeMessage, type LogIndex, type Message, type NodeId, type Term } from '@distkv/replication';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectCoded, garbageOr, params } from './fuzz.js';

const limits = { entriesMax: 8, bytesMax: 256 };
const id = fc.constantFrom('n1', 'n2', 'node-three') as fc.Arbitrary<NodeId>;
const term = fc.integer({ min: 0, max: 2 ** 40 }) as fc.Arbitrary<Term>;
const index = fc.integer({ min: 0, max: 2 ** 40 }) as fc.Arbitrary<LogIndex>;
const payload = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
// What a correct peer sends (the codec refuses the rest, see validateMessage): a leader or candidate is past
// term 0, only index 0 has term 0, and no term a message names is beyond the message's own.
const leaderTerm = fc.integer({ min: 1, max: 2 ** 40 }) as fc.Arbitrary<Term>;
/** A term for `at` no later than `upTo`: 0 exactly for index 0. */
const termAt = (at: number, upTo: number, t: number): Term => (at === 0 ? 0 : 1 + (t % upTo)) as Term;

const message: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({
      from: id,
      to: id,
      term: leaderTerm,
      prevIndex: index,
      prevTerm: term,
      commit: index,
      payloads: fc.array(payload, { maxLength: 4 }),
    })
    .map(({ payloads, ...m }) => ({
      type: 'MsgApp' as const,
      ...m,
      prevTerm: termAt(m.prevIndex, m.term, m.prevTerm),
      entries: payloads.map((p, i) => ({ term: m.term, index: (m.prevIndex + 1 + i) as LogIndex, payload: p })),
    })),
  fc
    .record({
      type: fc.constant('MsgAppResp' as const),
      from: id,
      to: id,
      term,
      reject: fc.boolean(),
      index,
      hintIndex: index,
      hintTerm: term,
    })
    .map((m) => ({ ...m, hintTerm: (m.hintTerm % (m.term + 1)) as Term })),
  fc.record({ type: fc.constant('MsgHeartbeat' as const), from: id, to: id, term: leaderTerm, commit: index }),
  fc
    .record({
      type: fc.constant('MsgVote' as const),
      from: id,
      to: id,
      term: leaderTerm,
      lastIndex: index,
      lastTerm: term,
      transfer: fc.boolean(),
    })
    .map((m) => ({ ...m, lastTerm: termAt(m.lastIndex, m.term, m.lastTerm) })),
  fc
    .record({
      from: id,
      to: id,
      term: leaderTerm,
      meta: fc.record({ index: index.map((i) => Math.max(1, i) as LogIndex), term }),
      offset: fc.nat(1000),
      chunk: payload,
    })
    .map((m) => ({
      type: 'MsgSnap' as const,
      ...m,
      meta: { index: m.meta.index, term: termAt(m.meta.index, m.term, m.meta.term) },
      totalBytes: m.offset + m.chunk.length,
    })),
);

describe('fuzz @distkv/replication message codec', () => {
  it('real messages round-trip (the fuzzing starts from valid frames)', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m), limits)).toEqual(m);
      }),
      params(),
    );
  });

  it('mutated and garbage frames decode within limits or fail MESSAGE_CORRUPT', () => {
    fc.assert(
      fc.property(garbageOr(message.map((m) => encodeMessage(m))), (bytes) => {
        try {
          const m = decodeMessage(bytes, limits);
          if (m.type === 'MsgApp') {
            expect(m.entries.length).toBeLessThanOrEqual(limits.entriesMax);
            for (const e of m.entries) expect(e.payload.length).toBeLessThanOrEqual(limits.bytesMax);
          }
          if (m.type === 'MsgSnap') expect(m.chunk.length).toBeLessThanOrEqual(limits.bytesMax);
        } catch (err) {
          expectCoded(err, ['MESSAGE_CORRUPT']);
        }
      }),
      params(),
    );
  });
});
