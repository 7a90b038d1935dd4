// Goal: a full node admits only the peers, clients and admin requests it should, and survives hostile HTTP traffic.
// Method: in-process ClusterNodes on 127.0.0.1 (port 0, peer ports from the kit, temp dirs); a 3-node cluster whose third node has the
// wrong cluster secret; the admin endpoint driven with fetch and raw sockets; waits are bounded polls or close events.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, parseUserSpec } from '@distkv/net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ClusterNode, type ClusterNodeOptions } from '../src/index.js';
import { localCluster, sample, url } from './helpers.js';

const SECRET = 'the-right-cluster-secret-0123456789';
const root = mkdtempSync(join(tmpdir(), 'distkv-cluster-security-'));
const started: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
async function start(options: Partial<ClusterNodeOptions> & { id: string }): Promise<ClusterNode> {
  const node = await ClusterNode.start({
    peers: new Map(),
    peerListen: { host: '127.0.0.1', port: 0 },
    dataDir: join(root, `${options.id}-${dirs++}`),
    client: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    ...options,
  });
  started.push(node);
  return node;
}

describe('a node with the wrong cluster secret', () => {
  it('cannot join: the other two elect and serve, it never learns a leader, and its log says why', async () => {
    const logs = new Map<string, string[]>(['n1', 'n2', 'n3'].map((id) => [id, []]));
    const cluster = await localCluster(3, (id) => ({
      security: { clusterSecret: id === 'n3' ? `${SECRET}-wrong` : SECRET },
      log: (line) => logs.get(id)?.push(line),
    }));
    const nodes = await cluster.startAll();
    const [n1, n2, n3] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    await expect
      .poll(() => n1.ready() && n2.ready() && n1.status().leader === n2.status().leader, {
        message: 'n1 and n2 agree on a leader',
      })
      .toBe(true);
    // Through either of the two: a follower forwards. SET is idempotent, so a write that met an election on a loaded
    // machine (-TRYAGAIN, -TIMEOUT) is sent again; the point is that n1 and n2 serve without n3.
    const client = await Client.connect({ port: n1.server.address.port });
    let reply: unknown;
    await expect
      .poll(
        async () => {
          reply = await client.call('SET', 'k', 'written without n3').catch((e: unknown) => e);
          return reply === 'OK';
        },
        { message: 'n1 and n2 acknowledge a write' },
      )
      .toBe(true);
    expect(reply).toBe('OK');
    await client.close();
    await expect
      .poll(() => (logs.get('n3') ?? []).some((l) => /cluster secret/.test(l)), { message: 'n3 logged the refusal' })
      .toBe(true);
    await expect
      .poll(() => [...(logs.get('n1') ?? []), ...(logs.get('n2') ?? [])].some((l) => /cluster secret/.test(l)), {
        message: 'n1 or n2 logged the refusal',
      })
      .toBe(true);
    expect(n3.status().leader).toBeNull();
    expect(n3.status().commitIndex).toBe(0);
    expect(n3.replica.store.get(Buffer.from('k'))).toBeUndefined();
  }, 60_000);
});

describe('the admin endpoint', () => {
  const users = [parseUserSpec('alice:rw:alice-pw'), parseUserSpec('bob:ro:bob-pw')];
  const basic = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });

  it('keeps read-only pages open on loopback, and asks the client port’s credentials for keys and writes', async () => {
    const node = await start({ id: 'solo', security: { users } });
    await expect.poll(() => node.ready(), { message: 'the node leads itself' }).toBe(true);
    expect((await fetch(url(node, '/health'))).status).toBe(200);
    expect((await fetch(url(node, '/status'))).status).toBe(200);
    const anonymous = await fetch(url(node, '/v1/kv/a'), { method: 'PUT', body: 'x' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="distkv"/);
    const readOnly = await fetch(url(node, '/v1/kv/a'), { method: 'PUT', body: 'x', headers: basic('bob', 'bob-pw') });
    expect(readOnly.status).toBe(403);
    expect(await readOnly.json()).toMatchObject({ error: 'NOPERM' });
    const wrong = await fetch(url(node, '/v1/kv/a'), { method: 'PUT', body: 'x', headers: basic('alice', 'nope') });
    expect(wrong.status).toBe(401);
    const written = await fetch(url(node, '/v1/kv/a'), { method: 'PUT', body: 'x', headers: basic('alice', 'alice-pw') });
    expect(written.status).toBe(204);
    expect((await fetch(url(node, '/v1/kv/a'))).status).toBe(401);
    const read = await fetch(url(node, '/v1/kv/a'), { headers: basic('bob', 'bob-pw') });
    expect(await read.text()).toBe('x');
    const metrics = await (await fetch(url(node, '/metrics'))).text();
    expect(sample(metrics, 'distkv_auth_failures_total')).toBe(1);
  }, 30_000);

  it('drops a request whose headers never end (slow-loris), survives random bytes, and goes on serving', async () => {
    const node = await start({ id: 'solo', httpLimits: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600 } });
    const port = node.admin?.address.port as number;
    const raw = (bytes: Buffer | string) =>
      new Promise<string>((resolve) => {
        let got = '';
        const s = connect({ port, host: '127.0.0.1' }, () => s.write(bytes));
        s.on('data', (d: Buffer) => {
          got += d.toString('latin1');
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve(got));
      });
    const slow = raw('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: '); // never finished
    let seed = 3;
    const random = Buffer.from(
      Buffer.alloc(2048).map(() => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % 256;
      }),
    );
    const garbage = raw(random);
    expect((await fetch(url(node, '/health'))).status).toBe(200);
    expect(await garbage).toMatch(/^HTTP\/1\.1 400/);
    expect(await slow).not.toMatch(/200 OK/);
    expect((await fetch(url(node, '/status'))).status).toBe(200);
  }, 30_000);

  it('sheds a connection flood past httpConnectionsMax, and serves again once its connections time out', async () => {
    const node = await start({
      id: 'solo',
      adminLimits: { httpConnectionsMax: 3 },
      httpLimits: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600 },
    });
    const port = node.admin?.address.port as number;
    const flood = Array.from(
      { length: 12 },
      () =>
        new Promise<void>((resolve) => {
          const s = connect({ port, host: '127.0.0.1' }, () => s.write('GET /status HTTP/1.1\r\n'));
          s.on('error', () => undefined);
          s.on('close', () => resolve());
        }),
    );
    await Promise.all(flood); // refused at once past the cap, or dropped by the headers timeout
    expect((await fetch(url(node, '/health'))).status).toBe(200);
  }, 30_000);
});

describe('exposure', () => {
  it('refuses to serve a non-loopback address without authentication, naming each open port', async () => {
    const attempt = (options: Partial<ClusterNodeOptions>) =>
      ClusterNode.start({
        id: 'x',
        peers: new Map(),
        peerListen: { host: '127.0.0.1', port: 0 },
        dataDir: join(root, `exposed-${dirs++}`),
        client: { host: '127.0.0.1', port: 0 },
        ...options,
      });
    await expect(attempt({ client: { host: '0.0.0.0', port: 0 } })).rejects.toMatchObject({
      code: 'CLUSTER_UNSAFE_BIND',
      message: expect.stringMatching(/client port on 0\.0\.0\.0 has no password/),
    });
    await expect(attempt({ peerListen: { host: '0.0.0.0', port: 0 }, requirepass: 'pw' })).rejects.toMatchObject({
      code: 'CLUSTER_UNSAFE_BIND',
      message: expect.stringMatching(/peer port on 0\.0\.0\.0 lets any node join .*--cluster-secret/),
    });
    await expect(attempt({ http: { host: '::', port: 0 }, security: { clusterSecret: SECRET } })).rejects.toMatchObject({
      code: 'CLUSTER_UNSAFE_BIND',
      message: expect.stringMatching(/admin HTTP port on ::/),
    });
  });
});
