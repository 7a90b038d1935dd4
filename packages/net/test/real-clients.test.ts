// Goal: unchanged Redis clients work against distkv. Method: run examples/server.ts as a real process, drive every RESP command with ioredis and with redis-cli, and run redis-benchmark to completion.

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { commandTable } from '@distkv/net';
import { missingTool, systemTools } from '@distkv/net/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnExampleServer, stopChild } from './helpers.js';

let child: ChildProcess;
let port: number;
beforeAll(async () => {
  ({ child, port } = await spawnExampleServer());
}, 90_000);
afterAll(() => stopChild(child));

describe('ioredis', () => {
  it('runs every command of the issue', async () => {
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.ping('hi')).toBe('hi');
      expect(await redis.echo('echo me')).toBe('echo me');
      expect(await redis.flushdb()).toBe('OK');
      expect(await redis.set('k', 'v1')).toBe('OK');
      expect(await redis.get('k')).toBe('v1');
      expect(await redis.get('missing')).toBeNull();
      expect(await redis.set('k', 'v2', 'NX')).toBeNull();
      expect(await redis.set('n', 'x', 'XX')).toBeNull();
      expect(await redis.set('k', 'v2', 'XX')).toBe('OK');
      expect(await redis.set('k', 'v3', 'GET')).toBe('v2');
      expect(await redis.call('SET', 'k', 'v4', 'IFEQ', 'nope')).toBeNull();
      expect(await redis.call('SET', 'k', 'v4', 'IFEQ', 'v3')).toBe('OK');
      expect(await redis.get('k')).toBe('v4');
      await expect(redis.set('k', 'v', 'EX', 10)).rejects.toThrow(/does not support key expiry/);
      await expect(redis.call('SET', 'k', 'v', 'NX', 'XX')).rejects.toThrow('ERR syntax error');
      expect(await redis.mset('a', '1', 'b', '2', 'c', '3')).toBe('OK');
      expect(await redis.mget('a', 'nope', 'c')).toEqual(['1', null, '3']);
      expect(await redis.exists('a', 'b', 'nope', 'a')).toBe(3);
      expect(await redis.del('a', 'b', 'nope')).toBe(2);
      expect(await redis.incr('counter')).toBe(1);
      expect(await redis.incrby('counter', 10)).toBe(11);
      expect(await redis.decr('counter')).toBe(10);
      expect(await redis.decrby('counter', 4)).toBe(6);
      await expect(redis.incr('k')).rejects.toThrow('ERR value is not an integer or out of range');
      expect(await redis.dbsize()).toBe(3);
      expect((await redis.keys('*')).sort()).toEqual(['c', 'counter', 'k']);
      expect(await redis.keys('c*')).toEqual(['c', 'counter']);
      const [cursor, keys] = await redis.scan('0', 'MATCH', 'c*', 'COUNT', 100);
      expect([cursor, keys]).toEqual(['0', ['c', 'counter']]);
      expect(await redis.info('server')).toMatch(/^# Server\r\nredis_version:/);
      expect(await redis.call('COMMAND', 'COUNT')).toBeGreaterThan(20);
      expect(Array.isArray(await redis.call('COMMAND', 'DOCS', 'get'))).toBe(true);
      expect(Array.isArray(await redis.call('COMMAND'))).toBe(true);
      expect(await redis.client('SETNAME', 'tester')).toBe('OK');
      expect(await redis.client('GETNAME')).toBe('tester');
      expect(typeof (await redis.client('ID'))).toBe('number');
      expect(await redis.call('HELLO', '2')).toContain('proto');
      await expect(redis.call('HELLO', '3')).rejects.toThrow('NOPROTO');
      expect(await redis.select(0)).toBe('OK');
      await expect(redis.select(1)).rejects.toThrow('ERR DB index is out of range');
      await expect(redis.call('AUTH', 'x')).rejects.toThrow(/without any password configured/);
      await expect(redis.call('FOO', 'a', 'b')).rejects.toThrow("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ");
      await expect(redis.call('GET')).rejects.toThrow("ERR wrong number of arguments for 'get' command");
      expect(await redis.quit()).toBe('OK');
    } finally {
      redis.disconnect();
    }
  });

  it('iterates a large keyspace with scanStream, pipelined', async () => {
    const redis = new Redis({ port, host: '127.0.0.1' });
    try {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 2500; i++) pipeline.set(`scan:${i}`, String(i));
      await pipeline.exec();
      const seen = new Set<string>();
      for await (const batch of redis.scanStream({ match: 'scan:*', count: 100 })) {
        for (const key of batch as string[]) seen.add(key);
      }
      expect(seen.size).toBe(2500);
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(missingTool(systemTools.redisCli))('redis-cli', () => {
  const cli = (...args: string[]): string => {
    const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return (result.stdout + result.stderr).trimEnd();
  };

  it('runs every command of the issue', () => {
    const cases: Array<[string[], string]> = [
      [['PING'], 'PONG'],
      [['ECHO', 'hello world'], 'hello world'],
      [['FLUSHDB'], 'OK'],
      [['SET', 'x', '1'], 'OK'],
      [['SET', 'x', '2', 'NX'], ''],
      [['SET', 'x', '2', 'XX', 'GET'], '1'],
      [['SET', 'x', '3', 'IFEQ', '2'], 'OK'],
      [['SET', 'x', '3', 'PX', '5'], 'ERR distkv does not support key expiry yet: SET ... PX is refused, not ignored'],
      [['GET', 'x'], '3'],
      [['INCR', 'x'], '4'],
      [['INCRBY', 'x', '6'], '10'],
      [['DECR', 'x'], '9'],
      [['DECRBY', 'x', '9'], '0'],
      [['MSET', 'y', 'a', 'z', 'b'], 'OK'],
      [['MSET', 'y'], "ERR wrong number of arguments for 'mset' command"],
      [['MGET', 'y', 'z', 'none'], 'a\nb'],
      [['EXISTS', 'y', 'z', 'none'], '2'],
      [['DEL', 'y', 'none'], '1'],
      [['DBSIZE'], '2'],
      [['KEYS', '*'], 'x\nz'],
      [['SCAN', '0'], '0\nx\nz'],
      [['CLIENT', 'ID'], ''],
      [['CLIENT', 'GETNAME'], ''],
      [['CLIENT', 'SETNAME', 'cli'], 'OK'],
      [
        ['AUTH', 'secret'],
        'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
      ],
      [['KEYS', 'z*'], 'z'],
      [['COMMAND', 'DOCS', 'get'], 'get\nsummary\nReturns the value of a key.\nsince\n1.0.0\ngroup\nstring'],
      [['CONFIG', 'GET', 'databases'], 'databases\n1'],
      [['SELECT', '0'], 'OK'],
      [['COMMAND', 'COUNT'], String(commandTable.size)],
      [['HELLO', '3'], 'NOPROTO unsupported protocol version'],
      [['GET'], "ERR wrong number of arguments for 'get' command"],
      [['NOPE', 'x'], "ERR unknown command 'NOPE', with args beginning with: 'x' "],
    ];
    for (const [args, expected] of cases) {
      const out = cli(...args);
      if (args[0] === 'CLIENT' && args[1] === 'ID') expect(out).toMatch(/^\d+$/);
      else expect(out, args.join(' ')).toBe(expected.trimEnd());
    }
    expect(cli('INFO')).toMatch(/# Keyspace\r?\ndb0:keys=2/);
    expect(cli('QUIT')).toBe('OK');
    expect(cli('FLUSHDB')).toBe('OK');
    expect(cli('DBSIZE')).toBe('0');
  });

  it('lists every key with --scan', () => {
    const script = Array.from({ length: 1200 }, (_, i) => `SET cli:${i} v`).join('\n');
    const load = spawnSync('redis-cli', ['-p', String(port)], { input: script, encoding: 'utf8', timeout: 60_000 });
    expect(load.status).toBe(0);
    const keys = cli('--scan', '--pattern', 'cli:*').split('\n');
    expect(new Set(keys).size).toBe(1200);
  });

  it.skipIf(missingTool(systemTools.redisBenchmark))('lets redis-benchmark -t set,get -n 1000 complete', () => {
    const result = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get', '-n', '1000', '-q'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/SET: [\d.]+ requests per second/);
    expect(result.stdout).toMatch(/GET: [\d.]+ requests per second/);
  });
});
