// Goal: every server limit is validated, enforced with a clear answer, and leaves other clients alone; auth and ordering rules hold. Method: small limits on in-process servers, raw sockets and the Client.

import { Client, encodeRequest, resolveServerLimits, type Server, type ServerLimits } from '@distkv/net';
import { MemoryBackend } from '@distkv/net/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RawSocket, sendUntilClosed, startServer } from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close(1000);
});

async function serve(limits: Partial<ServerLimits>, extra: { requirepass?: string; delayMs?: number } = {}) {
  const started = await startServer({
    limits,
    backend: new MemoryBackend(extra.delayMs === undefined ? {} : { delayMs: extra.delayMs }),
    ...(extra.requirepass === undefined ? {} : { requirepass: extra.requirepass }),
  });
  servers.push(started.server);
  return started;
}

describe('limits', () => {
  it('are validated when the server is built', () => {
    expect(() => resolveServerLimits({ clientsMax: 0 })).toThrow(expect.objectContaining({ code: 'NET_LIMIT_INVALID' }));
    expect(() => resolveServerLimits({ bulkBytesMax: 1024 ** 3 })).toThrow(/bulkBytesMax must be an integer from 1 to/);
    expect(() => resolveServerLimits({ idleTimeoutMs: 1.5 })).toThrow(/idleTimeoutMs/);
    expect(resolveServerLimits().bulkBytesMax).toBe(512 * 1024 * 1024);
  });

  it('clientsMax: one client too many is told so and closed', async () => {
    const { port } = await serve({ clientsMax: 2 });
    const a = await Client.connect({ port });
    const b = await Client.connect({ port });
    const c = await RawSocket.open(port);
    await c.waitClosed();
    expect(c.received.toString()).toBe('-ERR max number of clients reached\r\n');
    expect(await a.call('PING')).toBe('PONG');
    await Promise.all([a.close(), b.close()]);
  });

  it('idleTimeoutMs: an idle connection is closed', async () => {
    const { port } = await serve({ idleTimeoutMs: 100 });
    const raw = await RawSocket.open(port);
    await raw.waitClosed();
    expect(raw.closed).toBe(true);
  });

  it('lineBytesMax: a long line-protocol request, or inline command, is refused and the connection closed', async () => {
    const { port, linePort } = await serve({ lineBytesMax: 64 });
    expect(await sendUntilClosed(linePort, `PUT k ${'x'.repeat(100)}\n`)).toBe('ERROR LINE TOO LONG\n');
    expect(await sendUntilClosed(port, `SET k ${'x'.repeat(100)}\r\n`)).toBe('-ERR Protocol error: too big inline request\r\n');
  });

  it('argsCountMax and bulkBytesMax: refused like Redis, then closed', async () => {
    const { port } = await serve({ argsCountMax: 3, bulkBytesMax: 10 });
    expect(await sendUntilClosed(port, encodeRequest(['MSET', 'a', '1', 'b', '2']))).toBe(
      '-ERR Protocol error: invalid multibulk length\r\n',
    );
    expect(await sendUntilClosed(port, encodeRequest(['SET', 'a', 'x'.repeat(11)]))).toBe(
      '-ERR Protocol error: invalid bulk length\r\n',
    );
  });

  it('pendingRepliesMax: a deep pipeline of slow writes is throttled, not dropped, and answered in order', async () => {
    const { port } = await serve({ pendingRepliesMax: 4 }, { delayMs: 5 });
    const raw = await RawSocket.open(port);
    const requests: Buffer[] = [];
    for (let i = 0; i < 40; i++) requests.push(encodeRequest(['INCR', 'n']));
    requests.push(encodeRequest(['GET', 'n']));
    raw.write(Buffer.concat(requests));
    const expected = `${Array.from({ length: 40 }, (_, i) => `:${i + 1}\r\n`).join('')}$2\r\n40\r\n`;
    expect(await raw.until((t) => t.length >= expected.length)).toBe(expected);
    raw.destroy();
  });

  it('pendingRepliesMax: a pipeline far deeper than the limit, settled in batches, is answered completely', async () => {
    // Regression: replies settled together must free their slots before the next pass reads on.
    const { port } = await serve({ pendingRepliesMax: 16 });
    const client = await Client.connect({ port });
    const replies = await Promise.all(Array.from({ length: 2000 }, () => client.call('INCR', 'deep')));
    expect(replies).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    await client.close();
  });

  it('drainWaitMsMax: a client that does not read its replies is disconnected', async () => {
    const logs: string[] = [];
    const started = await startServer({ limits: { drainWaitMsMax: 200 }, log: (l) => logs.push(l) });
    servers.push(started.server);
    const client = await Client.connect({ port: started.port });
    await client.call('SET', 'big', Buffer.alloc(1024 * 1024, 'x'));
    const raw = await RawSocket.open(started.port);
    raw.socket.pause(); // a paused socket does not even notice the close: watch the server instead
    for (let i = 0; i < 64; i++) raw.socket.write(encodeRequest(['GET', 'big']));
    await expect.poll(() => started.server.clientCount).toBe(1);
    expect(logs.join('\n')).toMatch(/did not read its replies for 200 ms/);
    expect(await client.call('PING')).toBe('PONG');
    raw.destroy();
    await client.close();
  });

  it('outputBytesMax: a reply that cannot be sent within the bound disconnects the client', async () => {
    const logs: string[] = [];
    const started = await startServer({ limits: { outputBytesMax: 1024 * 1024 }, log: (l) => logs.push(l) });
    servers.push(started.server);
    const client = await Client.connect({ port: started.port });
    await client.call('SET', 'big', Buffer.alloc(32 * 1024 * 1024, 'x'));
    const raw = await RawSocket.open(started.port);
    raw.socket.pause();
    raw.socket.write(encodeRequest(['GET', 'big']));
    await expect.poll(() => started.server.clientCount).toBe(1);
    expect(logs.join('\n')).toMatch(/reply bytes unread \(outputBytesMax\)/);
    expect(await client.call('PING')).toBe('PONG');
    raw.destroy();
    await client.close();
  });
});

describe('--requirepass', () => {
  it('serves only AUTH, HELLO and QUIT before AUTH, with Redis error texts', async () => {
    const { port, linePort } = await serve({}, { requirepass: 'sesame' });
    expect(
      await sendUntilClosed(port, [
        ['GET', 'a'],
        ['AUTH', 'wrong'],
        ['HELLO', '2'],
        ['AUTH', 'sesame'],
        ['SET', 'a', '1'],
        ['QUIT'],
      ]),
    ).toBe(
      '-NOAUTH Authentication required.\r\n' +
        '-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
        '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n' +
        '+OK\r\n+OK\r\n+OK\r\n',
    );
    const client = await Client.connect({ port, password: 'sesame' });
    expect(await client.call('GET', 'a')).toEqual(Buffer.from('1'));
    await client.close();
    const line = await Client.connect({ port: linePort, protocol: 'line', password: 'sesame' });
    expect(await line.send('GET a')).toBe('1');
    await line.close();
    expect(await sendUntilClosed(linePort, 'GET a\nQUIT\n')).toBe('ERROR NOAUTH AUTHENTICATION REQUIRED\n');
    // An inline command on the Redis port is held to the same rule, in RESP.
    expect(await sendUntilClosed(port, 'GET a\r\nQUIT\r\n')).toBe('-NOAUTH Authentication required.\r\n+OK\r\n');
  });
});

describe('ordering', () => {
  it('a pipeline whose replies exceed the socket high-water mark is answered completely', async () => {
    // Regression: a pass that stops because its output is full must be resumed even when no 'drain' follows.
    const { port } = await serve({});
    const client = await Client.connect({ port });
    await client.call('SET', 'big', Buffer.alloc(256 * 1024, 'x'));
    const replies = await Promise.all(Array.from({ length: 40 }, () => client.call('GET', 'big')));
    expect(replies.every((r) => Buffer.isBuffer(r) && r.length === 256 * 1024)).toBe(true);
    await client.close();
  });

  it('a read pipelined after writes sees them (read-your-writes), even with a slow backend', async () => {
    const { port } = await serve({}, { delayMs: 20 });
    const raw = await RawSocket.open(port);
    raw.write(
      Buffer.concat([encodeRequest(['SET', 'k', 'new']), encodeRequest(['GET', 'k']), encodeRequest(['SET', 'k', 'newer'])]),
    );
    expect(await raw.until((t) => t.length >= 19)).toBe('+OK\r\n$3\r\nnew\r\n+OK\r\n');
    raw.destroy();
  });
});

describe('CONFIG SET', () => {
  it('changes maxclients and timeout while the server runs, all pairs or none, with Redis texts for the rest', async () => {
    const { port } = await serve({ clientsMax: 10 });
    const admin = await Client.connect({ port });
    try {
      const failed = (name: string, why: string) => `ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`;
      await expect(admin.call('CONFIG', 'SET', 'maxclients')).rejects.toThrow(
        "ERR wrong number of arguments for 'config|set' command",
      );
      await expect(admin.call('CONFIG', 'SET', 'maxclients', 'abc')).rejects.toThrow(
        failed('maxclients', "argument couldn't be parsed into an integer"),
      );
      await expect(admin.call('CONFIG', 'SET', 'maxclients', '0')).rejects.toThrow(
        failed('maxclients', 'argument must be between 1 and 1000000 inclusive'),
      );
      await expect(admin.call('CONFIG', 'SET', 'timeout', '-1')).rejects.toThrow(
        failed('timeout', 'argument must be between 0 and 2147483 inclusive'),
      );
      await expect(admin.call('CONFIG', 'SET', 'maxclients', '5', 'maxclients', '6')).rejects.toThrow(
        failed('maxclients', 'duplicate parameter'),
      );
      await expect(admin.call('CONFIG', 'SET', 'databases', '4')).rejects.toThrow(
        failed('databases', "can't set immutable config"),
      );
      await expect(admin.call('CONFIG', 'SET', 'nosuch', '1')).rejects.toThrow(
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
      );
      // A bad pair refuses the whole request: maxclients is not changed by the good pair before it.
      await expect(admin.call('CONFIG', 'SET', 'maxclients', '2', 'timeout', 'x')).rejects.toThrow(/argument 'timeout'/);
      expect(String(await admin.call('CONFIG', 'GET', 'maxclients')).split(',')).toEqual(['maxclients', '10']);

      // maxclients 2: the admin and one more; the third is refused as at start.
      expect(await admin.call('CONFIG', 'SET', 'MAXCLIENTS', '2')).toBe('OK');
      expect(String(await admin.call('CONFIG', 'GET', 'maxclients')).split(',')).toEqual(['maxclients', '2']);
      const second = await Client.connect({ port });
      const third = await RawSocket.open(port);
      await third.waitClosed();
      expect(third.received.toString()).toBe('-ERR max number of clients reached\r\n');
      await second.close();

      // timeout 1: an open idle connection is closed by the new timeout (none was set at start).
      const idle = await RawSocket.open(port);
      expect(await admin.call('CONFIG', 'SET', 'timeout', '1')).toBe('OK');
      expect(String(await admin.call('CONFIG', 'GET', 'timeout')).split(',')).toEqual(['timeout', '1']);
      await idle.waitClosed();
      expect(idle.closed).toBe(true);
    } finally {
      await admin.close().catch(() => undefined);
    }
  });

  it('is refused to a read-only user', async () => {
    const started = await startServer({ users: [{ name: 'viewer', password: 'pw', permission: 'ro' }] });
    servers.push(started.server);
    const client = await Client.connect({ port: started.port });
    try {
      await client.call('AUTH', 'viewer', 'pw');
      await expect(client.call('CONFIG', 'SET', 'maxclients', '5')).rejects.toThrow(/NOPERM/);
      expect(String(await client.call('CONFIG', 'GET', 'maxclients')).split(',')).toEqual(['maxclients', '10000']);
    } finally {
      await client.close();
    }
  });
});
