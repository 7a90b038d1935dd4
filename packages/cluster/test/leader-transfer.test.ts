// Goal: leadership transfer reaches the running node (issue 17): POST /v1/leader/transfer on the leader hands
// leadership to the named voter, answers once it leads, and the new leader serves writes; a follower, an unknown
// target and a bad body get their registered errors.
// Method: three in-process ClusterNodes with Raft elections on loopback, driven with fetch and the RESP Client.
// A loaded machine may re-elect at any moment, so each request goes to whoever leads when it is sent, and one
// answered 421 NOT_LEADER (leadership moved meanwhile) is sent again to the new leader (bounded polls).
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
    /** [status, error code] of `body` posted to the node that leads now; a 421 means it moved: not settled yet. */
    const toLeader = async (body: string): Promise<[number, string] | 'moved'> => {
      const leader = leaderOf();
      if (leader === undefined) return 'moved';
      const answer = await post(leader, body);
      const json = (await answer.json()) as { error?: string; leader?: string };
      return answer.status === 421 ? 'moved' : [answer.status, json.error ?? json.leader ?? ''];
    };
    await expect.poll(() => leaderOf() !== undefined, { message: 'a leader' }).toBe(true);

    // A follower cannot hand over what it does not hold: 421 NOT_LEADER.
    const follower = nodes.find((n) => n.status().role !== 'leader') as ClusterNode;
    const notLeader = await post(follower, JSON.stringify({ to: follower.id }));
    expect([notLeader.status, ((await notLeader.json()) as { error: string }).error]).toEqual([421, 'NOT_LEADER']);

    const settled = (body: string) => expect.poll(() => toLeader(body), { message: body });
    await settled(JSON.stringify({ to: 'n9' })).toEqual([400, 'TRANSFER_TARGET_INVALID']);
    await settled('{"target": "n2"}').toEqual([400, 'HTTP_BODY_INVALID']);
    const get = await fetch(url(follower, '/v1/leader/transfer'));
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);

    // Hand it to a node that does not lead now; the answer names it once it leads.
    let target: ClusterNode | undefined;
    await expect
      .poll(
        async () => {
          target = nodes.find((n) => n !== leaderOf());
          if (target === undefined) return 'moved';
          const answer = await toLeader(JSON.stringify({ to: target.id, timeoutMs: 10_000 }));
          return answer === 'moved' ? answer : [answer[0], answer[1] === target.id ? 'the target' : answer[1]];
        },
        { message: 'a transfer to a follower' },
      )
      .toEqual([200, 'the target']);
    const client = await Client.connect({ port: (target as ClusterNode).server.address.port });
    try {
      // Through the node that now leads, or forwarded to whoever leads after it: the write is served.
      await expect.poll(() => client.call('SET', 'after-transfer', 'yes').catch(() => 'retry')).toBe('OK');
      expect(String(await client.call('GET', 'after-transfer'))).toBe('yes');
    } finally {
      await client.close();
    }
  });
});
