// Goal: the leader's write path batches and overlaps work without breaking the Ready contract (issue 18): proposals leave as one MsgApp per follower at the next Ready, entries committed while a Ready is persisted are applied at once and exactly once, and only an elected leader sends before its own persist.
// Method: drive single RaftNodes by hand with MemoryStorage, stepping answers while a Ready is outstanding.
import { type LogIndex, MemoryStorage, type Message, type NodeId, RaftNode, type Ready, type Term } from '@distkv/replication';
import { manualElection } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

const n = (s: string): NodeId => s as NodeId;
const voters = [n('1'), n('2'), n('3')];

function persist(node: RaftNode, storage: MemoryStorage, rd: Ready): void {
  storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  node.advance(rd);
}

function ack(from: string, term: number, index: number): Message {
  return {
    type: 'MsgAppResp',
    from: n(from),
    to: n('1'),
    term: term as Term,
    reject: false,
    index: index as LogIndex,
    hintIndex: 0 as LogIndex,
    hintTerm: 0 as Term,
  };
}

/** A fixed leader (phase 4) whose no-op every follower holds. */
function steadyLeader(): { leader: RaftNode; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  const leader = new RaftNode({ id: n('1'), voters, leader: n('1') }, storage);
  persist(leader, storage, leader.ready());
  leader.step(ack('2', 1, 1));
  leader.step(ack('3', 1, 1));
  persist(leader, storage, leader.ready());
  return { leader, storage };
}

describe('proposals between two Readys', () => {
  it('leave together: one MsgApp per follower carrying all of them', () => {
    const { leader } = steadyLeader();
    for (const v of ['a', 'b', 'c']) leader.propose(Buffer.from(v));
    const apps = leader.ready().messages.filter((m) => m.type === 'MsgApp');
    expect(apps.map((m) => [m.to, m.type === 'MsgApp' ? m.entries.map((e) => e.index) : []])).toEqual([
      ['2', [2, 3, 4]],
      ['3', [2, 3, 4]],
    ]);
  });
});

describe('entries committed while a Ready is being persisted', () => {
  it('are handed out by takeCommitted at once, and never again by the next Ready', () => {
    const { leader, storage } = steadyLeader();
    leader.propose(Buffer.from('a'));
    const rd = leader.ready(); // being persisted: the leader's own copy is not durable yet
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    leader.step(ack('2', 1, 2));
    leader.step(ack('3', 1, 2)); // the two followers are a majority without the leader
    expect(leader.takeCommitted().map((e) => e.index)).toEqual([2]);
    expect(leader.takeCommitted()).toEqual([]); // exactly once
    expect(leader.log.applied).toBe(2);
    persist(leader, storage, rd);
    expect(leader.hasReady() ? leader.ready().committedEntries : []).toEqual([]);
  });

  it('are not taken by a follower', () => {
    const storage = new MemoryStorage();
    const follower = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    expect(follower.takeCommitted()).toEqual([]);
  });
});

describe('Ready.earlyMessages: appends that leave before the leader persists', () => {
  it('is empty for a leader fixed by configuration, whose term never changes', () => {
    const { leader } = steadyLeader();
    leader.propose(Buffer.from('a'));
    const rd = leader.ready();
    expect(rd.earlyMessages).toEqual([]);
    expect(rd.messages.some((m) => m.type === 'MsgApp')).toBe(true);
  });

  it("holds an elected leader's MsgApps once its term and vote are durable; answers still wait for the persist", () => {
    const storage = new MemoryStorage();
    const election = manualElection();
    const node = new RaftNode({ id: n('1'), voters, election: election.factory }, storage);
    const seam = election.handle(n('1'));
    seam.becomeCandidate();
    seam.becomeLeader(); // as if the votes came at once: term 1 and the vote are in this Ready, not yet durable
    const first = node.ready();
    expect(first.hardState?.term).toBe(1);
    expect(first.earlyMessages).toEqual([]);
    expect(first.messages.filter((m) => m.type === 'MsgApp').length).toBe(2);
    persist(node, storage, first);
    node.step(ack('2', 1, 1));
    node.step(ack('3', 1, 1));
    node.propose(Buffer.from('a'));
    const lead = node.ready(); // now term and vote are durable: the appends may leave first
    const carrying = lead.earlyMessages.flatMap((m) => (m.type === 'MsgApp' && m.entries.length > 0 ? [m.to] : []));
    expect(carrying.sort()).toEqual(['2', '3']);
    expect(lead.earlyMessages.every((m) => m.type === 'MsgApp' || m.type === 'MsgHeartbeat')).toBe(true);
    expect(lead.messages.filter((m) => m.type === 'MsgApp')).toEqual([]);
  });
});

describe('a follower that handles several appends before one Ready', () => {
  it('answers once, with the highest index: that acknowledgement covers the lower ones', () => {
    const storage = new MemoryStorage();
    const follower = new RaftNode({ id: n('2'), voters, leader: n('1') }, storage);
    const entry = (i: number) => ({ term: 1 as Term, index: i as LogIndex, payload: Buffer.from(`e${i}`) });
    const app = (prev: number, entries: number[]): Message => ({
      type: 'MsgApp',
      from: n('1'),
      to: n('2'),
      term: 1 as Term,
      prevIndex: prev as LogIndex,
      prevTerm: (prev === 0 ? 0 : 1) as Term,
      entries: entries.map(entry),
      commit: 0 as LogIndex,
    });
    follower.step(app(0, [1, 2]));
    follower.step(app(2, [3]));
    const answers = follower.ready().messages.filter((m) => m.type === 'MsgAppResp');
    expect(answers.map((m) => (m.type === 'MsgAppResp' ? [m.reject, m.index] : []))).toEqual([[false, 3]]);
  });
});
