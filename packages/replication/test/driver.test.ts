// Goal: the driver runs the state machine over a real WAL and real TCP: three nodes converge, and a follower that was down catches up by snapshot.
// Method: three ReplicationNodes in this process on loopback ports with temporary data directories; waits are bounded polls on state, never sleeps that decide.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from '@distkv/core';
import { waitUntil } from '@distkv/core/testing';
import { type NodeId, type PeerAddress, ReplicationNode, type ReplicationNodeOptions, TcpTransport } from '@distkv/replication';
import { afterEach, describe, expect, it } from 'vitest';

const decodeLimits = { entriesMax: 256, bytesMax: 4 * 1024 * 1024 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(mode: 'sync' | 'async', extra: Partial<ReplicationNodeOptions> = {}) {
  const ids = ['n1', 'n2', 'n3'];
  const dirs = new Map<string, string>();
  const addresses = new Map<string, PeerAddress>();
  const transports = new Map<string, TcpTransport>();
  for (const id of ids) {
    const dir = await mkdtemp(join(tmpdir(), `distkv-repl-${id}-`));
    dirs.set(id, dir);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const t = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, decodeLimits);
    transports.set(id, t);
    addresses.set(id, t.address);
  }
  const nodes = new Map<string, ReplicationNode>();
  const start = async (id: string, listen: PeerAddress | TcpTransport): Promise<ReplicationNode> => {
    const node = await ReplicationNode.start({
      id,
      leader: 'n1',
      peers: new Map([...addresses].filter(([p]) => p !== id)),
      dataDir: dirs.get(id) as string,
      mode,
      listen,
      tickMs: 5,
      clientAddress: `127.0.0.1:${7000 + Number(id.slice(1))}`,
      ...extra,
    });
    nodes.set(id, node);
    return node;
  };
  for (const id of ids) await start(id, transports.get(id) as TcpTransport);
  cleanups.push(async () => {
    for (const n of nodes.values()) await n.stop();
  });
  return { nodes, addresses, transports, start };
}

function converged(nodes: Map<string, ReplicationNode>): boolean {
  const leader = nodes.get('n1') as ReplicationNode;
  const last = leader.raft.log.lastIndex();
  if (leader.raft.log.committed !== last) return false;
  return [...nodes.values()].every((n) => n.raft.log.applied === last);
}

/**
 * With n3 down: compacts the leader's log, restarts the leader (so that
 * nothing sent before the compaction is still queued for n3: what n3 lacks
 * now exists only in the snapshot), then starts n3 and waits for it to
 * converge. The restarted leader, n3, and the index compacted up to.
 */
async function catchUpBySnapshot(
  { nodes, addresses, start }: Awaited<ReturnType<typeof cluster>>,
  leader: ReplicationNode,
): Promise<{ leader: ReplicationNode; n3: ReplicationNode; compactedAt: number }> {
  const compactedAt = (await leader.compact()) ?? 0;
  await leader.stop();
  nodes.delete('n1');
  const restarted = await start('n1', addresses.get('n1') as PeerAddress);
  expect(restarted.raft.log.firstIndex()).toBe(compactedAt + 1);
  const n3 = await start('n3', addresses.get('n3') as PeerAddress);
  await waitUntil('n3 caught up by snapshot', () => converged(nodes), 4000);
  expect(n3.raft.log.firstIndex()).toBeGreaterThan(compactedAt); // its log begins after the snapshot it installed
  return { leader: restarted, n3, compactedAt };
}

describe('driver: Ready carried out over @distkv/wal and @distkv/net', () => {
  it('sync: writes through the leader reach every node; a follower that was down catches up', async () => {
    const { nodes, addresses, start } = await cluster('sync');
    const leader = nodes.get('n1') as ReplicationNode;
    const put = (i: number) => leader.propose(commands.put(`key:${i}`, `value ${i}`));

    const first = await Promise.all(Array.from({ length: 200 }, (_, i) => put(i)));
    expect(first.every((r) => r.result?.ok === true)).toBe(true);
    await waitUntil('all nodes applied the first 200 writes', () => converged(nodes));
    const digests = [...nodes.values()].map((n) => n.store.digest());
    expect(new Set(digests).size).toBe(1);
    expect(digests[0]).toMatch(/^200:/);

    // n3 goes away; the cluster keeps committing with a majority.
    await (nodes.get('n3') as ReplicationNode).stop();
    nodes.delete('n3');
    await Promise.all(Array.from({ length: 200 }, (_, i) => put(200 + i)));
    const compactedAt = await leader.compact();
    expect(compactedAt).toBeGreaterThan(200);
    expect(leader.raft.log.snapshot().meta.index).toBe(compactedAt);

    // n3 restarts from its own data directory, on its old port. (Whether it
    // gets a snapshot or the entries depends on what was still in flight.)
    const n3 = await start('n3', addresses.get('n3') as PeerAddress);
    await waitUntil('n3 caught up', () => converged(nodes), 4000);
    expect(new Set([...nodes.values()].map((n) => n.store.digest())).size).toBe(1);
    expect(n3.store.getString('key:399')).toBe('value 399');
  }, 60_000);

  it('§7 a follower that needs compacted entries catches up by snapshot', async () => {
    // No catch-up tail: the entries n3 lacks exist only in the snapshot (snapshot-catch-up.test.ts keeps one).
    const c = await cluster('sync', { limits: { snapshotCatchUpEntries: 0 } });
    const { nodes } = c;
    const put = (i: number) => (nodes.get('n1') as ReplicationNode).propose(commands.put(`key:${i}`, `value ${i}`));
    await Promise.all(Array.from({ length: 100 }, (_, i) => put(i)));
    await waitUntil('applied everywhere', () => converged(nodes));
    await (nodes.get('n3') as ReplicationNode).stop();
    nodes.delete('n3');
    await Promise.all(Array.from({ length: 100 }, (_, i) => put(100 + i)));
    const { leader, n3, compactedAt } = await catchUpBySnapshot(c, nodes.get('n1') as ReplicationNode);
    expect(compactedAt).toBeGreaterThan(101);
    expect(n3.store.digest()).toBe(leader.store.digest());
    expect(n3.store.getString('key:199')).toBe('value 199');
  }, 60_000);

  it('state survives a restart of every node from its data directory', async () => {
    const { nodes, addresses, start } = await cluster('sync');
    const leader = nodes.get('n1') as ReplicationNode;
    await Promise.all(Array.from({ length: 50 }, (_, i) => leader.propose(commands.incrBy('counter', i))));
    await waitUntil('applied everywhere', () => converged(nodes));
    const digest = leader.store.digest();
    const termBefore = leader.raft.term;
    for (const [id, n] of [...nodes]) {
      await n.stop();
      nodes.delete(id);
    }
    // Same data directories, same ports. The commit index is not persisted, so
    // the restarted leader must hear from a majority before anything re-applies.
    for (const id of ['n2', 'n3', 'n1']) await start(id, addresses.get(id) as PeerAddress);
    const again = nodes.get('n1') as ReplicationNode;
    expect(again.raft.term).toBe(termBefore + 1); // the configured leader takes a new term at each start
    await waitUntil('every node re-applied its log', () => converged(nodes), 4000);
    for (const n of nodes.values()) expect(n.store.digest()).toBe(digest);
    expect(again.store.getString('counter')).toBe(String((49 * 50) / 2));
  }, 60_000);

  it('async: a proposal is acknowledged after the leader persists it, before it is applied', async () => {
    const { nodes } = await cluster('async');
    const leader = nodes.get('n1') as ReplicationNode;
    const r = await leader.propose(commands.put('k', 'v'));
    expect(r.result).toBeUndefined();
    await waitUntil('applied everywhere', () => converged(nodes));
    for (const n of nodes.values()) expect(n.store.getString('k')).toBe('v');
  }, 60_000);

  it("INFO replication reports role, leader, term, indexes and each follower's match and lag", async () => {
    const { nodes } = await cluster('sync');
    const leader = nodes.get('n1') as ReplicationNode;
    await leader.propose(commands.put('k', 'v'));
    await waitUntil('the leader knows every follower matches it', () =>
      ['n2', 'n3'].every((id) => leader.status().progress?.get(id as NodeId)?.match === leader.raft.log.lastIndex()),
    );
    const info = leader.info();
    expect(info.split('\r\n').slice(0, 8)).toEqual([
      'role:leader',
      'node_id:n1',
      'leader_id:n1',
      'leader_addr:127.0.0.1:7001',
      'replication_mode:sync',
      'term:1',
      'commit_index:2',
      'applied_index:2',
    ]);
    expect(info).toMatch(/\r\nfollower0:id=n2,state=replicate,match_index=2,lag=0\r\n/);
    const follower = nodes.get('n2') as ReplicationNode;
    expect(follower.info()).toMatch(/^role:follower\r\nnode_id:n2\r\nleader_id:n1\r\n/);
    await waitUntil("the follower heard the leader's hello", () => follower.info().includes('leader_addr:127.0.0.1:7001'));
    // Heartbeats: both sides have heard the other, so each reports a contact age in ms.
    expect(leader.replicationInfo().last_contact_ms).toEqual(expect.any(Number));
    expect(follower.replicationInfo().last_contact_ms).toEqual(expect.any(Number));
    // Every voter is named with its client address, so asking one node finds the others; an admin
    // address set on one node reaches the others in its hello.
    leader.setHttpAddress('127.0.0.1:7201');
    await waitUntil(
      "the follower heard the leader's admin address",
      () => follower.peerHttpAddresses().get('n1') === '127.0.0.1:7201',
    );
    const members = follower
      .info()
      .split('\r\n')
      .filter((line) => line.startsWith('member'));
    expect(members).toHaveLength(3);
    // This node first (its own contact age is 0), then its peers.
    expect(members[0]).toBe('member0:id=n2,role=voter,client_addr=127.0.0.1:7002,http_addr=,last_contact_ms=0');
    expect(members.find((m) => m.includes('id=n1,'))).toMatch(
      /^member\d:id=n1,role=voter,client_addr=127\.0\.0\.1:7001,http_addr=127\.0\.0\.1:7201,last_contact_ms=\d+$/,
    );
    expect(leader.replicationInfo().http_addr).toBe('127.0.0.1:7201');
  }, 60_000);

  it("fsync other than always is for a single voter only; a single server's data dir is refused, not ignored", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-repl-fsync-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const base = { id: 'n1', dataDir: dir, mode: 'sync' as const, listen: { host: '127.0.0.1', port: 0 }, tickMs: 5 };
    await expect(
      ReplicationNode.start({ ...base, peers: new Map([['n2', { host: '127.0.0.1', port: 1 }]]), fsync: 'none' }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('single voter') });
    // One voter, fsync none: it elects itself and commits alone; a restart has the write (the process exited cleanly).
    let node = await ReplicationNode.start({ ...base, peers: new Map(), fsync: 'none' });
    await waitUntil('the single voter leads', () => node.status().role === 'leader');
    await node.propose(commands.put('solo', 'v'));
    await node.stop();
    node = await ReplicationNode.start({ ...base, peers: new Map() });
    cleanups.push(() => node.stop());
    await waitUntil('the single voter applied its log again', () => node.store.get('solo') !== undefined);
    expect(String(node.store.get('solo'))).toBe('v');

    const single = await mkdtemp(join(tmpdir(), 'distkv-repl-single-'));
    cleanups.push(() => rm(single, { recursive: true, force: true }));
    await writeFile(join(single, `${'1'.padStart(20, '0')}.wal`), '');
    await expect(ReplicationNode.start({ ...base, dataDir: single, peers: new Map() })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining("single server's data"),
    });
  }, 60_000);

  it('a follower refuses proposals with NOT_LEADER (definite)', async () => {
    const { nodes } = await cluster('sync');
    await expect((nodes.get('n2') as ReplicationNode).propose(commands.put('k', 'v'))).rejects.toMatchObject({
      code: 'NOT_LEADER',
      definite: true,
    });
  }, 60_000);
});

describe('client sessions through the driver', () => {
  it('a follower that installs a snapshot gets the session table with it, and a resent numbered write applies once', async () => {
    // No catch-up tail: the entries n3 lacks exist only in the snapshot (snapshot-catch-up.test.ts keeps one).
    const c = await cluster('sync', { limits: { snapshotCatchUpEntries: 0 } });
    const { nodes } = c;
    const leader = nodes.get('n1') as ReplicationNode;
    const opened = await leader.execute(commands.openSession());
    const id = opened.ok && opened.op === 'openSession' ? opened.session : 0;
    expect(id).toBeGreaterThan(0);
    const incr = (seq: number) => leader.execute(commands.session(id, seq, commands.incrBy('n', 1)));
    expect(await incr(1)).toMatchObject({ ok: true, value: 1n });
    await waitUntil('applied everywhere', () => converged(nodes));
    await (nodes.get('n3') as ReplicationNode).stop();
    nodes.delete('n3');
    for (let seq = 2; seq <= 40; seq++) await incr(seq);
    expect(await incr(40)).toMatchObject({ ok: true, value: 40n }); // a resend: the first result, no apply
    const { leader: restarted, n3 } = await catchUpBySnapshot(c, leader);
    expect(n3.store.sessionCount).toBe(1);
    expect(n3.store.digest()).toBe(restarted.store.digest()); // the digest covers the session table
    // Resent through the follower that restored it (forwarded): still the first answer.
    expect(await n3.execute(commands.session(id, 40, commands.incrBy('n', 1)))).toMatchObject({ ok: true, value: 40n });
    expect(n3.store.getString('n')).toBe('40');
  }, 60_000);
});

describe('definite and indefinite errors of the write path', () => {
  it('a write pending when its leader stops fails TIMEOUT (indefinite), never a definite code; a stopped node refuses with TRYAGAIN', async () => {
    const { nodes } = await cluster('sync');
    const leader = nodes.get('n1') as ReplicationNode;
    await waitUntil('the leader committed its first entry', () => leader.raft.log.committed >= 1);
    // Without followers nothing can commit: the write stays pending until the stop.
    await (nodes.get('n2') as ReplicationNode).stop();
    await (nodes.get('n3') as ReplicationNode).stop();
    const pending = leader.execute(commands.put('k', 'v')).then(
      () => 'applied',
      (err: unknown) => err,
    );
    await waitUntil('the entry is in the leader log', () => leader.raft.log.lastIndex() > leader.raft.log.committed);
    await leader.stop();
    expect(await pending).toMatchObject({
      code: 'TIMEOUT',
      definite: false,
      message: expect.stringMatching(/NODE_STOPPED/),
    });
    await expect(leader.execute(commands.put('k', 'v'))).rejects.toMatchObject({ code: 'TRYAGAIN', definite: true });
  }, 60_000);

  it('a forwarded write that could not be sent fails TRYAGAIN (definite) at once, as a forwarded read does', async () => {
    // writeTimeoutMs is short so that a write left waiting would end in TIMEOUT, which the assertions refuse.
    const { nodes, transports } = await cluster('sync', { readMode: 'read-index', forwardLimits: { writeTimeoutMs: 1_000 } });
    const leader = nodes.get('n1') as ReplicationNode;
    const follower = nodes.get('n2') as ReplicationNode;
    await waitUntil('the follower knows its leader', () => follower.raft.leader === 'n1');
    // The node runs on, but nothing can leave it: every sendControl returns false.
    await (transports.get('n2') as TcpTransport).close();
    const notSent = { code: 'TRYAGAIN', definite: true, message: expect.stringMatching(/no connection to leader n1/) };
    await expect(follower.readBarrier()).rejects.toMatchObject(notSent);
    await expect(follower.execute(commands.put('k', 'v'))).rejects.toMatchObject(notSent);
    expect(follower.replicationInfo().forwards_pending).toBe(0);
    expect(leader.store.getString('k')).toBeUndefined();
  }, 60_000);
});
