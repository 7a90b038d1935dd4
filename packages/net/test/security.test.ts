// Goal: the client port lets in only who it should, over TLS when asked, and survives slow and flooding clients.
// Method: servers in this process on 127.0.0.1:0; raw sockets, the distkv Client, ioredis and redis-cli talk to them;
// timeouts are small and each test waits for the close event it expects, never for a fixed time.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, encodeRequest, isLoopbackHost, parseBasicAuth, parseUserSpec, type Server, UserTable } from '@distkv/net';
import { makeTestPki, missingTool, systemTools, type TestPki } from '@distkv/net/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RawSocket, sendUntilClosed, startServer } from './helpers.js';

const servers: Server[] = [];
async function serve(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  servers.push(started.server);
  return started;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(1000)));
});

const users = [parseUserSpec('alice:rw:alice pw'), parseUserSpec('bob:ro:bob:pw')];

describe('users and permissions', () => {
  it('parses name:ro|rw:password (the password may hold colons) and refuses bad specs', () => {
    expect(parseUserSpec('bob:ro:a:b:c')).toEqual({ name: 'bob', permission: 'ro', password: 'a:b:c' });
    expect(() => parseUserSpec('bob:admin:x')).toThrow(/permission must be ro or rw/);
    expect(() => parseUserSpec('bob:rw:')).toThrow(/password is empty/);
    expect(() => parseUserSpec('bob')).toThrow(/expected name:ro:password/);
    expect(() => new UserTable([parseUserSpec('default:rw:x')], 'pass')).toThrow(/requirepass user/);
    expect(() => new UserTable([users[0] as never, users[0] as never])).toThrow(/defined twice/);
  });

  it('verifies passwords and counts failures, unknown users included', () => {
    const table = new UserTable(users, 'sesame');
    expect(table.verify('alice', 'alice pw')).toBe('rw');
    expect(table.verify('bob', 'bob:pw')).toBe('ro');
    expect(table.verify('default', 'sesame')).toBe('rw');
    expect(table.verify('alice', 'alice p')).toBeUndefined();
    expect(table.verify('alice', 'alice pw ')).toBeUndefined();
    expect(table.verify('mallory', 'alice pw')).toBeUndefined();
    expect(table.authFailures).toBe(3);
  });

  it('answers -NOAUTH before AUTH, AUTH user pass, and -NOPERM to a read-only user writing (RESP)', async () => {
    const { port } = await serve({ users });
    expect(
      await sendUntilClosed(port, [
        ['SET', 'k', 'v'],
        ['AUTH', 'bob', 'wrong'],
        ['AUTH', 'bob', 'bob:pw'],
        ['SET', 'k', 'v'],
        ['GET', 'k'],
        ['AUTH', 'alice', 'alice pw'],
        ['SET', 'k', 'v'],
        ['GET', 'k'],
        ['QUIT'],
      ]),
    ).toBe(
      '-NOAUTH Authentication required.\r\n' +
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
        '+OK\r\n' +
        "-NOPERM User bob has no permissions to run the 'set' command\r\n" +
        '$-1\r\n' +
        '+OK\r\n+OK\r\n$1\r\nv\r\n+OK\r\n',
    );
    const info = await Client.connect({ port, protocol: 'resp' });
    await expect(info.call('INFO', 'stats')).rejects.toThrow(/NOAUTH/);
    await info.call('AUTH', 'alice', 'alice pw');
    const stats = String(await info.call('INFO', 'stats'));
    expect(stats).toMatch(/acl_access_denied_auth:1\r/);
    expect(stats).toContain('acl_access_denied_cmd:1');
    await info.close();
  });

  it('applies the same rules to the line protocol', async () => {
    const { linePort } = await serve({ users, requirepass: 'with space' });
    expect(
      await sendUntilClosed(linePort, 'PUT a 1\nAUTH bob bob:pw\nPUT a 1\nDEL a\nGET a\nAUTH with space\nPUT a 1\nGET a\nQUIT\n'),
    ).toBe(
      'ERROR NOAUTH AUTHENTICATION REQUIRED\n' +
        'OK\n' +
        "ERROR NOPERM User bob has no permissions to run the 'put' command\n" +
        "ERROR NOPERM User bob has no permissions to run the 'del' command\n" +
        'NOT_FOUND\n' +
        'OK\nOK\n1\n',
    );
  });

  it('closes a connection after authFailuresMax wrong passwords; other connections go on', async () => {
    const { port, linePort } = await serve({ users, securityLimits: { authFailuresMax: 3 } });
    const good = await Client.connect({ port });
    await good.call('AUTH', 'alice', 'alice pw');
    const raw = await RawSocket.open(port);
    for (let i = 0; i < 5; i++) raw.write(encodeRequest(['AUTH', 'alice', `guess${i}`]));
    await raw.waitClosed();
    expect(raw.received.toString()).toBe(
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n'.repeat(2) +
        '-ERR too many failed AUTH attempts on this connection (authFailuresMax), closing\r\n',
    );
    const line = await RawSocket.open(linePort);
    line.write('AUTH a\nAUTH b\nAUTH c\nAUTH alice alice pw\n');
    await line.waitClosed();
    expect(line.received.toString()).toBe(
      'ERROR WRONGPASS\nERROR WRONGPASS\nERROR TOO MANY FAILED AUTH ATTEMPTS ON THIS CONNECTION (AUTHFAILURESMAX), CLOSING\n',
    );
    expect(await good.call('SET', 'still', 'served')).toBe('OK');
    await good.close();
  });
});

describe('exposure', () => {
  it('refuses a non-loopback bind without a password, naming the ways out', async () => {
    const { Server } = await import('@distkv/net');
    const { MemoryBackend } = await import('@distkv/net/testing');
    await expect((async () => Server.listen({ backend: new MemoryBackend(), host: '0.0.0.0', port: 0 }))()).rejects.toMatchObject(
      {
        code: 'NET_UNSAFE_BIND',
        message: expect.stringMatching(/--requirepass.*--unsafe-no-auth/s),
      },
    );
    expect(['127.0.0.1', '127.9.9.9', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });

  it('reads HTTP Basic credentials', () => {
    const header = `Basic ${Buffer.from('bob:a:b').toString('base64')}`;
    expect(parseBasicAuth(header)).toEqual({ user: 'bob', password: 'a:b' });
    expect(parseBasicAuth(`Basic ${Buffer.from(':pw').toString('base64')}`)).toEqual({ user: 'default', password: 'pw' });
    expect(parseBasicAuth('Bearer x')).toBeUndefined();
    expect(parseBasicAuth(undefined)).toBeUndefined();
  });
});

describe('slow and flooding clients', () => {
  it('drops a request that never completes (slow-loris), and a connection that never AUTHs, serving others meanwhile', async () => {
    const { port, linePort } = await serve({ securityLimits: { requestTimeoutMs: 300 } });
    const idle = await RawSocket.open(port); // no bytes at all: not a partial request, kept
    const resp = await RawSocket.open(port);
    resp.write('*2\r\n$3\r\nGET\r\n$5\r\nab'); // never finished
    const line = await RawSocket.open(linePort);
    line.write('GET a'); // no newline, ever
    const client = await Client.connect({ port });
    expect(await client.call('SET', 'k', 'v')).toBe('OK');
    await resp.waitClosed();
    await line.waitClosed();
    expect(resp.received.length).toBe(0);
    expect(idle.closed).toBe(false); // connected before both, so a timer on it would have fired first
    expect(await client.call('GET', 'k')).toEqual(Buffer.from('v'));
    await client.close();
    idle.socket.destroy();

    const { port: guarded } = await serve({ requirepass: 'pw', securityLimits: { requestTimeoutMs: 300 } });
    const silent = await RawSocket.open(guarded);
    const authed = await Client.connect({ port: guarded, password: 'pw' });
    await silent.waitClosed(); // with a password, the AUTH itself must come within requestTimeoutMs
    expect(await authed.call('PING')).toBe('PONG');
    await authed.close();
  });

  it('a connection flood is refused past clientsMax while connected clients are served, and its slots come back', async () => {
    const { server, port } = await serve({
      requirepass: 'pw',
      limits: { clientsMax: 10 },
      securityLimits: { requestTimeoutMs: 500 },
    });
    const good = await Client.connect({ port, password: 'pw' });
    const flood = await Promise.all(Array.from({ length: 30 }, () => RawSocket.open(port)));
    for (const s of flood) s.write('*1\r\n$4\r\nPI'); // partial, never completed
    expect(await good.call('SET', 'during', 'flood')).toBe('OK');
    await Promise.all(flood.map((s) => s.waitClosed()));
    const refused = flood.filter((s) => s.received.toString().includes('max number of clients reached'));
    expect(refused.length).toBeGreaterThanOrEqual(21);
    await vi.waitFor(() => expect(server.clientCount).toBe(1), { timeout: 10_000, interval: 20 }); // the server sees the closes too
    const late = await Client.connect({ port, password: 'pw' });
    expect(await late.call('GET', 'during')).toEqual(Buffer.from('flood'));
    await late.close();
    await good.close();
  });
});

describe('TLS on the client port', () => {
  let dir: string;
  let pki: TestPki;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'distkv-tls-'));
    pki = makeTestPki(dir, ['server']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsOf = () => {
    const s = pki.certs.get('server');
    if (s === undefined) throw new Error('no server cert');
    return { cert: s.cert, key: s.key, ca: pki.ca };
  };

  it('serves ioredis over TLS, with AUTH user pass, and refuses a plain-text client', async () => {
    const { port } = await serve({ tls: tlsOf(), users });
    const redis = new Redis({
      port,
      host: '127.0.0.1',
      username: 'alice',
      password: 'alice pw',
      tls: { ca: pki.ca, servername: 'localhost' },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    await redis.connect();
    expect(await redis.set('tls-key', 'secret value')).toBe('OK');
    expect(await redis.get('tls-key')).toBe('secret value');
    redis.disconnect();

    const plain = await RawSocket.open(port);
    plain.write(encodeRequest(['PING']));
    await plain.waitClosed();
    expect(plain.received.toString()).not.toContain('PONG');
  });

  it.skipIf(missingTool(systemTools.redisCli))('serves redis-cli --tls --cacert', async () => {
    const { port } = await serve({ tls: tlsOf(), users });
    // Asynchronously: the server runs in this process, so a synchronous spawn would block it.
    const cli = async (...args: string[]) =>
      (
        await promisify(execFile)(
          'redis-cli',
          ['--tls', '--cacert', pki.caPath, '-h', '127.0.0.1', '--sni', 'localhost', '-p', String(port), ...args],
          { encoding: 'utf8', timeout: 30_000 },
        )
      ).stdout;
    expect((await cli('--user', 'alice', '--pass', 'alice pw', '--no-auth-warning', 'SET', 'a', 'b')).trim()).toBe('OK');
    expect((await cli('--user', 'bob', '--pass', 'bob:pw', '--no-auth-warning', 'GET', 'a')).trim()).toBe('b');
    expect(await cli('--user', 'bob', '--pass', 'bob:pw', '--no-auth-warning', 'SET', 'a', 'c')).toContain('NOPERM');
    expect(await cli('GET', 'a')).toContain('NOAUTH');
  });
});
