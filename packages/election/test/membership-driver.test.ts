// Goal: membership changes work in the running driver, not only in the pure state machine: a node started with
// `join` is added as a learner with its peer address, catches up by snapshot, is promoted by the leader on its own,
// and after a restart takes its members from its own snapshot; a removed follower stops being counted and is told it
// was removed when it next dials a member (its id is never reused), a removed
// leader hands over and says it was removed; no acknowledged write is lost through any of it.
// Method: ReplicationNodes with Raft elections in this process on loopback ports (real TCP, real WAL and snapshot
// files), driven through proposeConfChange. Waits are bounded polls on state, never sleeps that decide an outcome.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from '@distkv/core';
import { waitUntil } from '@distkv/core/testing';
import { type NodeId, type PeerAddress, ReplicationNode, type ReplicationNodeOptions, TcpTransport } from '@distkv/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { raftElection } from '../src/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Member {
  node: ReplicationNode;
  dir: string;
  address: PeerAddress;
  lines: string[];
}

async function listen(): Promise<TcpTransport> {
  return TcpTransport.listen({ host: '127.0.0.1', port: 0 }, { entriesMax: 256, bytesMax: 1 << 22 });
}

async function start(
  id: string,
  transport: TcpTransport,
  peers: ReadonlyMap<string, PeerAddress>,
  dir: string,
  extra: Partial<ReplicationNodeOptions> = {},
): Promise<Member> {
  const lines: string[] = [];
  const node = await ReplicationNode.start({
    id,
    election: raftElection(),
    peers,
    dataDir: dir,
    mode: 'sync',
    listen: transport,
    // Loopback's tick and heartbeat, with a 1–2 s election timeout: a loaded CI machine must not depose a
    // leader mid-test (the test is about membership, not failover; the handovers use TimeoutNow anyway).
    tickMs: 10,
    heartbeatIntervalTicks: 3,
    electionTimeoutTicks: 100,
    // No catch-up tail: a node that lacks a compacted entry gets the snapshot.
    limits: { snapshotCatchUpEntries: 0 },
    log: (line) => lines.push(line),
    ...extra,
  });
  return { node, dir, address: transport.address, lines };
}

describe('membership in the driver', () => {
  it('a joiner added and removed before it received anything is told it was removed (its hello reaches a member)', async () => {
    const nodes: ReplicationNode[] = [];
    cleanups.push(async () => {
      for (const n of nodes) await n.stop();
    });
    const transports = new Map<string, TcpTransport>();
    for (const id of ['n1', 'n2', 'n3']) transports.set(id, await listen());
    const addressOf = (id: string): PeerAddress => (transports.get(id) as TcpTransport).address;
    for (const id of ['n1', 'n2', 'n3']) {
      const dir = await mkdtemp(join(tmpdir(), `distkv-members-${id}-`));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const peers = new Map(['n1', 'n2', 'n3'].filter((p) => p !== id).map((p) => [p, addressOf(p)] as const));
      nodes.push((await start(id, transports.get(id) as TcpTransport, peers, dir)).node);
    }
    const leader = (): ReplicationNode | undefined => nodes.find((n) => n.status().role === 'leader');
    await waitUntil('a leader is elected', () => leader() !== undefined, 4000);
    const lead = leader() as ReplicationNode;

    // n4 joins (a client address, as a cluster node has: it is what the hello carries), but the change that
    // adds it names an address where nothing listens: the leader can send it nothing, not even its removal.
    const dir4 = await mkdtemp(join(tmpdir(), 'distkv-members-n4-'));
    cleanups.push(() => rm(dir4, { recursive: true, force: true }));
    const membersToReach = new Map(['n1', 'n2', 'n3'].map((p) => [p, addressOf(p)] as const));
    const n4 = await start('n4', await listen(), membersToReach, dir4, { join: true, clientAddress: '127.0.0.1:7004' });
    nodes.push(n4.node);
    const nowhere = await listen();
    const deadAddress = `127.0.0.1:${nowhere.address.port}`;
    await nowhere.close();
    await lead.proposeConfChange({ type: 'add-learner', node: 'n4' as NodeId, autoPromote: false, address: deadAddress });
    await lead.proposeConfChange({ type: 'remove', node: 'n4' as NodeId });
    expect(n4.node.status().conf.voters).toEqual([]); // it never heard of either change

    let told: { index: number | null; toldBy: string | null } | undefined;
    void n4.node.removed.then((how) => {
      told = how;
    });
    await waitUntil('the removed joiner is told', () => told !== undefined, 8000);
    expect(told?.index).toBeNull();
    expect(['n1', 'n2', 'n3']).toContain(told?.toldBy);
    expect(n4.lines.join('\n')).toMatch(/membership: n4 was removed from the cluster \(n\d said so when it dialed/);
  });

  it('joins a node by snapshot, promotes it, survives its restart, removes a follower and then the leader', async () => {
    const members = new Map<string, Member>();
    cleanups.push(async () => {
      for (const m of members.values()) await m.node.stop();
    });
    const newDir = async (id: string): Promise<string> => {
      const dir = await mkdtemp(join(tmpdir(), `distkv-members-${id}-`));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return dir;
    };
    const transports = new Map<string, TcpTransport>();
    for (const id of ['n1', 'n2', 'n3']) transports.set(id, await listen());
    const addresses = new Map([...transports].map(([id, t]) => [id, t.address] as const));
    const addressOf = (id: string): PeerAddress => addresses.get(id) as PeerAddress;
    for (const id of ['n1', 'n2', 'n3']) {
      const peers = new Map(['n1', 'n2', 'n3'].filter((p) => p !== id).map((p) => [p, addressOf(p)] as const));
      members.set(id, await start(id, transports.get(id) as TcpTransport, peers, await newDir(id)));
    }
    const leader = (): ReplicationNode | undefined =>
      [...members.values()].map((m) => m.node).find((n) => n.status().role === 'leader');
    await waitUntil('a leader is elected', () => leader() !== undefined, 4000);

    // Writes, acknowledged, and a compaction: the joiner can only catch up by snapshot.
    let written = 0;
    const write = async (): Promise<void> => {
      const at = leader();
      if (at === undefined) throw new Error('no leader');
      await at.execute(commands.put(`k${written}`, `v${written}`));
      written++;
    };
    for (let i = 0; i < 50; i++) await write();
    const first = leader() as ReplicationNode;
    expect(await first.compact()).toBeGreaterThan(0);

    // n4 starts knowing only where the members are; it is no member, and waits to be added.
    const t4 = await listen();
    const port4 = t4.address.port;
    const dir4 = await newDir('n4');
    const membersToReach = new Map(['n1', 'n2', 'n3'].map((p) => [p, addressOf(p)] as const));
    members.set('n4', await start('n4', t4, membersToReach, dir4, { join: true }));
    const n4 = (): ReplicationNode => (members.get('n4') as Member).node;
    expect(n4().status().conf.voters).toEqual([]);
    expect(n4().replicationInfo()).toMatchObject({ conf_role: 'none', conf_index: 0, voters: 0 });
    const added = await first.proposeConfChange({
      type: 'add-learner',
      node: 'n4' as NodeId,
      autoPromote: true,
      address: `127.0.0.1:${port4}`,
    });
    expect(added).toBeGreaterThan(50);
    await waitUntil(
      'the leader promotes n4 by itself once it is caught up',
      () => first.status().conf.voters.includes('n4' as NodeId),
      4000,
    );
    for (let i = 0; i < 20; i++) await write();
    await waitUntil('n4 applied every write', () => n4().store.digest() === first.store.digest(), 4000);
    expect([...n4().status().conf.voters].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(n4().replicationInfo()).toMatchObject({ conf_role: 'voter', conf_index: added + 1, voters: 4, learners: 0 });
    expect(n4().info()).toMatch(/member\d:id=n4,role=voter,/);
    // It learned every member's address from the configuration, its own included.
    expect(n4().status().conf.addresses.n4).toBe(`127.0.0.1:${port4}`);
    expect((members.get('n4') as Member).lines.join('\n')).toMatch(/snapshot: installed a snapshot at index/);
    const row = first.memberList().find((m) => m.id === 'n4');
    expect(row).toMatchObject({ role: 'voter', peerAddress: `127.0.0.1:${port4}` });
    expect(row?.lag).toBeLessThanOrEqual(first.raft.config.limits.learnerCatchUpEntriesMax);

    // n4 restarts from its own disk, after compacting past every membership change: its snapshot holds the members.
    expect(await n4().compact()).toBeGreaterThan(added);
    await n4().stop();
    members.delete('n4');
    const t4b = await TcpTransport.listen({ host: '127.0.0.1', port: port4 }, { entriesMax: 256, bytesMax: 1 << 22 });
    members.set('n4', await start('n4', t4b, membersToReach, dir4, { join: true }));
    expect([...n4().status().conf.voters].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    for (let i = 0; i < 10; i++) await write();
    await waitUntil(
      'the restarted n4 catches up',
      () => n4().store.digest() === (leader() as ReplicationNode).store.digest(),
      4000,
    );

    // Remove a follower: the others stop counting it at once; writes go on with three voters.
    const lead = leader() as ReplicationNode;
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== lead.id) as string;
    await lead.proposeConfChange({ type: 'remove', node: follower as NodeId });
    expect(lead.status().conf.voters).not.toContain(follower);
    for (let i = 0; i < 10; i++) await write();
    // The leader stopped sending to it, so it never applies its removal: it learns it when it next dials a
    // member (its election timeout runs out), which answers that a committed change removed it.
    const gone = members.get(follower) as Member;
    let told = false;
    void gone.node.removed.then(() => {
      told = true;
    });
    await waitUntil('the removed follower is told it was removed', () => told, 8000);
    expect(gone.lines.join('\n')).toMatch(
      new RegExp(`membership: ${follower} was removed from the cluster \\(n\\d said so when it dialed`),
    );
    expect(gone.node.status().role).not.toBe('leader');
    await gone.node.stop();
    members.delete(follower);
    // Its id is never used again: a fresh node must take another.
    await expect(
      lead.proposeConfChange({ type: 'add-learner', node: follower as NodeId, autoPromote: true, address: '127.0.0.1:1' }),
    ).rejects.toMatchObject({ code: 'CONF_CHANGE_INVALID', message: expect.stringMatching(/never used again/) });

    // Remove the leader itself (thesis §4.2.2): it hands over, says it was removed, and a remaining voter leads.
    const removedAt = await lead.proposeConfChange({ type: 'remove', node: lead.id });
    await lead.removed;
    await waitUntil(
      'a remaining voter leads',
      () => {
        const l = leader();
        return l !== undefined && l.id !== lead.id;
      },
      4000,
    );
    const leaderLines = (members.get(lead.id) as Member).lines.join('\n');
    expect(leaderLines).toContain(
      `membership: ${lead.id} was removed from the cluster (the change at index ${removedAt} committed)`,
    );
    await lead.stop();
    members.delete(lead.id);
    for (let i = 0; i < 10; i++) await write();
    const now = leader() as ReplicationNode;
    expect(now.status().conf.voters).toHaveLength(2);
    for (const m of members.values()) {
      await waitUntil(`${m.node.id} applied everything`, () => m.node.store.digest() === now.store.digest(), 4000);
    }
    // Every acknowledged write is there.
    for (let i = 0; i < written; i++) expect(now.store.get(`k${i}`)?.toString()).toBe(`v${i}`);

    // An original member restarts with the --peers it was created with: the log's members win, and it says so.
    const original = [...members.keys()].find((id) => id !== 'n4') as string;
    const stale = new Map(['n1', 'n2', 'n3'].filter((p) => p !== original).map((p) => [p, addressOf(p)] as const));
    const { dir, address } = members.get(original) as Member;
    await (members.get(original) as Member).node.stop();
    members.delete(original);
    const again = await TcpTransport.listen(address, { entriesMax: 256, bytesMax: 1 << 22 });
    members.set(original, await start(original, again, stale, dir));
    const restarted = members.get(original) as Member;
    expect([...restarted.node.status().conf.voters].sort()).toEqual([original, 'n4'].sort());
    expect(restarted.lines.join('\n')).toMatch(
      new RegExp(
        `membership: the log's configuration \\(voters ${[original, 'n4'].sort().join(',')}, index \\d+\\) differs from --peers \\(n1,n2,n3\\); the log wins`,
      ),
    );
    await waitUntil('a leader again', () => leader() !== undefined, 8000);
    for (let i = 0; i < 5; i++) await write();

    // n4 moves to another port. Who the members are is the log's word; where one is, --peers may say anew.
    for (const id of [original, 'n4']) {
      await (members.get(id) as Member).node.stop();
      members.delete(id);
    }
    const moved = await listen();
    const t1 = await TcpTransport.listen(address, { entriesMax: 256, bytesMax: 1 << 22 });
    members.set('n4', await start('n4', moved, new Map([[original, address]]), dir4));
    members.set(original, await start(original, t1, new Map([['n4', moved.address]]), dir));
    const movedLines = (members.get(original) as Member).lines.join('\n');
    expect(movedLines).toContain(`membership: --peers puts n4 at 127.0.0.1:${moved.address.port}, the log at 127.0.0.1:${port4}`);
    await waitUntil('the two voters elect a leader at their new addresses', () => leader() !== undefined, 8000);
    for (let i = 0; i < 5; i++) await write();
    const last = leader() as ReplicationNode;
    for (let i = 0; i < written; i++) expect(last.store.get(`k${i}`)?.toString()).toBe(`v${i}`);
  }, 60_000);
});
