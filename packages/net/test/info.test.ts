// Goal: parseInfo reads an INFO reply into fields the way Redis clients do, and INFO reports the package's version.
// Method: a reply with sections, CRLF and LF endings, a value containing ':'; a live server's INFO against package.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, DISTKV_VERSION, parseInfo } from '@distkv/net';
import { describe, expect, it } from 'vitest';
import { packageDir, startServer } from './helpers.js';

describe('parseInfo', () => {
  it('maps field to value, skipping section headers and blank lines', () => {
    const info = parseInfo('# Replication\r\nrole:leader\r\nleader_addr:127.0.0.1:7001\r\n\r\n# Server\nnode_id:n1\n');
    expect([...info]).toEqual([
      ['role', 'leader'],
      ['leader_addr', '127.0.0.1:7001'],
      ['node_id', 'n1'],
    ]);
  });
});

describe('INFO server', () => {
  it('reports distkv_version from package.json, not a constant that a release can leave behind', async () => {
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
    expect(DISTKV_VERSION).toBe(manifest.version);
    const { server, port } = await startServer();
    const client = await Client.connect({ port });
    try {
      const info = parseInfo(String(await client.call('INFO', 'server')));
      expect(info.get('distkv_version')).toBe(manifest.version);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('INFO cpu, clients, memory, keyspace', () => {
  it('reports the fields exporters read: CPU seconds that grow with work, clients, memory and db0 keys', async () => {
    const { server, port } = await startServer();
    const client = await Client.connect({ port });
    try {
      const before = parseInfo(String(await client.call('INFO', 'cpu')));
      for (const field of ['used_cpu_sys', 'used_cpu_user']) expect(before.get(field)).toMatch(/^\d+\.\d{6}$/);
      for (let i = 0; i < 2000; i++) await client.call('SET', `k${i % 10}`, 'v'.repeat(100));
      const after = parseInfo(String(await client.call('INFO', 'cpu')));
      // CPU time is a counter: what the writes cost shows, and it never goes back.
      const total = (m: Map<string, string>) => Number(m.get('used_cpu_sys')) + Number(m.get('used_cpu_user'));
      expect(total(after)).toBeGreaterThan(total(before));
      const all = parseInfo(String(await client.call('INFO')));
      expect(all.get('connected_clients')).toBe('1');
      expect(Number(all.get('used_memory'))).toBeGreaterThan(0);
      expect(all.get('db0')).toBe('keys=10,expires=0,avg_ttl=0');
      expect(Number(all.get('uptime_in_seconds'))).toBeGreaterThanOrEqual(0);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
