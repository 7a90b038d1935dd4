// Goal: the operator's election options map to a RaftConfig that can work, and impossible combinations fail with ELECTION_CONFIG_INVALID.
// Method: one case per rule, building real RaftNodes from the result where it matters.
import { throwsDistkvError } from '@distkv/core/testing';
import { MemoryStorage, type NodeId, RaftNode } from '@distkv/replication';
import { describe, expect, it } from 'vitest';
import { BullyElection, electionConfig, RaftElection, raftElectionOf } from '../src/index.js';

const voters = ['1', '2', '3'] as NodeId[];

describe('electionConfig', () => {
  it('defaults to raft with pre-vote, check-quorum and ReadIndex', () => {
    expect(electionConfig({})).toEqual({ election: expect.any(Function) });
    const node = new RaftNode({ id: '1' as NodeId, voters, ...electionConfig({}) }, new MemoryStorage());
    expect(raftElectionOf(node)).toMatchObject({ preVote: true, checkQuorum: true });
    expect(node.config.readMode).toBe('read-index');
    const bare = new RaftNode(
      { id: '1' as NodeId, voters, ...electionConfig({ preVote: false, checkQuorum: false, readMode: 'stale' }) },
      new MemoryStorage(),
    );
    expect(raftElectionOf(bare)).toMatchObject({ preVote: false, checkQuorum: false });
    expect(bare.config.readMode).toBe('stale');
  });

  it('keeps phase 4: a fixed leader, no campaigns', () => {
    const cfg = electionConfig({ leader: '1' as NodeId });
    expect(cfg.leader).toBe('1');
    const node = new RaftNode({ id: '1' as NodeId, voters, ...cfg }, new MemoryStorage());
    expect(node.role).toBe('leader');
  });

  it('builds a Bully policy', () => {
    const node = new RaftNode({ id: '1' as NodeId, voters, ...electionConfig({ election: 'bully' }) }, new MemoryStorage());
    expect(node.election).toBeInstanceOf(BullyElection);
    expect(node.election).not.toBeInstanceOf(RaftElection);
  });

  it('refuses what cannot work', () => {
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => electionConfig({ leader: '1' as NodeId, election: 'raft' }))).toBe(
      true,
    );
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => electionConfig({ readMode: 'lease', checkQuorum: false }))).toBe(
      true,
    );
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => electionConfig({ election: 'bully', readMode: 'lease' }))).toBe(
      true,
    );
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => electionConfig({ election: 'bully', preVote: false }))).toBe(true);
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => electionConfig({ election: 'paxos' as 'raft' }))).toBe(true);
    expect(throwsDistkvError('ELECTION_CONFIG_INVALID', () => electionConfig({ readMode: 'eventual' as 'stale' }))).toBe(true);
  });
});
