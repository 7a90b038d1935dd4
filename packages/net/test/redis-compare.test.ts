// Goal: distkv answers Redis's string and key commands with exactly the bytes redis-server 7 sends. Method: pipeline
// one command list to a real redis-server (on a Unix socket in a temporary directory) and to a distkv server, and
// compare the replies one by one and then the whole byte streams. redis-server runs with one database, as distkv has.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRequest, RespReplyDecoder, type Server } from '@distkv/net';
import { missingTool, systemTools } from '@distkv/net/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer } from './helpers.js';

/** Sends every request at once and resolves with the raw replies, split per request. */
function exchange(target: { port: number } | { path: string }, requests: string[][]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(target as never);
    const decoder = new RespReplyDecoder();
    const chunks: Buffer[] = [];
    let count = 0;
    socket.on('error', reject);
    socket.on('connect', () => socket.write(Buffer.concat(requests.map((r) => encodeRequest(r)))));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      decoder.push(d);
      count += decoder.drain().length;
      if (count < requests.length) return;
      socket.destroy();
      // Split the stream at reply boundaries by decoding it again one request at a time.
      const all = Buffer.concat(chunks);
      const replies: Buffer[] = [];
      let at = 0;
      for (let n = 1; n <= requests.length; n++) {
        let end = at + 1;
        for (;;) {
          const probe = new RespReplyDecoder();
          probe.push(all.subarray(at, end));
          if (probe.drain().length === 1) break;
          end++;
        }
        replies.push(all.subarray(at, end));
        at = end;
      }
      resolve(replies);
    });
  });
}

const big = 'x'.repeat(50);
const requests: string[][] = [
  ['FLUSHALL'],
  ['SETNX', 'k', 'v1'],
  ['SETNX', 'k', 'v2'],
  ['GETSET', 'k', 'v3'],
  ['GETSET', 'new', 'n'],
  ['GETDEL', 'new'],
  ['GETDEL', 'new'],
  ['APPEND', 'k', '-more'],
  ['APPEND', 'a', ''],
  ['EXISTS', 'a'],
  ['STRLEN', 'k'],
  ['STRLEN', 'none'],
  ['GETRANGE', 'k', '0', '-1'],
  ['GETRANGE', 'k', '-4', '-1'],
  ['GETRANGE', 'k', '5', '2'],
  ['GETRANGE', 'k', '-1', '-5'],
  ['GETRANGE', 'k', '0', '1000'],
  ['GETRANGE', 'none', '0', '-1'],
  ['GETRANGE', 'k', 'x', '1'],
  ['SUBSTR', 'k', '1', '3'],
  ['SETRANGE', 'k', '1', 'EE'],
  ['SETRANGE', 'r', '3', 'abc'],
  ['GET', 'r'],
  ['SETRANGE', 'r', '-1', 'x'],
  ['SETRANGE', 'r', '536870912', 'x'],
  ['SETRANGE', 'r', '99999999999999', ''],
  ['SETRANGE', 'absent', '5', ''],
  ['EXISTS', 'absent'],
  ['SETRANGE', 'r', 'nope', 'x'],
  ['SET', 'f', '10.50'],
  ['INCRBYFLOAT', 'f', '0.1'],
  ['INCRBYFLOAT', 'f', '-5'],
  ['SET', 'f', '5.0e3'],
  ['INCRBYFLOAT', 'f', '2.0e2'],
  ['SET', 'f', '200'],
  ['INCRBYFLOAT', 'f', '0.1'],
  ['INCRBYFLOAT', 'f', '0x10'],
  ['INCRBYFLOAT', 'f', '1e400'],
  ['INCRBYFLOAT', 'f', '-1e400'],
  ['INCRBYFLOAT', 'fresh', '3'],
  ['INCRBYFLOAT', 'f', 'abc'],
  ['INCRBYFLOAT', 'f', ' 1'],
  ['INCRBYFLOAT', 'f', 'inf'],
  ['INCRBYFLOAT', 'f', 'nan'],
  ['INCRBYFLOAT', 'k', '1'],
  ['MSETNX', 'm1', 'a', 'm2', 'b'],
  ['MSETNX', 'm3', 'c', 'm1', 'z'],
  ['EXISTS', 'm3'],
  ['MSETNX', 'm1'],
  ['SET', 'l1', 'ohmytext'],
  ['SET', 'l2', 'mynewtext'],
  ['LCS', 'l1', 'l2'],
  ['LCS', 'l1', 'l2', 'LEN'],
  ['LCS', 'l1', 'l2', 'IDX'],
  ['LCS', 'l1', 'l2', 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN'],
  ['LCS', 'l1', 'l2', 'IDX', 'MINMATCHLEN', '-3'],
  ['LCS', 'l1', 'l2', 'IDX', 'LEN'],
  ['LCS', 'l1', 'l2', 'BOGUS'],
  ['LCS', 'l1', 'l2', 'MINMATCHLEN', 'x'],
  ['LCS', 'l1', 'none'],
  ['LCS', 'l1', 'none', 'IDX'],
  ['TYPE', 'k'],
  ['TYPE', 'none'],
  ['RENAME', 'k', 'k2'],
  ['RENAME', 'k2', 'k2'],
  ['RENAME', 'none', 'x'],
  ['RENAMENX', 'k2', 'm1'],
  ['RENAMENX', 'k2', 'k3'],
  ['RENAMENX', 'k3', 'k3'],
  ['RENAMENX', 'none', 'x'],
  ['GET', 'k3'],
  ['UNLINK', 'm1', 'm2', 'none'],
  ['TOUCH', 'k3', 'm3', 'none'],
  ['COPY', 'k3', 'c1'],
  ['COPY', 'k3', 'c1'],
  ['COPY', 'k3', 'c1', 'REPLACE'],
  ['COPY', 'k3', 'c2', 'DB', '0'],
  ['COPY', 'k3', 'c3', 'DB', '1'],
  ['COPY', 'k3', 'c3', 'DB', 'x'],
  ['COPY', 'k3', 'k3'],
  ['COPY', 'none', 'c4'],
  ['COPY', 'k3', 'c5', 'BOGUS'],
  ['SET', 'i', '12345'],
  ['SET', 'e', 'short'],
  ['SET', 'b', big],
  ['SET', 'neg', '-0'],
  ['OBJECT', 'ENCODING', 'i'],
  ['OBJECT', 'ENCODING', 'e'],
  ['OBJECT', 'ENCODING', 'b'],
  ['OBJECT', 'ENCODING', 'neg'],
  ['OBJECT', 'ENCODING', 'none'],
  ['OBJECT', 'REFCOUNT', 'i'],
  ['OBJECT', 'REFCOUNT', 'e'],
  ['OBJECT', 'FREQ', 'i'],
  ['OBJECT', 'FREQ', 'none'],
  ['OBJECT', 'HELP'],
  ['OBJECT', 'BOGUS', 'i'],
  ['SCAN', '0', 'TYPE', 'hash', 'COUNT', '1000'],
  ['FLUSHALL', 'BOGUS'],
  ['FLUSHDB'],
  ['RANDOMKEY'],
  ['SET', 'only', '1'],
  ['RANDOMKEY'],
  ['FLUSHALL', 'SYNC'],
  ['DBSIZE'],
];

describe.skipIf(missingTool(systemTools.redisServer))('replies compared with redis-server', () => {
  let dir: string;
  let redis: ChildProcess;
  let server: Server;
  let port: number;
  const socketPath = (): string => join(dir, 'redis.sock');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'distkv-redis-compare-'));
    redis = spawn(
      'redis-server',
      ['--port', '0', '--unixsocket', socketPath(), '--save', '', '--appendonly', 'no', '--databases', '1', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    ({ server, port } = await startServer());
    await vi.waitFor(() => exchange({ path: socketPath() }, [['PING']]), { timeout: 20_000, interval: 50 });
  }, 30_000);

  afterAll(async () => {
    await server.close();
    if (redis.exitCode === null && redis.pid !== undefined) {
      const exited = new Promise((resolve) => redis.once('exit', resolve));
      redis.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every command with the same bytes', async () => {
    const expected = await exchange({ path: socketPath() }, requests);
    const actual = await exchange({ port }, requests);
    for (const [i, request] of requests.entries()) {
      expect((actual[i] as Buffer).toString('latin1'), request.join(' ')).toBe((expected[i] as Buffer).toString('latin1'));
    }
    expect(Buffer.concat(actual).equals(Buffer.concat(expected))).toBe(true);
  });
});
