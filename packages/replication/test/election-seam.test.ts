// Goal: the seam an election plugs into keeps Raft's invariants on its side — phase 4 alone never campaigns, the
// configuration names exactly one way to lead, and a handle refuses moves that would break a rule.
// Method: single RaftNodes on MemoryStorage; `manualElection()` hands the test each node's RaftHandle.
import { AssertionError } from '@distkv/core';
import { throwsDistkvError } from '@distkv/core/testing';
import { logIndex, MemoryStorage, type NodeId, RaftNode, type Term } from '@distkv/replication';
import { manualElection } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

const voters = ['1', '2', '3'] as NodeId[];
const n = (s: string): NodeId => s as NodeId;

describe('phase 4 without an election', () => {
  it('needs a leader or an election, not both, and no lease without an election that keeps one', () => {
    const election = manualElection().factory;
    expect(throwsDistkvError('CONFIG_INVALID', () => new RaftNode({ id: n('1'), voters }, new MemoryStorage()))).toBe(true);
    expect(
      throwsDistkvError(
        'CONFIG_INVALID',
        () => new RaftNode({ id: n('1'), voters, leader: n('1'), election }, new MemoryStorage()),
      ),
    ).toBe(true);
    expect(
      throwsDistkvError(
        'CONFIG_INVALID',
        () => new RaftNode({ id: n('1'), voters, leader: n('1'), readMode: 'lease' }, new MemoryStorage()),
      ),
    ).toBe(true);
    // manualElection keeps no lease (no leaseHolds): lease reads are refused with it too.
    expect(
      throwsDistkvError(
        'CONFIG_INVALID',
        () => new RaftNode({ id: n('1'), voters, election, readMode: 'lease' }, new MemoryStorage()),
      ),
    ).toBe(true);
  });

  it('under a configured leader nobody campaigns, however long the silence', () => {
    const follower = new RaftNode({ id: n('2'), voters, leader: n('1') }, new MemoryStorage());
    for (let i = 0; i < 1_000; i++) follower.tick();
    expect(follower.role).toBe('follower');
    expect(follower.hasReady()).toBe(false);
  });

  it('drops election messages, which no phase-4 peer sends, and counts them', () => {
    const follower = new RaftNode({ id: n('2'), voters, leader: n('1') }, new MemoryStorage());
    follower.step({
      type: 'MsgVote',
      from: n('3'),
      to: n('2'),
      term: 9 as Term,
      lastIndex: logIndex(0),
      lastTerm: 0 as Term,
      transfer: false,
    });
    expect(follower.term).toBe(0);
    expect(follower.status().droppedMessages).toBe(1);
    expect(follower.hasReady()).toBe(false);
  });

  it('cannot be transferred: a fixed leader has no election to hand over with', () => {
    const leader = new RaftNode({ id: n('1'), voters, leader: n('1') }, new MemoryStorage());
    expect(() => leader.transferLeadership(n('2'))).toThrow(/TRANSFER_TARGET_INVALID|cannot transfer/);
  });
});

describe('the handle keeps the invariants (state belongs to its owner)', () => {
  function elected(): { node: RaftNode; election: ReturnType<typeof manualElection> } {
    const election = manualElection();
    const node = new RaftNode({ id: n('1'), voters, election: election.factory }, new MemoryStorage());
    return { node, election };
  }

  it('gives an election the election messages and nothing else', () => {
    const { node, election } = elected();
    node.step({ type: 'MsgTimeoutNow', from: n('2'), to: n('1'), term: 4 as Term });
    node.step({ type: 'MsgHeartbeat', from: n('2'), to: n('1'), term: 4 as Term, commit: logIndex(0) });
    expect(election.stepped.map((m) => m.type)).toEqual(['MsgTimeoutNow']);
    expect(node.term).toBe(4); // the heartbeat's term was adopted by the node itself, not by the election
  });

  it('one vote per term; terms never go back; only a candidate that voted for itself leads', () => {
    const { node, election } = elected();
    const h = election.handle(n('1'));
    h.becomeFollower(2 as Term, null);
    h.grantVote(n('2'));
    expect(node.vote).toBe('2');
    expect(() => h.grantVote(n('3'))).toThrow(AssertionError);
    expect(() => h.grantVote(n('1'))).toThrow(AssertionError);
    expect(() => h.becomeFollower(1 as Term, null)).toThrow(AssertionError);
    expect(() => h.becomeLeader()).toThrow(AssertionError);
    h.becomeCandidate();
    expect(node).toMatchObject({ role: 'candidate', term: 3, vote: '1' });
    h.becomeLeader();
    expect(node.role).toBe('leader');
    expect(() => h.becomeCandidate()).toThrow(AssertionError);
    expect(() => h.leadNewTerm()).toThrow(AssertionError);
  });

  it('sends election messages only to other members, never in a past term', () => {
    const { node, election } = elected();
    const h = election.handle(n('1'));
    h.becomeFollower(5 as Term, null);
    expect(() => h.send({ type: 'MsgTimeoutNow', to: n('1') })).toThrow(AssertionError);
    expect(() => h.send({ type: 'MsgTimeoutNow', to: n('9') })).toThrow(AssertionError);
    expect(() => h.send({ type: 'MsgTimeoutNow', to: n('2') }, 4 as Term)).toThrow(AssertionError);
    h.send({ type: 'MsgPreVoteResp', to: n('2'), reject: false }, 7 as Term);
    expect(node.ready().messages).toEqual([{ type: 'MsgPreVoteResp', from: '1', to: '2', term: 7, reject: false }]);
  });

  it('exposes its state read-only: nothing outside RaftNode assigns term, vote, role or leader', () => {
    const { node } = elected();
    for (const field of ['term', 'vote', 'role', 'leader'] as const) {
      expect(() => {
        (node as unknown as Record<string, unknown>)[field] = 'x';
      }).toThrow(TypeError);
    }
    expect(node).toMatchObject({ term: 0, vote: null, role: 'follower', leader: null });
  });
});
