// Goal: the operator's election options map to a RaftConfig that can work, and impossible combinations fail with ELECTION_CONFIG_INVALID.
// Method: one case per rule, building real RaftNodes from the result where it matters.
import { isDistkvError } from '@distkv/core';
import { MemoryStorage, type NodeId, RaftNode } from '@distkv/replication';
import { describe, expect, it } from 'vitest';
import { BullyElection, electionConfig } from '../src/index.js';

const voters = ['1', '2', '3'] as NodeId[];

function invalid(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isDistkvError(err, 'ELECTION_CONFIG_INVALID');
  }
}

describe('electionConfig', () => {
  it('defaults to raft with pre-vote, check-quorum and ReadIndex', () => {
    expect(electionConfig({})).toEqual({ preVote: true, checkQuorum: true, readMode: 'read-index' });
    const node = new RaftNode({ id: '1' as NodeId, voters, ...electionConfig({}) }, new MemoryStorage());
    expect(node.config.checkQuorum).toBe(true);
  });

  it('keeps phase 4: a fixed leader, no campaigns', () => {
    const cfg = electionConfig({ leader: '1' as NodeId });
    expect(cfg.leader).toBe('1');
    const node = new RaftNode({ id: '1' as NodeId, voters, ...cfg }, new MemoryStorage());
    expect(node.role).toBe('leader');
  });

  it('builds a Bully policy', () => {
    expect(electionConfig({ election: 'bully' }).election).toBeInstanceOf(BullyElection);
  });

  it('refuses what cannot work', () => {
    expect(invalid(() => electionConfig({ leader: '1' as NodeId, election: 'raft' }))).toBe(true);
    expect(invalid(() => electionConfig({ readMode: 'lease', checkQuorum: false }))).toBe(true);
    expect(invalid(() => electionConfig({ election: 'bully', readMode: 'lease' }))).toBe(true);
    expect(invalid(() => electionConfig({ election: 'bully', preVote: false }))).toBe(true);
    expect(invalid(() => electionConfig({ election: 'paxos' as 'raft' }))).toBe(true);
    expect(invalid(() => electionConfig({ readMode: 'eventual' as 'stale' }))).toBe(true);
  });
});
