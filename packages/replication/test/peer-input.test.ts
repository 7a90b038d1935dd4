// Goal: whatever a peer sends, once it decodes it cannot trip an assertion in RaftNode.step or leave a log whose terms go back (what made the WAL assert and the node fail-stop after every restart, issue 17 item 6).
// Method: fast-check sequences of arbitrary messages, encoded and decoded as on the wire (MESSAGE_CORRUPT ones refused), stepped into a follower and a leader carried by a minimal in-memory driver; after each step the log's terms must not decrease and must not pass the node's term.
import { isDistkvError } from '@distkv/core';
import {
  decodeMessage,
  type Entry,
  encodeMessage,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  RaftNode,
  type Term,
} from '@distkv/replication';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const voters = ['1', '2', '3'] as NodeId[];
const decodeLimits = { entriesMax: 8, bytesMax: 64 };

const small = fc.integer({ min: 0, max: 12 });
const entryArb = fc.record({ term: small, payload: fc.uint8Array({ maxLength: 4 }) });
const messageArb: fc.Arbitrary<Message> = fc
  .record({
    kind: fc.constantFrom('MsgApp', 'MsgAppResp', 'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgSnap', 'MsgSnapResp'),
    from: fc.constantFrom('1', '3'),
    term: small,
    a: small,
    b: small,
    c: small,
    reject: fc.boolean(),
    entries: fc.array(entryArb, { maxLength: 5 }),
    chunk: fc.uint8Array({ maxLength: 8 }),
  })
  .map(({ kind, from, term, a, b, c, reject, entries, chunk }): Message => {
    const env = { from: from as NodeId, to: '2' as NodeId, term: term as Term };
    switch (kind) {
      case 'MsgApp':
        return {
          ...env,
          type: 'MsgApp',
          prevIndex: a as LogIndex,
          prevTerm: b as Term,
          commit: c as LogIndex,
          entries: entries.map((e, i): Entry => ({ term: e.term as Term, index: (a + 1 + i) as LogIndex, payload: e.payload })),
        };
      case 'MsgAppResp':
        return { ...env, type: 'MsgAppResp', reject, index: a as LogIndex, hintIndex: b as LogIndex, hintTerm: c as Term };
      case 'MsgHeartbeat':
        return { ...env, type: 'MsgHeartbeat', commit: a as LogIndex };
      case 'MsgHeartbeatResp':
        return { ...env, type: 'MsgHeartbeatResp', seq: a };
      case 'MsgSnap':
        return {
          ...env,
          type: 'MsgSnap',
          meta: { index: a as LogIndex, term: b as Term },
          offset: 0,
          totalBytes: chunk.length,
          chunk,
        };
      default:
        return { ...env, type: 'MsgSnapResp', meta: { index: a as LogIndex, term: b as Term }, offset: c, reject };
    }
  });

/** A minimal driver: persist to MemoryStorage, drop messages, apply nothing. */
function drain(n: RaftNode, storage: MemoryStorage): void {
  while (n.hasReady()) {
    const rd = n.ready();
    if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
    n.advance(rd);
  }
}

function checkLog(n: RaftNode): void {
  let prev = n.log.term((n.log.firstIndex() - 1) as LogIndex) ?? 0;
  for (let i = n.log.firstIndex(); i <= n.log.lastIndex(); i++) {
    const t = n.log.term(i as LogIndex) ?? 0;
    expect(t, `term at ${i} follows term ${prev}`).toBeGreaterThanOrEqual(prev);
    prev = t;
  }
  expect(n.log.lastTerm()).toBeLessThanOrEqual(n.term);
}

function run(id: '2', leader: '1' | '2', messages: Message[]): void {
  const storage = new MemoryStorage();
  const n = new RaftNode({ id: id as NodeId, voters, leader: leader as NodeId, readMode: 'read-index' }, storage);
  drain(n, storage);
  for (const original of messages) {
    let m: Message;
    try {
      m = decodeMessage(encodeMessage(original), decodeLimits);
    } catch (err) {
      if (isDistkvError(err, 'MESSAGE_CORRUPT')) continue; // refused at the door: the connection is dropped
      throw err;
    }
    n.step(m);
    drain(n, storage);
    checkLog(n);
  }
}

describe('peer input: a decoded message never trips an assertion', () => {
  it('into a follower', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 12 }), (ms) => run('2', '1', ms)),
      { numRuns: 2000, seed: 17 },
    );
  });

  it('into a leader', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 12 }), (ms) => run('2', '2', ms)),
      { numRuns: 2000, seed: 17 },
    );
  });
});
