// Goal: the promise-based Client pipelines, times out, reconnects and speaks both protocols. Method: in-process servers, a silent TCP listener for timeouts, and a server restarted on the same port.
import { createServer, type Socket } from 'node:net';
import { Client, Server } from '@distkv/net';
import { MemoryBackend } from '@distkv/net/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe('Client', () => {
  it('pipelines many calls and settles each with its own reply, in order', async () => {
    const { server, port } = await startServer();
    cleanup.push(() => server.close());
    const client = await Client.connect({ port });
    cleanup.push(() => client.close());
    const replies = await Promise.all(Array.from({ length: 5000 }, (_, i) => client.call('INCR', 'n').then((r) => [i, r])));
    for (const [i, r] of replies) expect(r).toBe((i as number) + 1);
    await expect(client.call('GET')).rejects.toThrow(expect.objectContaining({ code: 'SERVER_ERROR', definite: true }));
    // The reply's first word is a field, read once where the reply is decoded.
    await expect(client.call('GET')).rejects.toMatchObject({
      replyCode: 'ERR',
      detail: expect.stringMatching(/^ERR wrong number/),
    });
    expect(await client.call('MGET', 'n', 'none')).toEqual([Buffer.from('5000'), null]);
  });

  it('speaks the line protocol, SCAN included', async () => {
    const { server, linePort } = await startServer();
    cleanup.push(() => server.close());
    const client = await Client.connect({ port: linePort, protocol: 'line' });
    expect(await client.send('PUT user:1 Ada Lovelace')).toBe('OK');
    expect(await client.send('PUT user:2 Alan')).toBe('OK');
    expect(await client.send('GET user:1')).toBe('Ada Lovelace');
    expect(await client.send('SCAN user:')).toEqual(['user:1', 'user:2']);
    expect(await client.send('SIZE')).toBe('2');
    await expect(client.send('FROB')).rejects.toThrow('ERROR UNKNOWN COMMAND');
    expect(await client.send('QUIT')).toBe('');
    await client.close();
  });

  it('times out (indefinite) when no reply comes, and drops the connection', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket); // accepts, never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const client = await Client.connect({ port, timeoutMs: 100 });
    const error = await client.call('PING').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NET_TIMEOUT', definite: false });
    await client.close();
  });

  it('refuses with CONNECTION_REFUSED after its attempts, then reconnects when the server is back', async () => {
    const { server, port } = await startServer();
    await server.close();
    const client = new Client({ port, reconnect: { attemptsMax: 3, backoffMsMin: 10, backoffMsMax: 40 } });
    await expect(client.call('PING')).rejects.toThrow(expect.objectContaining({ code: 'CONNECTION_REFUSED' }));
    const again = await Server.listen({ backend: new MemoryBackend(), port, host: '127.0.0.1' });
    cleanup.push(() => again.close());
    expect(await client.call('PING')).toBe('PONG');
    await client.close();
    await expect(client.call('PING')).rejects.toThrow(expect.objectContaining({ code: 'CLIENT_CLOSED' }));
  });

  it('rejects calls in flight with CONNECTION_CLOSED when the server goes away, and reconnects', async () => {
    const { server, port } = await startServer({ backend: new MemoryBackend({ delayMs: 200 }) });
    const client = await Client.connect({ port, reconnect: { attemptsMax: 50, backoffMsMin: 10, backoffMsMax: 50 } });
    const inFlight = client.call('SET', 'a', '1');
    const closing = server.close(0); // destroys the connection at once
    await expect(inFlight).rejects.toMatchObject({ code: 'CONNECTION_CLOSED', definite: false });
    await closing;
    const again = await Server.listen({ backend: new MemoryBackend(), port, host: '127.0.0.1' });
    cleanup.push(() => again.close());
    expect(await client.call('PING')).toBe('PONG');
    await client.close();
  });
});
