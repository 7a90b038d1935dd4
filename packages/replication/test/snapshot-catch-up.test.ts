// Goal: compaction keeps a catch-up tail of entries (etcd's SnapshotCatchUpEntries), so a follower that missed a few
// entries just before the leader compacted gets them by AppendEntries, not the whole store by snapshot (issue 17 item 3);
// past the tail, counted in entries or in bytes, it still gets the snapshot.
// Method: a SimCluster with a fixed leader whose follower misses 20 entries around a compaction; then three real
// ReplicationNodes on loopback where the follower comes back after the leader compacted and restarted (so the tail
// must survive the leader's restart too). Waits are bounded polls on state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands, encodeCommand } from '@distkv/core';
import { waitUntil } from '@distkv/core/testing';
import {
  type NodeId,
  type PeerAddress,
  type ReplicationLimits,
  ReplicationNode,
  seededRng,
  TcpTransport,
} from '@distkv/replication';
import { SimCluster } from '@distkv/replication/testing';
import { afterEach, describe, expect, it } from 'vitest';

const id = (s: string): NodeId => s as NodeId;

/** Node 3 misses 20 entries, node 1 compacts at its applied index, node 3 comes back. */
function missedTwenty(limits: Partial<ReplicationLimits>): { c: SimCluster; compactedAt: number } {
  const c = new SimCluster({
    ids: ['1', '2', '3'],
    leader: '1',
    heartbeatIntervalTicks: 1,
    electionTimeoutTicks: 10,
    limits: { snapshotChunkBytesMax: 64, ...limits },
    rng: seededRng(1),
  });
  for (let i = 0; i < 30; i++) c.propose(id('1'), encodeCommand(commands.put(`early${i}`, 'x')));
  c.settle(100);
  c.crash(id('3'));
  for (let i = 0; i < 20; i++) c.propose(id('1'), encodeCommand(commands.put(`key${i}`, `value ${i}`)));
  c.settle(100);
  const compactedAt = c.compact(id('1'));
  expect(compactedAt).toBe(51); // the leader's noop, 30 and 20 puts
  c.restart(id('3'));
  for (let round = 0; round < 200 && c.checkConverged() !== undefined; round++) {
    for (const n of c.ids) c.tick(n);
    c.settle(20);
  }
  expect(c.checkConverged()).toBeUndefined();
  return { c, compactedAt: compactedAt ?? 0 };
}

describe('§7 compaction keeps a catch-up tail', () => {
  it('a follower within the tail gets entries, not a snapshot', () => {
    const { c, compactedAt } = missedTwenty({ snapshotCatchUpEntries: 25 });
    expect(c.stats.snapshotsSent).toBe(0);
    expect(c.stats.snapshotsInstalled).toBe(0);
    const leader = c.raft('1');
    expect(leader.log.snapshot().meta.index).toBe(compactedAt); // the snapshot is at the applied index ...
    expect(leader.log.firstIndex()).toBe(compactedAt - 25 + 1); // ... and the log keeps 25 entries before it
    expect(c.raft('3').log.firstIndex()).toBe(1); // node 3's log was extended, never replaced
  });

  it('a follower behind the tail still gets the snapshot', () => {
    const { c, compactedAt } = missedTwenty({ snapshotCatchUpEntries: 10 });
    expect(c.stats.snapshotsInstalled).toBe(1);
    expect(c.raft('3').log.firstIndex()).toBe(compactedAt + 1);
  });

  it('the tail is bounded in bytes too', () => {
    // Each put payload is about 20 bytes: 100 bytes hold fewer than the 20 entries node 3 lacks.
    const { c } = missedTwenty({ snapshotCatchUpEntries: 25, snapshotCatchUpBytes: 100 });
    expect(c.stats.snapshotsInstalled).toBe(1);
    const leader = c.raft('1');
    const kept = leader.log.slice(leader.log.firstIndex(), (leader.log.lastIndex() + 1) as never, 1e9, 1e9);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.reduce((n, e) => n + e.payload.byteLength, 0)).toBeLessThanOrEqual(100);
  });

  it('with no tail (0), the log is cut at the snapshot as before', () => {
    const { c, compactedAt } = missedTwenty({ snapshotCatchUpEntries: 0 });
    expect(c.stats.snapshotsInstalled).toBe(1);
    expect(c.raft('1').log.firstIndex()).toBe(compactedAt + 1);
  });
});

const decodeLimits = { entriesMax: 256, bytesMax: 4 * 1024 * 1024 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the driver keeps the tail on disk, across a restart', () => {
  it('a follower that missed 20 entries before the compaction catches up without a snapshot', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const dirs = new Map<string, string>();
    const addresses = new Map<string, PeerAddress>();
    const transports = new Map<string, TcpTransport>();
    for (const n of ids) {
      const dir = await mkdtemp(join(tmpdir(), `distkv-tail-${n}-`));
      dirs.set(n, dir);
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const t = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, decodeLimits);
      transports.set(n, t);
      addresses.set(n, t.address);
    }
    const nodes = new Map<string, ReplicationNode>();
    cleanups.push(async () => {
      for (const n of nodes.values()) await n.stop();
    });
    const start = async (n: string, listen: PeerAddress | TcpTransport): Promise<ReplicationNode> => {
      const node = await ReplicationNode.start({
        id: n,
        leader: 'n1',
        peers: new Map([...addresses].filter(([p]) => p !== n)),
        dataDir: dirs.get(n) as string,
        mode: 'sync',
        listen,
        tickMs: 5,
        limits: { snapshotCatchUpEntries: 50 },
      });
      nodes.set(n, node);
      return node;
    };
    for (const n of ids) await start(n, transports.get(n) as TcpTransport);
    let leader = nodes.get('n1') as ReplicationNode;
    const put = (i: number) => leader.propose(commands.put(`key:${i}`, `value ${i}`));
    const converged = (): boolean =>
      [...nodes.values()].every(
        (n) => n.raft.log.applied === leader.raft.log.lastIndex() && leader.raft.log.committed === n.raft.log.applied,
      );

    await Promise.all(Array.from({ length: 100 }, (_, i) => put(i)));
    await waitUntil('applied everywhere', converged);
    await (nodes.get('n3') as ReplicationNode).stop();
    nodes.delete('n3');
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(100 + i)));
    const compactedAt = (await leader.compact()) ?? 0;
    expect(compactedAt).toBeGreaterThan(120);
    // Restart the leader, so that nothing sent before the compaction is still queued for n3: what n3 lacks
    // now exists only in the snapshot and in the tail the leader read back from its disk.
    await leader.stop();
    nodes.delete('n1');
    leader = await start('n1', addresses.get('n1') as PeerAddress);
    expect(leader.raft.log.snapshot().meta.index).toBe(compactedAt);
    expect(leader.raft.log.firstIndex()).toBe(compactedAt - 50 + 1);

    const n3 = await start('n3', addresses.get('n3') as PeerAddress);
    await waitUntil('n3 caught up', converged, 4000);
    expect(n3.replicationInfo().snapshots_installed).toBe(0);
    expect(n3.raft.log.firstIndex()).toBe(1); // its log was extended, never replaced
    expect(n3.store.getString('key:119')).toBe('value 119');
    expect(n3.store.digest()).toBe(leader.store.digest());
  }, 60_000);
});
