// Goal: a ClusterNode serves its admin endpoint — health, readiness, status, Prometheus metrics, and REST writes and reads through the same paths as RESP, with a bounded body, and errors as HTTP statuses (504 unknown outcome, 503 retry).
// Method: in-process ClusterNodes on 127.0.0.1 with port 0 and temp dirs (one voter, then three), driven with fetch and the RESP Client; waits are bounded polls.
import { DistkvError } from '@distkv/core';
import { Client } from '@distkv/net';
import { replicationError } from '@distkv/replication';
import { describe, expect, it } from 'vitest';
import { type ClusterNode, clusterErrorCodes, httpStatusOf, NodeMetrics } from '../src/index.js';
import { localCluster, quietStatus, startCluster as startNodes, url } from './helpers.js';

async function startCluster(size: number): Promise<ClusterNode[]> {
  return (await startNodes(size, { adminLimits: { httpBodyBytesMax: 1024 } })).nodes;
}

describe('the admin endpoint', () => {
  it('one voter: health, ready, status, metrics; REST PUT/GET/DELETE; 413, 404 and 405', async () => {
    const [node] = (await startCluster(1)) as [ClusterNode];
    expect((await fetch(url(node, '/health'))).status).toBe(200);
    expect((await fetch(url(node, '/ready'))).status).toBe(200);
    const status = (await (await fetch(url(node, '/status'))).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ id: 'n1', role: 'leader', leader: 'n1', readMode: 'read-index' });
    // A single voter is its own majority: its last contact is now.
    expect(status.lastContactMs).toBe(0);

    expect((await fetch(url(node, '/v1/kv/greeting'), { method: 'PUT', body: 'hello world' })).status).toBe(204);
    const got = await fetch(url(node, '/v1/kv/greeting'));
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello world');
    // The same store as RESP.
    const c = await Client.connect({ port: node.server.address.port });
    expect(String(await c.call('GET', 'greeting'))).toBe('hello world');
    await c.close();

    const tooBig = await fetch(url(node, '/v1/kv/big'), { method: 'PUT', body: 'x'.repeat(2048) });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: string }).error).toBe('HTTP_BODY_TOO_LARGE');
    expect((await fetch(url(node, '/v1/kv/big'))).status).toBe(404);

    expect((await fetch(url(node, '/v1/kv/greeting'), { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(url(node, '/v1/kv/greeting'))).status).toBe(404);
    const missing = await fetch(url(node, '/v1/kv/greeting'));
    expect(await missing.json()).toEqual({ error: 'HTTP_KEY_NOT_FOUND', message: 'no such key', definite: true });
    expect((await fetch(url(node, '/nope'))).status).toBe(404);
    // A path that exists, asked with a method it does not answer: 405 and the methods it does.
    const post = await fetch(url(node, '/v1/kv/greeting'), { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, PUT, DELETE']);
    expect(((await post.json()) as { error: string }).error).toBe('HTTP_METHOD_NOT_ALLOWED');
    const deleteStatus = await fetch(url(node, '/status'), { method: 'DELETE' });
    expect([deleteStatus.status, deleteStatus.headers.get('allow')]).toEqual([405, 'GET']);

    const metrics = await (await fetch(url(node, '/metrics'))).text();
    expect(metrics).toMatch(/^# HELP distkv_raft_term /m);
    expect(metrics).toMatch(/^distkv_raft_is_leader\{node="n1"\} 1$/m);
  });

  it('three voters: a REST write through a follower is forwarded; /status on the leader shows each peer', async () => {
    const cluster = await startCluster(3);
    // A loaded machine may re-elect now and then: every step is retried until it holds (bounded).
    const leader = (): ClusterNode | undefined => cluster.find((n) => n.status().role === 'leader');
    await expect
      .poll(
        async () => {
          const follower = cluster.find((n) => n !== leader());
          if (follower === undefined) return false;
          return (await fetch(url(follower, '/v1/kv/k'), { method: 'PUT', body: 'v' })).status === 204;
        },
        { message: 'a write through a follower' },
      )
      .toBe(true);
    for (const n of cluster)
      await expect
        .poll(async () => (await (await fetch(url(n, '/v1/kv/k'))).text()) === 'v', { message: `read on ${n.id}` })
        .toBe(true);
    await expect
      .poll(
        async () => {
          const l = leader();
          const follower = cluster.find((n) => n !== l);
          if (l === undefined || follower === undefined) return false;
          const status = (await (await fetch(url(l, '/status'))).json()) as { peers: Array<{ id: string }> };
          const peers = status.peers.map((p) => p.id).sort();
          const others = cluster
            .filter((n) => n !== l)
            .map((n) => n.id)
            .sort();
          const followerStatus = (await (await fetch(url(follower, '/status'))).json()) as { leaderAddress: string };
          const address = `127.0.0.1:${l.server.address.port}`;
          return JSON.stringify(peers) === JSON.stringify(others) && followerStatus.leaderAddress === address;
        },
        { message: 'the leader shows its peers, a follower the leader' },
      )
      .toBe(true);
  });

  it('maps errors to HTTP statuses: unknown outcome 504, retryable 503', async () => {
    expect(Object.keys(clusterErrorCodes)).toContain('HTTP_BODY_TOO_LARGE');
    expect(httpStatusOf(new Error('x'))).toBe(500);
    // Each status is the code's contract: full queues and a full disk are not the client's fault (they were 400).
    expect(httpStatusOf(replicationError('PROPOSALS_FULL', 'x'))).toBe(503);
    expect(httpStatusOf(replicationError('READS_FULL', 'x'))).toBe(503);
    expect(httpStatusOf(replicationError('TIMEOUT', 'no answer'))).toBe(504);
    expect(httpStatusOf(replicationError('TRYAGAIN', 'no leader'))).toBe(503);
    expect(httpStatusOf(new DistkvError('WAL_DISK_FULL', 'x'))).toBe(507);
    expect(httpStatusOf(new DistkvError('NOT_A_REGISTERED_CODE', 'x'))).toBe(500);

    // The same mapping on the wire, from the errors a REST write really meets. A fixed leader (nobody campaigns)
    // keeps each situation put: a follower that never heard from n1 says TRYAGAIN; once n1 is gone, a follower
    // that forwarded to it gets no answer within writeTimeoutMs, so the write may still apply: TIMEOUT.
    const cluster = await localCluster(3, { leader: 'n1', forwardLimits: { writeTimeoutMs: 300 } });
    const lonely = await cluster.start('n2');
    const retryable = await fetch(url(lonely, '/v1/kv/k'), { method: 'PUT', body: 'v' });
    expect([retryable.status, retryable.headers.get('retry-after')]).toEqual([503, '1']);
    expect(await retryable.json()).toMatchObject({ error: 'TRYAGAIN', definite: true });

    await cluster.start('n1');
    await cluster.start('n3');
    await expect.poll(() => cluster.ready(), { message: 'n2 and n3 follow n1' }).toBe(true);
    await cluster.stop('n1');
    const unknown = await fetch(url(lonely, '/v1/kv/k'), { method: 'PUT', body: 'v' });
    expect(unknown.status).toBe(504);
    expect(await unknown.json()).toMatchObject({ error: 'TIMEOUT', definite: false });
  });

  it('escapes label values in metrics', async () => {
    const metrics = new NodeMetrics('a"b');
    metrics.setSource(() => ({
      ...quietStatus,
      term: 1,
      lastContactMs: 1500,
      links: [{ id: 'p\n"q', state: 'connected', queued: 0, dropped: 0 }],
    }));
    const text = await metrics.text();
    expect(text).toContain('distkv_raft_term{node="a\\"b"} 1');
    expect(text).toContain('distkv_raft_last_contact_seconds{node="a\\"b"} 1.5');
    expect(text).toContain('distkv_peer_connected{peer="p\\n\\"q",node="a\\"b"} 1');
  });
});
