// Goal: the admin HTTP endpoint of `distkv server --http-port` in real processes: /health, /ready, /status (JSON),
// /metrics (Prometheus text) and REST GET|PUT|DELETE /v1/kv/:key through a follower and through the leader.
// Method: 3 processes with HTTP ports; fetch; bounded polls while the cluster elects.
import { describe, expect, it } from 'vitest';
import { processClusterPerTest, waitLeader } from './process-cluster.js';

/**
 * A request answered 503 (no leader right now: an election on a loaded
 * machine) did not take effect for a read, and PUT/DELETE are idempotent,
 * so it is sent again; at most 100 times, 100 ms apart.
 */
async function settled(request: () => Promise<Response>): Promise<Response> {
  for (let i = 0; ; i++) {
    const response = await request();
    if (response.status !== 503 || i === 100) return response;
    await response.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
  }
}

const processCluster = processClusterPerTest();

describe('admin HTTP endpoint of real processes', () => {
  it('answers health, readiness, status and metrics, and serves REST writes and reads through any node', async () => {
    const c = await processCluster(3, [], { http: true });
    await c.startAll();
    const leader = await waitLeader(c);
    const follower = c.ids.find((id) => id !== leader) as string;
    const url = (id: string, path: string) => `http://127.0.0.1:${c.httpPort(id)}${path}`;

    for (const id of c.ids) {
      const health = await fetch(url(id, '/health'));
      expect(health.status).toBe(200);
      expect(await health.text()).toBe('ok\n');
      await expect.poll(async () => (await fetch(url(id, '/ready'))).status === 200, { message: `${id} is ready` }).toBe(true);
      const status = (await (await fetch(url(id, '/status'))).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ id, leader, role: id === leader ? 'leader' : 'follower', readMode: 'read-index' });
      expect(typeof status.commitIndex).toBe('number');
      if (id === leader) expect((status.peers as unknown[]).length).toBe(2);
    }

    for (const [via, key] of [
      [follower, 'via-follower'],
      [leader, 'via-leader'],
    ] as const) {
      const put = await settled(() => fetch(url(via, `/v1/kv/${key}`), { method: 'PUT', body: `value of ${key}` }));
      expect(put.status).toBe(204);
      // Read back through the other kind of node, and over RESP.
      const other = via === leader ? follower : leader;
      const get = await settled(() => fetch(url(other, `/v1/kv/${key}`)));
      expect(get.status).toBe(200);
      expect(await get.text()).toBe(`value of ${key}`);
      expect(String(await c.call(via, 'GET', key))).toBe(`value of ${key}`);
      const del = await settled(() => fetch(url(via, `/v1/kv/${key}`), { method: 'DELETE' }));
      expect(del.status).toBe(204);
      const gone = await settled(() => fetch(url(other, `/v1/kv/${key}`)));
      expect(gone.status).toBe(404);
      expect(await gone.json()).toMatchObject({ error: 'HTTP_KEY_NOT_FOUND' });
      expect((await fetch(url(via, `/v1/kv/${key}`), { method: 'DELETE' })).status).toBe(404);
    }

    const metrics = await fetch(url(leader, '/metrics'));
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^# HELP /m);
    expect(text).toMatch(/^# TYPE /m);
    expect(text).toMatch(/distkv_\w+/);
    expect((await fetch(url(leader, '/no-such-route'))).status).toBe(404);
  });
});
