// Goal: the election half of RaftNode keeps its contracts — config rules, phase 4's fixed leader, votes persisted with their answers.
// Method: single RaftNodes on MemoryStorage, stepped by hand; the conversations themselves are transcripts in @distkv/election.
import { isDistkvError } from '@distkv/core';
import { logIndex, MemoryStorage, type NodeId, RaftNode, type Term } from '@distkv/replication';
import { describe, expect, it } from 'vitest';

const voters = ['1', '2', '3'] as NodeId[];
const node = (id: string, extra: Partial<ConstructorParameters<typeof RaftNode>[0]> = {}): RaftNode =>
  new RaftNode({ id: id as NodeId, voters, ...extra }, new MemoryStorage());

function configInvalid(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isDistkvError(err, 'CONFIG_INVALID');
  }
}

describe('election config', () => {
  it('refuses combinations that cannot work', () => {
    expect(configInvalid(() => node('1', { readMode: 'lease', checkQuorum: false }))).toBe(true);
    expect(configInvalid(() => node('1', { leader: '1' as NodeId, checkQuorum: true }))).toBe(true);
    expect(configInvalid(() => node('1', { leaseClockDriftTicks: 10 }))).toBe(true);
    expect(configInvalid(() => node('1', { readMode: 'eventual' as 'stale' }))).toBe(true);
  });

  it('defaults: electing with pre-vote and check-quorum; a fixed leader turns check-quorum off', () => {
    expect(node('1').config).toMatchObject({ leader: null, preVote: true, checkQuorum: true, readMode: 'read-index' });
    expect(node('1', { leader: '1' as NodeId }).config).toMatchObject({ leader: '1', checkQuorum: false });
  });
});

describe('§5.2 "If a follower receives no communication over a period of time called the election timeout, then it assumes there is no viable leader and begins an election"', () => {
  it('campaigns (pre-vote first) between electionTimeoutTicks and twice that', () => {
    const n = node('1');
    let ticks = 0;
    while (n.role === 'follower' && ticks < 100) {
      n.tick();
      ticks++;
    }
    expect(n.role).toBe('pre-candidate');
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(ticks).toBeLessThan(20);
    expect(n.term).toBe(0); // a pre-vote changes no term
  });

  it('phase 4: under a configured leader nobody campaigns, however long the silence', () => {
    const n = node('2', { leader: '1' as NodeId });
    for (let i = 0; i < 1_000; i++) n.tick();
    expect(n.role).toBe('follower');
    expect(n.hasReady()).toBe(false);
  });

  it('a single voter elects itself at once', () => {
    const n = new RaftNode({ id: '1' as NodeId, voters: ['1' as NodeId] }, new MemoryStorage());
    expect(n.role).toBe('leader');
    expect(n.term).toBe(1);
  });
});

describe('§5.2 votes are durable before they are announced', () => {
  it('a granted vote and its answer leave in the same Ready, the vote in hardState (persisted before messages are sent)', () => {
    const n = node('2', { checkQuorum: false });
    n.step({
      type: 'MsgVote',
      from: '1' as NodeId,
      to: '2' as NodeId,
      term: 1 as Term,
      lastIndex: logIndex(0),
      lastTerm: 0 as Term,
      transfer: false,
    });
    const rd = n.ready();
    expect(rd.hardState).toMatchObject({ term: 1, vote: '1' });
    expect(rd.messages).toEqual([{ type: 'MsgVoteResp', from: '2', to: '1', term: 1, reject: false }]);
    n.advance(rd);
    // "Each server will vote for at most one candidate in a given term"
    n.step({
      type: 'MsgVote',
      from: '3' as NodeId,
      to: '2' as NodeId,
      term: 1 as Term,
      lastIndex: logIndex(5),
      lastTerm: 1 as Term,
      transfer: false,
    });
    expect(n.ready().messages).toEqual([{ type: 'MsgVoteResp', from: '2', to: '3', term: 1, reject: true }]);
  });
});
