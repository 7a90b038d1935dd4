// Goal: leadership transfer reaches the running node (issue 17): POST /v1/leader/transfer on the leader hands
// leadership to the named voter, answers once it leads, and the new leader serves writes; a follower, an unknown
// target and a bad body get their registered errors.
// Method: three in-process ClusterNodes with Raft elections on loopback, driven with fetch and the RESP Client.
import { Client } from '@distkv/net';
import { describe, expect, it } from 'vitest';
import type { ClusterNode } from '../src/index.js';
import { startCluster, url } from './helpers.js';

const post = (node: ClusterNode, body: string): Promise<Response> =>
  fetch(url(node, '/v1/leader/transfer'), { method: 'POST', body, headers: { 'content-type': 'application/json' } });

describe('leadership transfer through the admin endpoint', () => {
  it('hands leadership to the named voter, which then serves writes; errors carry their codes', async () => {
    const { nodes } = await startCluster(3);
    const leaderOf = (): ClusterNode | undefined => nodes.find((n) => n.status().role === 'leader');
    await expect.poll(() => leaderOf() !== undefined, { message: 'a leader' }).toBe(true);
    const leader = leaderOf() as ClusterNode;
    const target = nodes.find((n) => n !== leader) as ClusterNode;
    const other = nodes.find((n) => n !== leader && n !== target) as ClusterNode;

    // A follower cannot hand over what it does not hold: 421 NOT_LEADER.
    const notLeader = await post(other, JSON.stringify({ to: target.id }));
    expect(notLeader.status).toBe(421);
    expect(await notLeader.json()).toMatchObject({ error: 'NOT_LEADER', definite: true });

    const invalid = await post(leader, JSON.stringify({ to: 'n9' }));
    expect([invalid.status, ((await invalid.json()) as { error: string }).error]).toEqual([400, 'TRANSFER_TARGET_INVALID']);
    const noTo = await post(leader, '{"target": "n2"}');
    expect([noTo.status, ((await noTo.json()) as { error: string }).error]).toEqual([400, 'HTTP_BODY_INVALID']);
    const get = await fetch(url(leader, '/v1/leader/transfer'));
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);

    const moved = await post(leader, JSON.stringify({ to: target.id, timeoutMs: 10_000 }));
    const body = (await moved.json()) as { leader: string; tookMs: number };
    expect([moved.status, body.leader]).toEqual([200, target.id]);
    expect(body.tookMs).toBeGreaterThanOrEqual(0);
    expect(target.status().role).toBe('leader');

    const client = await Client.connect({ port: target.server.address.port });
    try {
      expect(await client.call('SET', 'after-transfer', 'yes')).toBe('OK');
      expect(String(await client.call('GET', 'after-transfer'))).toBe('yes');
    } finally {
      await client.close();
    }
  });
});
