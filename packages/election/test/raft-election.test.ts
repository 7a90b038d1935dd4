// Goal: Raft's elections keep their contracts through the seam — config rules, timeouts, votes persisted with their answers.
// Method: single RaftNodes on MemoryStorage with raftElection(), stepped by hand; the conversations themselves are transcripts (testdata/).
import { throwsDistkvError } from '@distkv/core/testing';
import { logIndex, MemoryStorage, type NodeId, RaftNode, type Term } from '@distkv/replication';
import { describe, expect, it } from 'vitest';
import { type RaftElectionOptions, raftElection, raftElectionOf } from '../src/index.js';

const voters = ['1', '2', '3'] as NodeId[];
const node = (
  id: string,
  election: RaftElectionOptions = {},
  extra: Partial<ConstructorParameters<typeof RaftNode>[0]> = {},
): RaftNode => new RaftNode({ id: id as NodeId, voters, election: raftElection(election), ...extra }, new MemoryStorage());

describe('election config', () => {
  it('refuses combinations that cannot work', () => {
    expect(throwsDistkvError('CONFIG_INVALID', () => node('1', { checkQuorum: false }, { readMode: 'lease' }))).toBe(true);
    expect(throwsDistkvError('CONFIG_INVALID', () => node('1', {}, { leader: '1' as NodeId }))).toBe(true);
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => node('1', { leaseClockDriftTicks: 10 }))).toBe(true);
    expect(throwsDistkvError('CONFIG_INVALID', () => node('1', {}, { readMode: 'eventual' as 'stale' }))).toBe(true);
  });

  it('defaults: pre-vote and check-quorum on, ReadIndex reads, leases available', () => {
    const n = node('1');
    expect(n.config).toMatchObject({ leader: null, readMode: 'read-index' });
    expect(raftElectionOf(n)).toMatchObject({ preVote: true, checkQuorum: true, leaseClockDriftTicks: 2 });
    expect(raftElectionOf(n).leaseHolds).toBeTypeOf('function');
    expect(raftElectionOf(node('1', { checkQuorum: false })).leaseHolds).toBeUndefined();
    expect(node('1', {}, { readMode: 'lease' }).config.readMode).toBe('lease');
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

  it('a single voter elects itself at once', () => {
    const n = new RaftNode({ id: '1' as NodeId, voters: ['1' as NodeId], election: raftElection() }, new MemoryStorage());
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
