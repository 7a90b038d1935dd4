// Goal: the string and key commands work through the two Redis clients people use from Node, with the
// replies each library parses for them (ioredis hands back RESP's types; node-redis transforms some
// replies per command, e.g. LCS IDX into an object): a reply distkv shapes wrongly fails here, not in
// a user's code. Method: one distkv server on 127.0.0.1 (MemoryBackend), each library's own method for
// each command, the parsed values checked exactly. redis-compare.test.ts checks the reply bytes against
// a real redis-server; this checks what the libraries make of them.
import { createClient } from '@redis/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';

let port: number;
let close: () => Promise<void>;
beforeAll(async () => {
  const started = await startServer();
  port = started.port;
  close = () => started.server.close();
});
afterAll(() => close());

describe('ioredis', () => {
  it('parses the string and key commands as it does Redis 7', async () => {
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    try {
      await redis.flushall();
      expect(await redis.setnx('io:a', 'hello')).toBe(1);
      expect(await redis.setnx('io:a', 'other')).toBe(0);
      expect(await redis.append('io:a', ' world')).toBe(11);
      expect(await redis.strlen('io:a')).toBe(11);
      expect(await redis.getrange('io:a', 0, 4)).toBe('hello');
      expect(await redis.getrange('io:a', -5, -1)).toBe('world');
      expect(await redis.setrange('io:a', 6, 'there')).toBe(11);
      expect(await redis.get('io:a')).toBe('hello there');
      expect(await redis.getset('io:a', 'new')).toBe('hello there');
      expect(await redis.getdel('io:a')).toBe('new');
      expect(await redis.getdel('io:a')).toBeNull();
      expect(await redis.incrbyfloat('io:f', '10.5')).toBe('10.5');
      expect(await redis.incrbyfloat('io:f', '0.1')).toBe('10.6');
      await expect(redis.incrbyfloat('io:f', 'x')).rejects.toThrow('ERR value is not a valid float');
      expect(await redis.msetnx('io:m1', '1', 'io:m2', '2')).toBe(1);
      expect(await redis.msetnx('io:m2', 'x', 'io:m3', '3')).toBe(0);
      expect(await redis.exists('io:m3')).toBe(0);
      await redis.mset('io:l1', 'ohmytext', 'io:l2', 'mynewtext');
      expect(await redis.lcs('io:l1', 'io:l2')).toBe('mytext');
      expect(await redis.lcs('io:l1', 'io:l2', 'LEN')).toBe(6);
      expect(await redis.lcs('io:l1', 'io:l2', 'IDX', 'MINMATCHLEN', 4, 'WITHMATCHLEN')).toEqual([
        'matches',
        [[[4, 7], [5, 8], 4]],
        'len',
        6,
      ]);
      expect(await redis.type('io:m1')).toBe('string');
      expect(await redis.type('io:none')).toBe('none');
      expect(await redis.rename('io:m1', 'io:r1')).toBe('OK');
      await expect(redis.rename('io:none', 'io:r2')).rejects.toThrow('ERR no such key');
      expect(await redis.renamenx('io:r1', 'io:m2')).toBe(0);
      expect(await redis.renamenx('io:r1', 'io:r2')).toBe(1);
      expect(await redis.copy('io:r2', 'io:c1')).toBe(1);
      expect(await redis.copy('io:r2', 'io:c1')).toBe(0);
      expect(await redis.copy('io:m2', 'io:c1', 'REPLACE')).toBe(1);
      expect(await redis.get('io:c1')).toBe('2');
      expect(await redis.touch('io:c1', 'io:none', 'io:r2')).toBe(2);
      expect(await redis.unlink('io:c1', 'io:none')).toBe(1);
      expect(await redis.object('ENCODING', 'io:r2')).toBe('int');
      expect(await redis.object('ENCODING', 'io:l1')).toBe('embstr');
      expect(await redis.object('IDLETIME', 'io:r2')).toBe(0);
      expect(await redis.object('ENCODING', 'io:none')).toBeNull();
      const keys = ['io:f', 'io:l1', 'io:l2', 'io:m2', 'io:r2'];
      expect(keys).toContain(await redis.randomkey());
      const [, stringKeys] = await redis.scan('0', 'COUNT', 100, 'TYPE', 'string');
      expect(stringKeys.sort()).toEqual(keys);
      expect((await redis.scan('0', 'COUNT', 100, 'TYPE', 'hash'))[1]).toEqual([]);
      expect(await redis.flushall()).toBe('OK');
      expect(await redis.randomkey()).toBeNull();
      expect(await redis.dbsize()).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('node-redis (@redis/client)', () => {
  it('parses the string and key commands, including its per-command transforms', async () => {
    // node-redis 6 asks for RESP3 (HELLO 3) unless told otherwise; distkv speaks RESP2 and answers -NOPROTO, as a
    // Redis without RESP3 would. RESP: 2 is what a node-redis user of distkv passes.
    const client = createClient({ RESP: 2, socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
    client.on('error', () => undefined); // a failed call rejects; the stream's error event must not throw
    await client.connect();
    try {
      await client.flushAll();
      expect(await client.setNX('nr:a', 'hello')).toBe(1);
      expect(await client.setNX('nr:a', 'other')).toBe(0);
      expect(await client.append('nr:a', ' world')).toBe(11);
      expect(await client.strLen('nr:a')).toBe(11);
      expect(await client.getRange('nr:a', 0, 4)).toBe('hello');
      expect(await client.setRange('nr:a', 6, 'there')).toBe(11);
      expect(await client.getSet('nr:a', 'new')).toBe('hello there');
      expect(await client.getDel('nr:a')).toBe('new');
      expect(await client.getDel('nr:a')).toBeNull();
      expect(await client.incrByFloat('nr:f', 1.5)).toBe('1.5');
      await expect(client.incrByFloat('nr:a-missing-is-zero', 2)).resolves.toBe('2');
      expect(await client.mSetNX(['nr:m1', '1', 'nr:m2', '2'])).toBe(1);
      expect(await client.mSetNX(['nr:m2', 'x', 'nr:m3', '3'])).toBe(0);
      await client.mSet(['nr:l1', 'ohmytext', 'nr:l2', 'mynewtext']);
      expect(await client.lcs('nr:l1', 'nr:l2')).toBe('mytext');
      expect(await client.lcsLen('nr:l1', 'nr:l2')).toBe(6);
      // node-redis turns the IDX reply into an object: the array must be the one Redis sends.
      expect(await client.lcsIdx('nr:l1', 'nr:l2')).toEqual({
        matches: [
          [
            [4, 7],
            [5, 8],
          ],
          [
            [2, 3],
            [0, 1],
          ],
        ],
        len: 6,
      });
      expect(await client.lcsIdxWithMatchLen('nr:l1', 'nr:l2', { MINMATCHLEN: 4 })).toEqual({
        matches: [[[4, 7], [5, 8], 4]],
        len: 6,
      });
      expect(await client.type('nr:m1')).toBe('string');
      expect(await client.rename('nr:m1', 'nr:r1')).toBe('OK');
      await expect(client.rename('nr:none', 'nr:r2')).rejects.toThrow('ERR no such key');
      expect(await client.renameNX('nr:r1', 'nr:m2')).toBe(0);
      expect(await client.renameNX('nr:r1', 'nr:r2')).toBe(1);
      expect(await client.copy('nr:r2', 'nr:c1')).toBe(1);
      expect(await client.copy('nr:m2', 'nr:c1', { REPLACE: true })).toBe(1);
      await expect(client.copy('nr:m2', 'nr:c2', { DB: 1 })).rejects.toThrow('ERR DB index is out of range');
      expect(await client.touch(['nr:c1', 'nr:none'])).toBe(1);
      expect(await client.unlink(['nr:c1', 'nr:none'])).toBe(1);
      expect(await client.objectEncoding('nr:r2')).toBe('int');
      expect(await client.objectIdleTime('nr:r2')).toBe(0);
      expect(await client.objectRefCount('nr:l1')).toBe(1);
      expect(await client.objectRefCount('nr:r2')).toBe(2147483647); // a small integer: Redis's shared object
      await expect(client.objectFreq('nr:r2')).rejects.toThrow(/LFU/);
      expect(['nr:f', 'nr:a-missing-is-zero', 'nr:l1', 'nr:l2', 'nr:m2', 'nr:r2']).toContain(await client.randomKey());
      const scanned = await client.scan('0', { TYPE: 'string', COUNT: 100 });
      expect(scanned.cursor).toBe('0');
      expect(scanned.keys.length).toBe(6);
      expect(await client.flushAll()).toBe('OK');
      expect(await client.dbSize()).toBe(0);
    } finally {
      client.destroy();
    }
  });
});
