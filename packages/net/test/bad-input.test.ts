// Goal: no input takes the server down or lets one client hurt another. Method: 100,000 random and mutated RESP frames (fast-check) over many connections, plus oversize and negative lengths, unterminated frames, half-closed sockets and a client that never reads; a control client is checked throughout.

import { Client, encodeRequest, RespErrorReply, RespReplyDecoder, type RespValue, type Server } from '@distkv/net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSocket, sendUntilClosed, startServer } from './helpers.js';

let server: Server;
let port: number;
let control: Client;
beforeAll(async () => {
  ({ server, port } = await startServer({ limits: { bulkBytesMax: 1024 * 1024, drainWaitMsMax: 60_000 } }));
  control = await Client.connect({ port });
});
afterAll(async () => {
  await control.close();
  await server.close(1000);
});

/**
 * Sends bytes, half-closes, and collects the replies until the server
 * closes. The Redis port answers in RESP whatever the first byte: a
 * request not starting with '*' is an inline command.
 */
async function exchange(data: Buffer): Promise<RespValue[]> {
  const raw = await RawSocket.open(port);
  raw.write(data);
  raw.socket.end();
  await raw.waitClosed();
  const decoder = new RespReplyDecoder();
  decoder.push(raw.received);
  return decoder.drain();
}

const validFrame = fc
  .tuple(
    fc.constantFrom('GET', 'SET', 'DEL', 'INCR', 'MGET', 'EXISTS', 'PING', 'ECHO', 'SCAN', 'SET', 'NOPE', 'set'),
    fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('0', '-1', 'NX', 'XX', 'GET', 'EX', '9223372036854775807')), {
      maxLength: 4,
    }),
  )
  .map(([name, args]) => encodeRequest([name, ...args]));

const mutatedFrame = fc
  .tuple(validFrame, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.constantFrom('flip', 'cut', 'insert', 'length'))
  .map(([frame, at, bytes, how]) => {
    const i = at % frame.length;
    if (how === 'cut') return frame.subarray(0, i);
    if (how === 'insert') return Buffer.concat([frame.subarray(0, i), Buffer.from(bytes), frame.subarray(i)]);
    if (how === 'length')
      return Buffer.from(frame.toString('latin1').replace(/\$\d+/, `$${['-5', '99999999999', '2000000', 'x'][i % 4]}`), 'latin1');
    const out = Buffer.from(frame);
    out[i] = (bytes[0] as number) ^ (out[i] as number);
    return out;
  });

const anyFrame = fc.oneof(
  { weight: 5, arbitrary: validFrame },
  { weight: 4, arbitrary: mutatedFrame },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
);

describe('bad input', () => {
  it('survives 100,000 random and mutated frames over many connections; replies stay well-formed', async () => {
    const framesCount = 100_000;
    const perConnection = 50;
    const frames = fc.sample(anyFrame, { numRuns: framesCount, seed: 42 });
    expect(frames.length).toBe(framesCount);
    const heapBefore = process.memoryUsage().heapUsed;
    let protocolErrors = 0;
    const batches: Buffer[] = [];
    for (let i = 0; i < frames.length; i += perConnection) batches.push(Buffer.concat(frames.slice(i, i + perConnection)));
    const parallel = 16;
    for (let i = 0; i < batches.length; i += parallel) {
      const slice = batches.slice(i, i + parallel);
      const results = await Promise.all(slice.map(exchange));
      for (const [j, replies] of results.entries()) {
        const data = slice[j] as Buffer;
        // At most one reply per request: a request ends with a newline.
        if (data[0] === 42) expect(replies.length).toBeLessThanOrEqual(data.filter((b) => b === 10).length + 1);
        const errorIndex = replies.findIndex((r) => r instanceof RespErrorReply && r.message.startsWith('ERR Protocol error'));
        if (errorIndex >= 0) {
          protocolErrors++;
          expect(errorIndex).toBe(replies.length - 1); // the connection closed right after it
        }
      }
      if (i % (parallel * 50) === 0) expect(await control.call('PING')).toBe('PONG');
    }
    expect(protocolErrors).toBeGreaterThan(100);
    expect(await control.call('ECHO', 'still here')).toEqual(Buffer.from('still here'));
    expect(server.clientCount).toBe(1);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it.each([
    ['a negative bulk length', '*1\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
    ['an oversize bulk length', `*1\r\n$${2 * 1024 * 1024}\r\n`, 'ERR Protocol error: invalid bulk length'],
    ['an oversize multibulk length', '*99999999999\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['a wrong type byte', '*1\r\n+PING\r\n', "ERR Protocol error: expected '$', got '+'"],
  ])('answers %s with a protocol error and closes', async (_what, input, reply) => {
    expect(await sendUntilClosed(port, input)).toBe(`-${reply}\r\n`);
  });

  it('answers complete requests of a half-closed socket and drops an unterminated frame', async () => {
    const replies = await exchange(
      Buffer.concat([
        encodeRequest(['SET', 'half', '1']),
        encodeRequest(['GET', 'half']),
        Buffer.from('*2\r\n$3\r\nGET\r\n$4\r\nha'),
      ]),
    );
    expect(replies).toEqual(['OK', Buffer.from('1')]);
  });

  it('stops reading from a client that never reads, keeps memory bounded, serves others', async () => {
    const value = Buffer.alloc(256 * 1024, 'v');
    await control.call('SET', 'big', value);
    const raw = await RawSocket.open(port);
    raw.socket.pause(); // never reads
    const request = encodeRequest(['GET', 'big']);
    const rssBefore = process.memoryUsage().rss;
    // 4,000 GETs would be 1 GiB of replies if the server kept producing them.
    let written = 0;
    for (let i = 0; i < 4000 && written < 4000; i++) {
      raw.socket.write(request);
      written++;
    }
    for (let i = 0; i < 50; i++) expect(await control.call('PING')).toBe('PONG');
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
    raw.destroy();
    await control.call('DEL', 'big');
  });
});
