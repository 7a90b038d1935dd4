// Goal: the server's onRequest hook sees every answered request once, with a bounded command label, ok or error, and a latency.
// Method: a real Server on 127.0.0.1 with MemoryBackend, driven by the RESP and line Clients; compare the samples with what was sent.
import { Client, type ServerOptions } from '@distkv/net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';

type Sample = Parameters<NonNullable<ServerOptions['onRequest']>>[0];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('onRequest', () => {
  it('reports reads, writes, errors and unknown commands, over RESP and the line protocol', async () => {
    const samples: Sample[] = [];
    const { server, port, linePort } = await startServer({ onRequest: (s) => samples.push(s) });
    cleanups.push(() => server.close());
    const resp = await Client.connect({ port });
    cleanups.push(() => resp.close());
    await resp.call('SET', 'k', 'v');
    await resp.call('GET', 'k');
    await resp.call('INCR', 'k').catch(() => undefined); // not an integer: an error reply
    await resp.call('NOSUCHCOMMAND-with-a-long-random-name').catch(() => undefined);
    const line = await Client.connect({ port: linePort, protocol: 'line' });
    cleanups.push(() => line.close());
    await line.send('PUT a 1');
    await line.send('GET a');
    await expect(line.send('FROB')).rejects.toThrow('ERROR UNKNOWN COMMAND');
    expect(samples.map((s) => [s.command, s.ok])).toEqual([
      ['set', true],
      ['get', true],
      ['incr', false],
      ['unknown', false],
      ['put', true],
      ['get', true],
      ['unknown', false],
    ]);
    expect(samples.every((s) => Number.isFinite(s.latencySeconds) && s.latencySeconds >= 0)).toBe(true);
  });

  it('a hook that throws does not break the connection', async () => {
    const { server, port } = await startServer({
      onRequest: () => {
        throw new Error('broken metrics');
      },
    });
    cleanups.push(() => server.close());
    const c = await Client.connect({ port });
    cleanups.push(() => c.close());
    await c.call('SET', 'k', 'v');
    expect(String(await c.call('GET', 'k'))).toBe('v');
  });
});
