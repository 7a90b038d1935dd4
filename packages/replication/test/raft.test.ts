// Goal: the state machine's rules, one at a time, each against the sentence of the paper it implements.
// Method: drive single RaftNodes by hand with MemoryStorage, stepping messages and reading Readys.
import { isDistkvError } from '@distkv/core';
import {
  type Entry,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  RaftNode,
  type Ready,
  resolveConfig,
  type Term,
} from '@distkv/replication';
import { manualElection } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

const n = (s: string): NodeId => s as NodeId;
const voters = [n('1'), n('2'), n('3')];
const e = (t: number, i: number, payload = 'x'): Entry => ({
  term: t as Term,
  index: i as LogIndex,
  payload: Buffer.from(payload),
});

function storageWith(termValue: number, entries: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entries);
  s.setHardState({ term: termValue as Term, vote: null, commit: 0 as LogIndex });
  return s;
}

/** Carries out a Ready the way the driver must: persist, then (return messages to) send, then advance. */
function handle(node: RaftNode, storage: MemoryStorage): Ready {
  const rd = node.ready();
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  node.advance(rd);
  return rd;
}

function app(from: string, to: string, t: number, prevIndex: number, prevTerm: number, entries: Entry[], commit = 0): Message {
  return {
    type: 'MsgApp',
    from: n(from),
    to: n(to),
    term: t as Term,
    prevIndex: prevIndex as LogIndex,
    prevTerm: prevTerm as Term,
    entries,
    commit: commit as LogIndex,
  };
}

describe('§5.3 "If a follower does not find an entry in its log with the same index and term, then it refuses the new entries"', () => {
  it('rejects a MsgApp whose (prevIndex, prevTerm) it does not hold, with a hint', () => {
    const storage = storageWith(2, [e(1, 1), e(2, 2)]);
    const f = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    f.step(app('1', '2', 3, 2, 3, [e(3, 3)]));
    const rd = handle(f, storage);
    expect(rd.entries).toEqual([]);
    expect(rd.messages).toEqual([
      // Its entry 2 has term 2, not above 3: the logs may agree there, so that is the hint.
      { type: 'MsgAppResp', from: '2', to: '1', term: 3, reject: true, index: 2, hintIndex: 2, hintTerm: 2 },
    ]);
  });

  it('"If an existing entry conflicts with a new one, delete the existing entry and all that follow it"', () => {
    const storage = storageWith(2, [e(1, 1), e(2, 2), e(2, 3)]);
    const f = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    f.step(app('1', '2', 3, 1, 1, [e(3, 2, 'y')]));
    const rd = handle(f, storage);
    expect(rd.entries.map((x) => `${x.term}/${x.index}`)).toEqual(['3/2']);
    expect(storage.lastIndex()).toBe(2);
    expect(storage.term(2 as LogIndex)).toBe(3);
  });

  it('ignores entries it already holds (a duplicated MsgApp changes nothing)', () => {
    const storage = storageWith(1, [e(1, 1), e(1, 2)]);
    const f = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    f.step(app('1', '2', 1, 0, 0, [e(1, 1), e(1, 2)], 2));
    const rd = handle(f, storage);
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries.map((x) => x.index)).toEqual([1, 2]);
  });

  it('"If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)"', () => {
    const storage = storageWith(1, [e(1, 1), e(1, 2), e(1, 3)]);
    const f = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    f.step(app('1', '2', 1, 0, 0, [e(1, 1)], 3));
    expect(f.log.committed).toBe(1);
  });
});

describe('§5.1 "If a server receives a request with a stale term number, it rejects the request"', () => {
  it('answers a stale leader with its own term and appends nothing', () => {
    const storage = storageWith(5, [e(1, 1)]);
    const f = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    f.step(app('1', '2', 4, 1, 1, [e(4, 2)]));
    const rd = handle(f, storage);
    expect(rd.entries).toEqual([]);
    expect(rd.messages[0]).toMatchObject({ type: 'MsgAppResp', term: 5, reject: true });
  });

  it('"if a candidate or leader discovers that its term is out of date, it immediately reverts to follower state"', () => {
    const storage = new MemoryStorage();
    const leader = new RaftNode({ id: n('1'), voters, leader: n('1') }, storage);
    expect(leader.role).toBe('leader');
    expect(leader.term).toBe(1);
    leader.step({ type: 'MsgHeartbeatResp', from: n('2'), to: n('1'), term: 7 as Term });
    expect(leader.role).toBe('follower');
    expect(leader.term).toBe(7);
    expect(() => leader.propose(Buffer.from('x'))).toThrow(/NOT_LEADER/);
  });
});

describe('the configured leader (phase 4)', () => {
  it('takes a new term each time it starts, persisted before any message of that term is sent', () => {
    const storage = storageWith(4, [e(1, 1)]);
    const leader = new RaftNode({ id: n('1'), voters, leader: n('1') }, storage);
    expect(leader.term).toBe(5);
    const rd = leader.ready();
    expect(rd.hardState).toEqual({ term: 5, vote: '1', commit: 0 });
    expect(rd.entries.map((x) => `${x.term}/${x.index}`)).toEqual(['5/2']); // the no-op of §5.4.2 / §8
    expect(rd.messages.every((m) => m.term === 5)).toBe(true);
  });

  it('never reuses a term whose entries survived a crash that lost the hard state (found by the simulator, seed 3485)', () => {
    // A torn write kept the entries of term 1 but not the hard state that said "term 1".
    const storage = storageWith(0, [e(1, 1), e(1, 2)]);
    const leader = new RaftNode({ id: n('1'), voters, leader: n('1') }, storage);
    expect(leader.term).toBe(2);
    const follower = new RaftNode({ id: n('2'), voters, leader: n('1') }, storageWith(0, [e(1, 1)]));
    expect(follower.term).toBe(1);
  });

  it('counts its own entry toward a majority only after advance() (its copy is durable)', () => {
    const storage = new MemoryStorage();
    const solo = new RaftNode({ id: n('1'), voters: [n('1')], leader: n('1') }, storage);
    const rd1 = solo.ready();
    expect(rd1.committedEntries).toEqual([]);
    expect(rd1.leaderDurableIndex).toBe(1); // async mode may acknowledge here, after persisting
    storage.append(rd1.entries);
    solo.advance(rd1);
    expect(solo.log.committed).toBe(1);
    const p = solo.propose(Buffer.from('x'));
    expect(solo.log.committed).toBe(1);
    const rd2 = handle(solo, storage);
    expect(rd2.leaderDurableIndex).toBe(p.index);
    expect(handle(solo, storage).committedEntries.map((x) => x.index)).toEqual([p.index]);
  });
});

describe('the Ready contract', () => {
  it('refuses a second ready() before advance(), and advance() without ready()', () => {
    const node = new RaftNode({ id: n('1'), voters, leader: n('1') }, new MemoryStorage());
    const rd = node.ready();
    expect(() => node.ready()).toThrow(/advance/);
    node.advance(rd);
    expect(() => node.advance(rd)).toThrow(/without an outstanding Ready/);
  });
});

describe('limits are validated when the node is built (CONFIG_INVALID)', () => {
  const base = { id: n('1'), voters, leader: n('1') };
  it.each([
    ['zero appendEntriesMax', { ...base, limits: { appendEntriesMax: 0 } }],
    ['fractional inflightAppendsMax', { ...base, limits: { inflightAppendsMax: 1.5 } }],
    ['entryBytesMax above uncommittedBytesMax', { ...base, limits: { entryBytesMax: 10, uncommittedBytesMax: 5 } }],
    ['a leader that is not a voter', { ...base, leader: n('9') }],
    ['an id that is not a voter', { ...base, id: n('9') }],
    ['repeated voters', { ...base, voters: [n('1'), n('1')] }],
    ['election timeout not above the heartbeat', { ...base, heartbeatIntervalTicks: 5, electionTimeoutTicks: 5 }],
  ])('%s', (_name, config) => {
    let caught: unknown;
    try {
      resolveConfig(config);
    } catch (err) {
      caught = err;
    }
    expect(isDistkvError(caught, 'CONFIG_INVALID')).toBe(true);
  });
});

describe('a leader elected without the up-to-date check (Bully) meets a follower that committed more', () => {
  // etcd raft: "an append below the follower's committed index is answered with the committed index".
  // Before the fix the leader took that index as the follower's match, beyond its own log, and its
  // next append tripped the assertion "a compacted entry is covered by the snapshot".
  function scenario(): { leader: RaftNode; follower: RaftNode; leaderStorage: MemoryStorage } {
    const election = manualElection();
    const followerStorage = storageWith(1, [e(1, 1), e(1, 2), e(1, 3), e(1, 4), e(1, 5)]);
    followerStorage.setHardState({ term: 1 as Term, vote: null, commit: 5 as LogIndex });
    const follower = new RaftNode({ id: n('1'), voters, election: election.factory }, followerStorage);
    const leaderStorage = storageWith(1, [e(1, 1), e(1, 2)]);
    const leader = new RaftNode({ id: n('3'), voters, election: election.factory }, leaderStorage);
    election.handle(n('3')).leadNewTerm();
    return { leader, follower, leaderStorage };
  }

  it('answers with its commit index (its entry 3 conflicts: as a reject hint), and the stale leader steps down instead of crashing', () => {
    const { leader, follower, leaderStorage } = scenario();
    const toFollower = handle(leader, leaderStorage).messages.find((m) => m.to === '1' && m.type === 'MsgApp');
    expect(toFollower).toMatchObject({ prevIndex: 2 });
    follower.step(toFollower as Message);
    const answer = follower.ready().messages[0];
    expect(answer).toMatchObject({ type: 'MsgAppResp', reject: true, index: 2, hintIndex: 5 });
    expect(() => leader.step(answer as Message)).not.toThrow();
    expect(leader.role).toBe('follower');
    expect(leader.lacksCommittedEntries()).toBe(true);
    expect(leader.status().commit).toBe(0); // nothing was committed on the strength of entries it lacks
    expect(() => handle(leader, leaderStorage)).not.toThrow();
  });

  it('stops lacking once its own commit index reaches what the follower reported', () => {
    const { leader, follower, leaderStorage } = scenario();
    follower.step(handle(leader, leaderStorage).messages.find((m) => m.to === '1') as Message);
    leader.step(follower.ready().messages[0] as Message);
    handle(leader, leaderStorage);
    // A leader that has entries 1..5 (term 1) tells it the commit index: it is whole again.
    leader.step(app('1', '3', 3, 2, 1, [e(1, 3), e(1, 4), e(1, 5)], 5));
    handle(leader, leaderStorage);
    expect(leader.log.committed).toBe(5);
    expect(leader.lacksCommittedEntries()).toBe(false);
  });

  it('drops messages no peer may send instead of asserting: two leaders of one term, a message from itself', () => {
    const { leader, leaderStorage } = scenario();
    handle(leader, leaderStorage);
    expect(() => leader.step(app('2', '3', leader.term, 0, 0, []))).not.toThrow();
    expect(leader.role).toBe('leader');
    expect(() => leader.step({ type: 'MsgHeartbeatResp', from: n('3'), to: n('3'), term: leader.term })).not.toThrow();
    expect(leader.status().droppedMessages).toBe(2);
  });
});
