// Goal: SIGTERM is a graceful shutdown: requests already read are answered and durable, the process exits 0. Method: a real server process (examples/server.ts with a DurableStore), a pipelined write load, SIGTERM, then a restart on the same data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, encodeRequest } from '@distkv/net';
import { afterAll, describe, expect, it } from 'vitest';
import { RawSocket, spawnExampleServer, stopChild } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'distkv-net-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('graceful shutdown', () => {
  it('answers what it read, flushes, exits 0; a restart finds every acknowledged write', async () => {
    const first = await spawnExampleServer(['--data-dir', dir, '--fsync', 'always']);
    const raw = await RawSocket.open(first.port);
    const count = 2000;
    raw.write(Buffer.concat(Array.from({ length: count }, (_, i) => encodeRequest(['SET', `key:${i}`, `value:${i}`]))));
    await raw.until((t) => t.length > 0); // the server is working on the pipeline
    const exited = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));
    first.child.kill('SIGTERM');
    await raw.waitClosed();
    expect(await exited).toBe(0);
    const text = raw.received.toString('latin1');
    expect(text.length % 5).toBe(0); // only whole "+OK\r\n" replies
    expect(text).toBe('+OK\r\n'.repeat(text.length / 5));
    const acknowledged = text.length / 5;
    expect(acknowledged).toBeGreaterThan(0);

    const second = await spawnExampleServer(['--data-dir', dir, '--fsync', 'always']);
    try {
      const client = await Client.connect({ port: second.port });
      const values = await Promise.all(Array.from({ length: acknowledged }, (_, i) => client.call('GET', `key:${i}`)));
      for (const [i, v] of values.entries()) expect(v).toEqual(Buffer.from(`value:${i}`));
      await client.close();
    } finally {
      await stopChild(second.child);
    }
  });
});
