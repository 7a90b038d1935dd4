// Goal: an online backup seeds a new cluster (issue 19): GET /v1/snapshot on a running follower answers a checksummed
// snapshot of everything it applied, with its index and term; every node of a new cluster seeded from it (new ids, new
// peer addresses) starts with the data and elects a leader; a data directory that holds anything is refused, with the
// safe procedure named; a corrupt backup is refused.
// Method: in-process ClusterNodes on loopback (LocalCluster), writes through RESP (sent again until acknowledged:
// leadership may move on a loaded machine), the backup through fetch.
import { join } from 'node:path';
import { isDistkvError } from '@distkv/core';
import { Client } from '@distkv/net';
import { confState, DurableLog, type NodeId, readBackup } from '@distkv/replication';
import { describe, expect, it } from 'vitest';
import { localCluster, startCluster, url } from './helpers.js';

describe('online backup and restore', () => {
  it('backs up a live follower and seeds a new three-node cluster from it', async () => {
    const { nodes } = await startCluster(3);
    const leader = (): (typeof nodes)[number] | undefined => nodes.find((n) => n.status().role === 'leader');
    await expect.poll(() => leader() !== undefined).toBe(true);
    const client = await Client.connect({ port: (leader() as (typeof nodes)[number]).server.address.port });
    try {
      // A loaded machine may move leadership mid-way: a write answered TIMEOUT is sent again (the same value, so
      // a retry is harmless); the node it goes to forwards it to whoever leads.
      for (let i = 0; i < 200; i++)
        await expect.poll(() => client.call('SET', `k${i}`, `v${i}`).catch(() => 'retry'), { message: `SET k${i}` }).toBe('OK');
    } finally {
      await client.close();
    }
    const follower = nodes.find((n) => n !== leader()) as (typeof nodes)[number];
    await expect.poll(() => follower.replica.store.size).toBe(200);

    const res = await fetch(url(follower, '/v1/snapshot'));
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const backup = readBackup(bytes);
    expect(backup.meta.index).toBeGreaterThanOrEqual(200);
    expect(Number(res.headers.get('x-distkv-index'))).toBe(backup.meta.index);
    expect(Number(res.headers.get('x-distkv-term'))).toBe(backup.meta.term);
    expect([...(backup.meta.conf?.voters ?? [])].sort()).toEqual(['n1', 'n2', 'n3']);
    expect((await fetch(url(follower, '/v1/snapshot'), { method: 'POST' })).status).toBe(405);
    // One flipped byte: the checksum refuses it.
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 0xff;
    expect(() => readBackup(flipped)).toThrow(/checksum mismatch/);

    // A new cluster: its own peer ports, every node seeded from the same backup with the new members.
    const fresh = await localCluster(3);
    const addresses = Object.fromEntries(fresh.ids.map((id) => [id, `127.0.0.1:${fresh.peerPorts.get(id)}`]));
    const conf = confState(fresh.ids as NodeId[], [], [], addresses);
    for (const id of fresh.ids)
      await DurableLog.seed(join(fresh.root, id), { meta: { ...backup.meta, conf }, data: backup.data });
    // A directory that holds anything is refused: a member is replaced, never restored.
    const again = await DurableLog.seed(join(fresh.root, 'n1'), { meta: { ...backup.meta, conf }, data: backup.data }).catch(
      (err: unknown) => err,
    );
    expect(isDistkvError(again, 'DATA_DIR_NOT_EMPTY')).toBe(true);
    expect((again as Error).message).toMatch(/distkv member remove/);

    const restored = await fresh.startAll();
    await expect.poll(() => fresh.ready(), { message: 'the restored cluster elects a leader', timeout: 15_000 }).toBe(true);
    for (const n of restored) {
      expect(n.replica.store.size).toBe(200);
      expect(n.replica.store.getString('k199')).toBe('v199');
      expect(n.status().term).toBeGreaterThan(backup.meta.term);
    }
    // It takes writes past the backup's index.
    const restoredLeader = restored.find((n) => n.status().role === 'leader') as (typeof restored)[number];
    const c2 = await Client.connect({ port: restoredLeader.server.address.port });
    try {
      await expect.poll(() => c2.call('SET', 'after', 'restore').catch(() => 'retry')).toBe('OK');
    } finally {
      await c2.close();
    }
    expect(restoredLeader.status().commitIndex).toBeGreaterThan(backup.meta.index);
  });
});
