// Goal: membership over the admin API (issue 19): GET /v1/members lists the configuration from any node; POST adds a
// node only after it answers the peer handshake at the address given (a typo costs nothing), and the leader promotes
// it when asked (or once caught up, the default); /status, /metrics and INFO show learners and the configuration's index; DELETE removes it, and the removed node is told; a follower, a bad body, a second removal and a
// reused id get their registered errors.
// Method: three in-process ClusterNodes with Raft elections on loopback, and a fourth started with `join`, driven
// with fetch. A loaded machine may re-elect at any moment, so each change goes to whoever leads when it is sent, and
// one answered 421 NOT_LEADER is sent again (bounded polls).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from '@distkv/net/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterNode } from '../src/index.js';
import { sample, startCluster, url } from './helpers.js';

interface Members {
  leader: string | null;
  confIndex: number;
  members: Array<{ id: string; role: string; peerAddress: string | null; lag: number | null }>;
}

const extra: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of extra.splice(0).reverse()) await c();
});

describe('membership through the admin endpoint', () => {
  it('lists, adds a learner after a reachability check, shows it, promotes it, removes it; errors carry their codes', async () => {
    const { nodes, cluster } = await startCluster(3);
    const leaderOf = (): ClusterNode | undefined => nodes.find((n) => n.status().role === 'leader');
    await expect.poll(() => leaderOf() !== undefined, { message: 'a leader' }).toBe(true);
    const call = (node: ClusterNode, method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(url(node, path), {
        method,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        headers: { 'content-type': 'application/json' },
      });
    /** [status, error code or ''] of a change sent to the node that leads now; 'moved' when it no longer did. */
    const toLeader = async (method: string, path: string, body?: unknown): Promise<[number, string] | 'moved'> => {
      const leader = leaderOf();
      if (leader === undefined) return 'moved';
      const answer = await call(leader, method, path, body);
      const json = (await answer.json()) as { error?: string };
      return answer.status === 421 ? 'moved' : [answer.status, json.error ?? ''];
    };
    const settled = (method: string, path: string, body?: unknown) =>
      expect.poll(() => toLeader(method, path, body), { message: `${method} ${path}`, timeout: 15_000 });
    /**
     * A change sent until `done` holds: one answered 504 TIMEOUT on a loaded machine may commit anyway, and
     * sent again it is refused as already made (CONF_CHANGE_INVALID), so the members decide, not one answer.
     */
    const changed = async (method: string, path: string, body: unknown, done: () => Promise<boolean>) => {
      await expect
        .poll(async () => (await done()) || (await toLeader(method, path, body)).toString() === '200,', {
          message: `${method} ${path}`,
          timeout: 15_000,
        })
        .toBe(true);
      // Answered 200 by the leader: the node asked next may not have applied it yet.
      await expect.poll(done, { message: `${method} ${path} seen`, timeout: 15_000 }).toBe(true);
    };
    const list = async (node: ClusterNode): Promise<Members> =>
      (await (await call(node, 'GET', '/v1/members')).json()) as Members;
    const roles = async (node: ClusterNode): Promise<string> =>
      (await list(node)).members
        .map((m) => `${m.id}:${m.role}`)
        .sort()
        .join(' ');

    // Any node lists the members, with the peer addresses the cluster was created with.
    const follower = nodes.find((n) => n.status().role !== 'leader') as ClusterNode;
    const before = await list(follower);
    expect(await roles(follower)).toBe('n1:voter n2:voter n3:voter');
    expect(before.members.find((m) => m.id === 'n2')?.peerAddress).toBe(`127.0.0.1:${cluster.peerPorts.get('n2')}`);

    // Changes go to the leader; a bad body, a wrong method and an address where nothing answers are refused.
    const refused = await call(follower, 'POST', '/v1/members', { id: 'n4', peerAddress: '127.0.0.1:1' });
    expect([refused.status, ((await refused.json()) as { error: string }).error]).toEqual([421, 'NOT_LEADER']);
    await settled('POST', '/v1/members', '{"id": "n4"}').toEqual([400, 'HTTP_BODY_INVALID']);
    await settled('POST', '/v1/members', '[1]').toEqual([400, 'HTTP_BODY_INVALID']);
    expect((await call(follower, 'PUT', '/v1/members')).status).toBe(405);
    const nobody = await reservePort();
    await settled('POST', '/v1/members', { id: 'n4', peerAddress: `127.0.0.1:${nobody}` }).toEqual([400, 'MEMBER_UNREACHABLE']);
    await settled('POST', '/v1/members', { id: 'n4', peerAddress: 'no-port' }).toEqual([400, 'CONF_CHANGE_INVALID']);
    expect(await roles(follower)).toBe('n1:voter n2:voter n3:voter');

    // n4 starts as no member, knowing where the members are; the leader adds it and promotes it once caught up.
    const peerPort = await reservePort();
    const dir = mkdtempSync(join(tmpdir(), 'distkv-members-n4-'));
    extra.push(async () => rmSync(dir, { recursive: true, force: true }));
    const n4 = await ClusterNode.start({
      id: 'n4',
      join: true,
      peers: new Map(cluster.ids.map((id) => [id, { host: '127.0.0.1', port: cluster.peerPorts.get(id) as number }])),
      peerListen: { host: '127.0.0.1', port: peerPort },
      dataDir: dir,
      client: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
    });
    extra.push(() => n4.stop());
    let removedSettled = false;
    void n4.removed.then(() => {
      removedSettled = true;
    });
    // As a learner that stays one ("learner": true): /status, /metrics and INFO say so on every node.
    await changed('POST', '/v1/members', { id: 'n4', peerAddress: `127.0.0.1:${peerPort}`, learner: true }, async () =>
      (await roles(follower)).includes('n4:'),
    );
    await expect.poll(() => roles(n4), { message: 'n4 knows it is a learner' }).toBe('n1:voter n2:voter n3:voter n4:learner');
    const learning = (await (await call(n4, 'GET', '/status')).json()) as {
      membership: string;
      confIndex: number;
      learners: string[];
    };
    expect(learning).toMatchObject({ membership: 'learner', learners: ['n4'] });
    expect(learning.confIndex).toBeGreaterThan(before.confIndex);
    const metrics = await (await call(n4, 'GET', '/metrics')).text();
    expect(sample(metrics, 'distkv_raft_learners')).toBe(1);
    expect(sample(metrics, 'distkv_raft_is_voter')).toBe(0);
    expect(sample(metrics, 'distkv_raft_conf_index')).toBe(learning.confIndex);
    // Promoted through the API: a voter everywhere.
    await changed('POST', '/v1/members/n4/promote', undefined, async () => (await roles(follower)).includes('n4:voter'));
    await expect
      .poll(() => roles(follower), { message: 'n4 promoted', timeout: 15_000 })
      .toBe('n1:voter n2:voter n3:voter n4:voter');
    await expect.poll(async () => sample(await (await call(n4, 'GET', '/metrics')).text(), 'distkv_raft_voters')).toBe(4);
    expect(n4.replica.replicationInfo()).toMatchObject({ conf_role: 'voter', voters: 4, learners: 0 });
    // A second add of a member, and a promotion of a voter, are refused.
    await settled('POST', '/v1/members', { id: 'n4', peerAddress: `127.0.0.1:${peerPort}` }).toEqual([
      400,
      'CONF_CHANGE_INVALID',
    ]);
    await settled('POST', '/v1/members/n4/promote').toEqual([400, 'CONF_CHANGE_INVALID']);

    // DELETE removes it; the removed node is told, and its id is never used again.
    await changed('DELETE', '/v1/members/n4', undefined, async () => !(await roles(follower)).includes('n4:'));
    expect(await roles(follower)).not.toContain('n4');
    await expect.poll(() => removedSettled, { message: 'n4 hears it was removed', timeout: 15_000 }).toBe(true);
    await settled('DELETE', '/v1/members/n4').toEqual([400, 'CONF_CHANGE_INVALID']);
    await settled('POST', '/v1/members', { id: 'n4', peerAddress: `127.0.0.1:${peerPort}` }).toEqual([
      400,
      'CONF_CHANGE_INVALID',
    ]);
    expect((await call(follower, 'GET', '/v1/members/n4/promote')).status).toBe(405);
  });
});
