// Goal: a snapshot transfer finishes while the leader serves reads: ReadIndex rounds do not restart it, a duplicate first chunk does not wipe the follower's progress (issue 17 item 3).
// Method: a three-node SimCluster with a fixed leader and read-index reads; a follower comes back after compaction and, while its snapshot streams, every chunk round trip spans several read batches.
import { commands, encodeCommand } from '@distkv/core';
import {
  defaultReplicationLimits,
  type LogIndex,
  MemoryStorage,
  type NodeId,
  RaftNode,
  seededRng,
  type Term,
} from '@distkv/replication';
import { SimCluster } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

const id = (s: string): NodeId => s as NodeId;

function laggingFollower(): SimCluster {
  const c = new SimCluster({
    ids: ['1', '2', '3'],
    leader: '1',
    readMode: 'read-index',
    heartbeatIntervalTicks: 1,
    electionTimeoutTicks: 10,
    limits: { snapshotChunkBytesMax: 16 },
    rng: seededRng(1),
  });
  c.settle(100);
  c.crash(id('3'));
  for (let i = 0; i < 20; i++) c.propose(id('1'), encodeCommand(commands.put(`key${i}`, `value ${i}`)));
  c.settle(100);
  expect(c.compact(id('1'))).toBeDefined();
  c.restart(id('3'));
  return c;
}

describe('§7 InstallSnapshot under read load', () => {
  it('three read batches per chunk round trip: the follower still installs the snapshot', () => {
    const c = laggingFollower();
    let reads = 0;
    let rounds = 0;
    for (; rounds < 400 && c.stats.snapshotsInstalled === 0; rounds++) {
      if (rounds % 4 === 0) c.tick(id('1'));
      for (let b = 0; b < 3; b++) c.raft('1').readIndex(`r${reads++}`);
      // One round trip: whatever the leader sent arrives, the answers come back.
      c.settle(1);
    }
    expect(c.stats.snapshotsInstalled).toBe(1);
    const sent = c.stats.snapshotsSent;
    expect(sent).toBeLessThanOrEqual(2); // offset-0 chunks: the first, maybe one timer retry
    c.settle(100);
    expect(c.checkConverged()).toBeUndefined();
  });

  it('a duplicate first chunk of the transfer under way keeps what arrived', () => {
    const f = new RaftNode({ id: id('2'), voters: [id('1'), id('2')], leader: id('1') }, new MemoryStorage());
    const meta = { index: 10 as LogIndex, term: 1 as Term };
    const chunk = (offset: number) => ({
      type: 'MsgSnap' as const,
      from: id('1'),
      to: id('2'),
      term: 1 as Term,
      meta,
      offset,
      totalBytes: 48,
      chunk: new Uint8Array(16).fill(offset),
    });
    const answers = (): number[] => {
      const rd = f.ready();
      f.advance(rd);
      return rd.messages.flatMap((m) => (m.type === 'MsgSnapResp' ? [m.offset] : []));
    };
    f.step(chunk(0));
    f.step(chunk(16));
    f.step(chunk(0)); // a retry that crossed the answer to chunk 16
    expect(answers()).toEqual([16, 32, 32]);
    f.step(chunk(32));
    const rd = f.ready();
    expect(rd.snapshot?.meta).toEqual(meta);
    expect(rd.snapshot?.data.subarray(16, 32)).toEqual(new Uint8Array(16).fill(16));
  });

  it('an unreachable follower: the snapshot bytes queued for it stay bounded', () => {
    const c = laggingFollower();
    for (let i = 0; i < 20 && c.raft('1').status().progress?.get(id('3'))?.state !== 'snapshot'; i++) {
      c.tick(id('1'));
      c.settle(1);
    }
    expect(c.raft('1').status().progress?.get(id('3'))?.state).toBe('snapshot');
    c.partition([[id('1'), id('2')], [id('3')]]);
    for (let i = 0; i < 60; i++) {
      c.tick(id('1'));
      c.processReady(id('1'));
      c.processReady(id('2'));
      // Only 2's traffic moves; what is queued for 3 stays queued.
      for (let p = c.network.length - 1; p >= 0; p--) if (c.network[p]?.message.to !== id('3')) c.deliver(p);
    }
    const queued = c.network.filter((f) => f.message.type === 'MsgSnap' && f.message.to === id('3')).length;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThanOrEqual(defaultReplicationLimits.snapshotChunksUnansweredMax);
    c.heal();
    c.settle(200);
    expect(c.checkConverged()).toBeUndefined();
  });
});
