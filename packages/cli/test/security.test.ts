// Goal: `distkv server`'s security flags work end to end, as docs/security.md shows them: a TLS cluster with users
// and a cluster secret that redis-cli and HTTPS clients use, and a refusal to expose unauthenticated ports.
// Method: real `distkv` processes on 127.0.0.1, certificates made with openssl at test time, redis-cli --tls and
// node:https as clients; waits are bounded polls, never fixed sleeps.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTestPki, missingTool, systemTools, type TestPki } from '@distkv/net/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBasePort, kill, linkedBinary, run, startServer } from './helpers.js';

const { bin, root } = linkedBinary();
const children: ChildProcess[] = [];
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki(join(root, 'pki'), ['n1', 'n2', 'n3']);
});
afterAll(async () => {
  for (const c of children) await kill(c);
  rmSync(root, { recursive: true, force: true });
});

async function redisCli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      'redis-cli',
      ['--tls', '--cacert', pki.caPath, '-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...args],
      { encoding: 'utf8' },
    );
    return stdout.trim();
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

function httpsJson(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, ca: pki.ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('distkv server refuses to expose unauthenticated ports', () => {
  it('a single server on 0.0.0.0 without a password exits 2 with the reason and the ways out', async () => {
    const r = await run(bin, ['server', '--in-memory', '--bind', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/NET_UNSAFE_BIND: refusing to listen for clients on 0\.0\.0\.0 without a password/);
    expect(r.stderr).toContain('--unsafe-no-auth');
  });
  // The cluster's own checks (an open peer or admin port) are covered in-process: packages/cluster/test/security.test.ts.
});

describe.skipIf(missingTool(systemTools.redisCli))('a TLS cluster with users and a cluster secret', () => {
  it('elects a leader over mutual TLS, serves redis-cli --tls and HTTPS, and keeps read-only users read-only', async () => {
    const base = await freeBasePort(3);
    const ids = ['n1', 'n2', 'n3'];
    const peerPort = (i: number) => base + 100 + i;
    const servers = await Promise.all(
      ids.map((id, i) => {
        const cert = pki.certs.get(id);
        if (cert === undefined) throw new Error(`no cert for ${id}`);
        const peers = ids
          .map((p, j) => [p, j] as const)
          .filter(([p]) => p !== id)
          .map(([p, j]) => `${p}=127.0.0.1:${peerPort(j)}`)
          .join(',');
        return startServer(
          bin,
          [
            '--id',
            id,
            '--peer-port',
            String(peerPort(i)),
            '--http-port',
            String(base + 200 + i),
            '--peers',
            peers,
            '--data-dir',
            join(root, 'data', id),
            '--user',
            'alice:rw:alice-pw,bob:ro:bob-pw',
            '--tls-cert',
            cert.certPath,
            '--tls-key',
            cert.keyPath,
            '--tls-ca',
            pki.caPath,
            '--cluster-secret',
            'a-shared-cluster-secret-0123456789',
            '--cluster-id',
            'tls-test',
          ],
          root,
          (child) => children.push(child),
        );
      }),
    );
    const [s1, s2, s3] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
    // Any node takes the write once a leader exists (followers forward it over the TLS peer links).
    await expect
      .poll(async () => (await redisCli(s1.port, '--user', 'alice', '--pass', 'alice-pw', 'SET', 'k', 'v')) === 'OK', {
        message: 'a write through n1 succeeds',
      })
      .toBe(true);
    await expect
      .poll(async () => (await redisCli(s3.port, '--user', 'bob', '--pass', 'bob-pw', 'GET', 'k')) === 'v', {
        message: 'n3 reads it',
      })
      .toBe(true);
    expect(await redisCli(s2.port, '--user', 'bob', '--pass', 'bob-pw', 'SET', 'k', 'w')).toContain('NOPERM');
    expect(await redisCli(s2.port, 'GET', 'k')).toContain('NOAUTH');
    const status = await httpsJson(base + 200, '/status');
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ id: 'n1', leader: expect.stringMatching(/^n[123]$/) });
  }, 90_000);
});
