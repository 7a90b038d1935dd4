// Goal: the Redis port speaks Redis's own inline protocol next to RESP, request by request, with Redis's quoting rules and error texts, and a protocol error closes the connection without reading on; the line protocol lives on the line port. Method: the inline parser against fixed cases and fast-check properties (quoting round trips, random chunkings); raw sockets against an in-process server; redis-cli and nc-style sockets against examples/server.ts as a real process.

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { commands } from '@distkv/core';
import { splitAt } from '@distkv/core/testing';
import {
  encodeRequest,
  type KvBackend,
  nextInline,
  ProtocolViolation,
  RespRequestParser,
  type Server,
  splitInline,
} from '@distkv/net';
import { MemoryBackend, missingTool, systemTools } from '@distkv/net/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RawSocket, sendUntilClosed, spawnExampleServer, startServer, stopChild } from './helpers.js';

const limits = { bulkBytesMax: 1 << 20, lineBytesMax: 1024, argsCountMax: 64 };

function split(line: string): string[] | undefined {
  return splitInline(Buffer.from(line, 'latin1'), 0, Buffer.byteLength(line, 'latin1'))?.map((a) => a.toString('latin1'));
}

function feed(chunks: Buffer[]): string[][] {
  const parser = new RespRequestParser(limits);
  const requests: string[][] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let r = parser.next(); r !== undefined; r = parser.next()) requests.push(r.map((a) => a.toString('latin1')));
  }
  return requests;
}

/** Quotes an argument the way redis-cli's sdscatrepr does, so splitInline must give it back. */
function quote(arg: Buffer): string {
  let out = '"';
  for (const byte of arg) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte === 10) out += '\\n';
    else if (byte === 13) out += '\\r';
    else if (byte === 9) out += '\\t';
    else if (byte === 7) out += '\\a';
    else if (byte === 8) out += '\\b';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

describe('splitInline: Redis quoting (sdssplitargs)', () => {
  it.each([
    ['SET k v', ['SET', 'k', 'v']],
    ['  SET \t k   v  ', ['SET', 'k', 'v']],
    ['SET k "hello world"', ['SET', 'k', 'hello world']],
    ['SET k "a\\nb\\r\\t\\b\\a\\\\\\"c"', ['SET', 'k', 'a\nb\r\t\b\x07\\"c']],
    ['SET k "\\x41\\x7a\\xff\\x00"', ['SET', 'k', 'Az\xff\x00']],
    ['SET k "\\xZZ"', ['SET', 'k', 'xZZ']], // not two hex digits: \x is just x
    ['SET k "\\q"', ['SET', 'k', 'q']], // any other escape is the character itself
    ["SET k 'it\\'s \"raw\" \\n'", ['SET', 'k', 'it\'s "raw" \\n']],
    ['SET k a"b c"d', undefined], // the closing quote is glued to d
    ['SET k a"b c"', ['SET', 'k', 'ab c']], // a quote may open inside a word
    ['SET k ""', ['SET', 'k', '']],
    ["SET k ''", ['SET', 'k', '']],
    ['SET k "unterminated', undefined],
    ["SET k 'unterminated", undefined],
    ['SET k "ends in a backslash\\', undefined],
    ['SET k "x"y', undefined],
    ['SET\x00 ignored after a NUL', ['SET']],
    ['', []],
    ['   ', []],
  ])('%j → %j', (line, args) => {
    expect(split(line)).toEqual(args);
  });

  it('gives back any arguments quoted the way redis-cli quotes them', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 }), (raw) => {
        const args = raw.map((a) => Buffer.from(a));
        const line = args.map(quote).join(' ');
        expect(split(line)).toEqual(args.map((a) => a.toString('latin1')));
      }),
      { numRuns: 1000 },
    );
  });

  it('returns plain words as views of the buffer (no copy)', () => {
    const buf = Buffer.from('GET key');
    const args = splitInline(buf, 0, buf.length) as Buffer[];
    expect(args[1]?.buffer).toBe(buf.buffer);
  });
});

describe('nextInline and the RESP request parser', () => {
  it('ends a request at \\n, with or without \\r, and skips empty lines', () => {
    const data = Buffer.from('PING\r\n\r\n\n   \r\nSET a "b c"\nGET a\r\n');
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (points) => {
        expect(feed(splitAt(data, points))).toEqual([['PING'], ['SET', 'a', 'b c'], ['GET', 'a']]);
      }),
      { numRuns: 300 },
    );
  });

  it('mixes inline and multibulk requests for any chunking, as Redis decides per request', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9:_-]{1,12}$/);
    const request = fc.tuple(fc.boolean(), fc.array(word, { minLength: 1, maxLength: 5 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(request, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 12 }), (requests, points) => {
        const data = Buffer.concat(
          requests.map(([inline, args, crlf]) =>
            inline ? Buffer.from(`${args.join(' ')}${crlf ? '\r\n' : '\n'}`) : encodeRequest(args),
          ),
        );
        expect(feed(splitAt(data, points))).toEqual(requests.map(([, args]) => args));
      }),
      { numRuns: 500 },
    );
  });

  it('waits for the rest of a line, and reports where the next request starts', () => {
    expect(nextInline(Buffer.from('GET a'), 0, limits)).toBeUndefined();
    const buf = Buffer.from('xxGET a\r\nPING\r\n');
    const first = nextInline(buf, 2, limits);
    expect(first?.args.map(String)).toEqual(['GET', 'a']);
    expect(first?.next).toBe(9);
  });

  it.each([
    ['SET k "a b\r\n', 'ERR Protocol error: unbalanced quotes in request'],
    ["SET k 'a\n", 'ERR Protocol error: unbalanced quotes in request'],
    ['SET k "a"b\r\n', 'ERR Protocol error: unbalanced quotes in request'],
    [`SET k ${'v'.repeat(1100)}\r\n`, 'ERR Protocol error: too big inline request'],
    ['v'.repeat(1100), 'ERR Protocol error: too big inline request'], // before its end arrives
    [`${'a '.repeat(65)}\r\n`, 'ERR Protocol error: invalid multibulk length'],
  ])('answers %j like Redis 7: %s', (input, reply) => {
    const parser = new RespRequestParser(limits);
    parser.push(Buffer.from(input));
    expect(() => parser.next()).toThrow(expect.objectContaining({ reply }));
  });

  it('accepts a line of exactly lineBytesMax bytes and argsCountMax arguments', () => {
    const line = `${'a '.repeat(63)}${'b'.repeat(limits.lineBytesMax - 126)}`;
    expect(Buffer.byteLength(line)).toBe(limits.lineBytesMax);
    expect(feed([Buffer.from(`${line}\r\n`)])[0]).toHaveLength(64);
  });

  it('throws only ProtocolViolation on random text lines', () => {
    const text = fc.string({ maxLength: 80, unit: fc.constantFrom('a', ' ', '"', "'", '\\', 'x', '4', '\r', '\n', '\t') });
    fc.assert(
      fc.property(text, (t) => {
        try {
          feed([Buffer.from(t)]);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolViolation);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the Redis port (in process)', () => {
  let server: Server;
  let port: number;
  let linePort: number;
  beforeAll(async () => {
    ({ server, port, linePort } = await startServer({ limits: { lineBytesMax: 1024 } }));
  });
  afterAll(() => server.close(1000));

  it('answers an inline PING with +PONG, and ignores empty lines', async () => {
    expect(await sendUntilClosed(port, 'PING\r\n\r\n\nPING\nQUIT\r\n')).toBe('+PONG\r\n+PONG\r\n+OK\r\n');
  });

  it('takes inline and multibulk requests on one connection, pipelined', async () => {
    const raw = await RawSocket.open(port);
    raw.write(
      Buffer.concat([
        Buffer.from('SET greeting "hello world"\r\n'),
        encodeRequest(['GET', 'greeting']),
        Buffer.from("SET greeting 'hello again'\nGET greeting\r\nINCR n\nDEL greeting\r\n"),
        encodeRequest(['EXISTS', 'greeting']),
        Buffer.from('SET bin "\\x00\\xff"\r\nGET bin\r\n'),
      ]),
    );
    const expected = '+OK\r\n$11\r\nhello world\r\n+OK\r\n$11\r\nhello again\r\n:1\r\n:1\r\n:0\r\n+OK\r\n$2\r\n\x00\xff\r\n';
    expect(await raw.until((t) => t.length >= expected.length)).toBe(expected);
    raw.destroy();
  });

  it('answers a line-protocol command in RESP: the Redis port does not speak the line protocol', async () => {
    expect(await sendUntilClosed(port, 'PUT hello world\r\nQUIT\r\n')).toBe(
      "-ERR unknown command 'PUT', with args beginning with: 'hello' 'world' \r\n+OK\r\n",
    );
  });

  it.each([
    ['SET k "open\r\nPING\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
    [`SET k ${'v'.repeat(2000)}`, '-ERR Protocol error: too big inline request\r\n'],
    ['*x\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['*1\r\n$-3\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['*1\r\nx\r\n', "-ERR Protocol error: expected '$', got 'x'\r\n"],
  ])('a protocol error (%j) is answered, then the connection is closed by the server', async (input, reply) => {
    const raw = await RawSocket.open(port);
    raw.write(`PING\r\n${input}`); // the socket stays open on our side: the server must close it
    await raw.waitClosed();
    expect(raw.received.toString('latin1')).toBe(`+PONG\r\n${reply}`);
  });

  it('after a protocol error reads nothing more: a desynced client cannot push megabytes into the server', async () => {
    const before = server.clientCount;
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    let closed = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let flushedBytes = 0;
    const totalBytes = 64 * 1024 * 1024;
    socket.write('SET k "never closed\r\n');
    // Keep pushing, as a client that lost framing would; count what the kernel took.
    while (!closed && flushedBytes < totalBytes) {
      const ok = await new Promise<boolean>((resolve) => socket.write(chunk, (err) => resolve(err == null)));
      if (!ok) break;
      flushedBytes += chunk.length;
    }
    // The server closed the socket instead of reading on: our writes failed long before 64 MiB, bounded by
    // the kernel's socket buffers (a few MiB), where before it read everything for requestTimeoutMs.
    expect(flushedBytes).toBeLessThan(totalBytes / 4);
    await vi.waitFor(() => expect(server.clientCount).toBeLessThanOrEqual(before));
    socket.destroy();
  });

  it('leaves the line protocol to the line port, byte for byte', async () => {
    expect(await sendUntilClosed(linePort, 'PUT hello world\nGET hello\nDEL hello\nGET hello\nFROB\nQUIT\n')).toBe(
      'OK\nworld\nOK\nNOT_FOUND\nERROR UNKNOWN COMMAND\n',
    );
    // A RESP request on the line port is not guessed at: it is a line like any other.
    expect(await sendUntilClosed(linePort, Buffer.concat([encodeRequest(['PING']), Buffer.from('QUIT\n')]))).toBe(
      'ERROR UNKNOWN COMMAND\nERROR UNKNOWN COMMAND\nPONG\n',
    );
  });
});

describe('the line port and the read barrier', () => {
  it('holds line-protocol reads (GET, SIZE, SCAN) behind the backend barrier, as RESP reads are', async () => {
    const backend = new MemoryBackend();
    let open: () => void = () => {};
    let barriers = 0;
    const gated: KvBackend = {
      get store() {
        return backend.store;
      },
      execute: (command) => backend.execute(command),
      readBarrier: () => {
        barriers++;
        return new Promise<void>((resolve) => {
          open = resolve;
        });
      },
    };
    const { server, linePort } = await startServer({ backend: gated });
    try {
      await backend.execute(commands.put(Buffer.from('k'), Buffer.from('v')));
      const raw = await RawSocket.open(linePort);
      raw.write('GET k\n');
      await vi.waitFor(() => expect(barriers).toBe(1));
      expect(raw.received.length).toBe(0); // no reply while the barrier holds
      open();
      expect(await raw.until((t) => t.length >= 2)).toBe('v\n');
      raw.destroy();
    } finally {
      await server.close(1000);
    }
  });
});

describe('a real process: redis-cli and raw sockets', () => {
  let child: ChildProcess;
  let port: number;
  let linePort: number;
  beforeAll(async () => {
    const started = await spawnExampleServer(['--line-port', '0']);
    child = started.child;
    port = started.port;
    linePort = started.linePort as number;
  }, 90_000);
  afterAll(() => stopChild(child));

  it('answers printf "PING\\r\\n" | nc in RESP, and the line protocol on --line-port', async () => {
    expect(await sendUntilClosed(port, 'PING\r\nSET x "1 2"\r\nGET x\r\nQUIT\r\n')).toBe('+PONG\r\n+OK\r\n$3\r\n1 2\r\n+OK\r\n');
    expect(linePort).toBeGreaterThan(0);
    expect(await sendUntilClosed(linePort, 'GET x\nPUT y 3 4\nGET y\nQUIT\n')).toBe('1 2\nOK\n3 4\n');
  });

  it.skipIf(missingTool(systemTools.redisCli))('takes inline commands from redis-cli --pipe, next to its multibulk ECHO', () => {
    const input = 'SET pipe:a "hello world"\r\n\r\nSET pipe:b \'x y\'\nINCR pipe:n\r\nINCR pipe:n\r\n';
    const piped = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe'], {
      input,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(piped.stdout).toMatch(/errors: 0, replies: 4/);
    const get = (key: string): string =>
      spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'GET', key], {
        encoding: 'utf8',
        timeout: 30_000,
      }).stdout.trimEnd();
    expect(get('pipe:a')).toBe('hello world');
    expect(get('pipe:b')).toBe('x y');
    expect(get('pipe:n')).toBe('2');
  });
});
