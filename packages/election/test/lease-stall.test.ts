// Goal: issue 17 item 1's event sequence, replayed: a follower that stalls, steps the leader's heartbeat and only then counts the missed ticks gives a vote inside the leader's lease, and the lease read is stale; counting the ticks first (what the driver now does) keeps the vote promise.
// Method: a three-node SimCluster with Raft elections and lease reads, driven by hand; the only difference between the two runs is whether node 2's stall ticks come before or after it steps the heartbeat.
import { commands, encodeCommand } from '@distkv/core';
import type { Message, NodeId, ReadState } from '@distkv/replication';
import { seededRng } from '@distkv/replication';
import { SimCluster } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';
import { raftElection, raftElectionOf } from '../src/index.js';

const id = (s: string): NodeId => s as NodeId;

function deliverWhere(c: SimCluster, pred: (m: Message) => boolean): number {
  let n = 0;
  for (let i = c.network.length - 1; i >= 0; i--) {
    const f = c.network[i];
    if (f !== undefined && pred(f.message)) {
      c.deliver(i);
      n++;
    }
  }
  return n;
}

/** Runs the sequence; returns the lease read node 1 served and what node 3 (the new leader, if any) committed. */
function run(stallTicks: 'before-step' | 'after-step'): { read: ReadState | undefined; leader3: boolean; commit3: number } {
  const c = new SimCluster({
    ids: ['1', '2', '3'],
    election: (_id, rng) => raftElection({ rng }),
    readMode: 'lease',
    heartbeatIntervalTicks: 1,
    electionTimeoutTicks: 10,
    rng: seededRng(7),
  });
  const reads: ReadState[] = [];
  c.onReadState = (nodeId, rs) => {
    if (nodeId === id('1')) reads.push(rs);
  };
  // L = 1 leads, A = 2 and B = 3 follow.
  for (let i = 0; i < 10; i++) {
    c.tick(id('2'));
    c.tick(id('3'));
  }
  raftElectionOf(c.raft('1')).campaign('pre-vote', false);
  c.settle(100);
  expect(c.raft('1').role).toBe('leader');
  c.propose(id('1'), encodeCommand(commands.put('k', 'old')));
  c.settle(100);
  // B cannot hear L; A hears both.
  c.partition([[id('1'), id('2')], [id('3')]]);
  c.blocked.delete('2->3');
  c.blocked.delete('3->2');
  // L's heartbeat round leaves; A's event loop is blocked meanwhile (its 10 ticks are owed).
  c.tick(id('1'));
  c.processReady(id('1'));
  const owed = (): void => {
    for (let i = 0; i < 10; i++) c.tick(id('2'));
  };
  if (stallTicks === 'before-step') owed();
  deliverWhere(c, (m) => m.type === 'MsgHeartbeat' && m.to === id('2'));
  if (stallTicks === 'after-step') owed();
  c.processReady(id('2'));
  deliverWhere(c, (m) => m.to === id('1')); // A's ack: L's lease now runs from the round's send tick
  c.processReady(id('1'));
  // B's timeout fires; it asks A.
  raftElectionOf(c.raft('3')).campaign('pre-vote', false);
  for (let round = 0; round < 10; round++) {
    c.processReady(id('2'));
    c.processReady(id('3'));
    deliverWhere(c, (m) => m.to !== id('1'));
  }
  const leader3 = c.raft('3').role === 'leader';
  if (leader3) {
    c.propose(id('3'), encodeCommand(commands.put('k', 'new')));
    for (let round = 0; round < 10; round++) {
      c.processReady(id('2'));
      c.processReady(id('3'));
      deliverWhere(c, (m) => m.to !== id('1'));
    }
  }
  // Little time passed for L: its lease holds by its own count, and it serves a read without a round.
  c.raft('1').readIndex('r1');
  c.processReady(id('1'));
  return { read: reads[0], leader3, commit3: c.raft('3').log.committed };
}

describe('thesis §6.4.1 leases: "assuming bounded clock drift" — a stalled follower must count its stall before it steps', () => {
  it("ticks after the step (the old driver): B wins with A's vote inside L's lease, and L serves a stale read", () => {
    const r = run('after-step');
    expect(r.leader3).toBe(true);
    expect(r.read).toBeDefined();
    expect(r.commit3).toBeGreaterThan(r.read?.index ?? 0); // B committed a write L's read does not see
  });

  it("ticks before the step (the driver now): A is in lease, ignores B, and L's read is current", () => {
    const r = run('before-step');
    expect(r.leader3).toBe(false);
    expect(r.read).toBeDefined();
    expect(r.commit3).toBeLessThanOrEqual(r.read?.index ?? 0);
  });
});
