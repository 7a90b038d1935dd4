// Goal: with --fsync always, every acknowledged write survives kill -9. Method: `distkv server` as a real process under a pipelined SET load from several clients, SIGKILL mid-load, restart on the same data directory, and read back every acknowledged key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@distkv/net';
import { afterAll, describe, expect, it } from 'vitest';
import { kill, linkedBinary, startServer } from './helpers.js';

const { bin, root } = linkedBinary();
const dataDir = mkdtempSync(join(tmpdir(), 'distkv-crash-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 during a pipelined write load (--fsync always)', () => {
  it('loses no acknowledged write', async () => {
    const first = await startServer(bin, ['--data-dir', dataDir, '--fsync', 'always', '--quiet']);
    const acknowledged = new Map<string, string>();
    const clientsCount = 4;
    const pipelineDepth = 64;
    const writesMax = 200_000; // bounds the loop; the kill comes long before
    let killed = false;
    let sent = 0;
    const load = Array.from({ length: clientsCount }, async (_, c) => {
      const client = await Client.connect({ port: first.port, reconnect: { attemptsMax: 1 } });
      while (!killed && sent < writesMax) {
        const batch = Array.from({ length: pipelineDepth }, () => {
          const key = `c${c}:${sent++}`;
          const value = `v${sent}`;
          return client.call('SET', key, value).then(
            () => acknowledged.set(key, value),
            () => undefined, // in flight at the kill: may or may not be there
          );
        });
        await Promise.all(batch);
      }
      await client.close().catch(() => undefined);
    });
    // Kill once a good number of writes are acknowledged (counted, not timed).
    while (acknowledged.size < 3000 && sent < writesMax) await new Promise((resolve) => setTimeout(resolve, 10));
    await kill(first.child, 'SIGKILL');
    killed = true;
    await Promise.all(load);
    expect(acknowledged.size).toBeGreaterThanOrEqual(3000);

    const second = await startServer(bin, ['--data-dir', dataDir, '--fsync', 'always', '--quiet']);
    try {
      const client = await Client.connect({ port: second.port });
      const keys = [...acknowledged.keys()];
      const missing: string[] = [];
      for (let i = 0; i < keys.length; i += 1000) {
        const slice = keys.slice(i, i + 1000);
        const values = (await client.call('MGET', ...slice)) as Array<Buffer | null>;
        slice.forEach((key, j) => {
          if (values[j]?.toString() !== acknowledged.get(key)) missing.push(key);
        });
      }
      expect(missing).toEqual([]);
      await client.close();
    } finally {
      await kill(second.child, 'SIGKILL');
    }
  });
});
