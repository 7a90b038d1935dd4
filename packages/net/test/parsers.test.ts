// Goal: the incremental parsers give the same requests however the bytes are chunked, and fail only with protocol errors. Method: fast-check properties over random requests, random split points and random bytes.

import { splitAt } from '@distkv/core/testing';
import { encodeFrame, encodeRequest, FrameDecoder, LineParser, ProtocolViolation, RespRequestParser } from '@distkv/net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const limits = { bulkBytesMax: 1 << 20, lineBytesMax: 1024, argsCountMax: 64 };

function feedResp(chunks: Buffer[], parser = new RespRequestParser(limits)): Buffer[][] {
  const requests: Buffer[][] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let r = parser.next(); r !== undefined; r = parser.next()) requests.push(r.map((a) => Buffer.from(a)));
  }
  return requests;
}

const arg = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const request = fc.array(arg, { minLength: 1, maxLength: 6 });
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('RespRequestParser', () => {
  it('returns the same requests for any chunking', () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 8 }), cuts, (requests, points) => {
        const data = Buffer.concat(requests.map((r) => encodeRequest(r)));
        expect(feedResp(splitAt(data, points))).toEqual(requests);
      }),
      { numRuns: 500 },
    );
  });

  it('parses inline commands (telnet style) between RESP requests', () => {
    const data = Buffer.from('PING\r\n\r\nSET  a  b\n*1\r\n$4\r\nPING\r\nGET a\r\n');
    fc.assert(
      fc.property(cuts, (points) => {
        expect(feedResp(splitAt(data, points)).map((r) => r.map(String))).toEqual([
          ['PING'],
          ['SET', 'a', 'b'],
          ['PING'],
          ['GET', 'a'],
        ]);
      }),
      { numRuns: 200 },
    );
  });

  it('throws only ProtocolViolation on random bytes, and buffers at most a line plus a chunk', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const parser = new RespRequestParser(limits);
        try {
          for (const chunk of chunks) {
            parser.push(Buffer.from(chunk));
            while (parser.next() !== undefined);
            expect(parser.bufferedBytes).toBeLessThanOrEqual(limits.lineBytesMax + 200 + limits.bulkBytesMax);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolViolation);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['*abc\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*65\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$-1\r\n', 'ERR Protocol error: invalid bulk length'],
    [`*1\r\n$${(1 << 20) + 1}\r\n`, 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n:1\r\n', "ERR Protocol error: expected '$', got ':'"],
    ['*1\r\n$1\r\nab\r\n', "ERR Protocol error: expected '\\r\\n' after bulk string"],
    [`*${'1'.repeat(2000)}`, 'ERR Protocol error: too big mbulk count string'],
    [`*1\r\n$${'1'.repeat(2000)}`, 'ERR Protocol error: too big bulk count string'],
    ['x'.repeat(2000), 'ERR Protocol error: too big inline request'],
  ])('answers %j like Redis: %s', (input, reply) => {
    const parser = new RespRequestParser(limits);
    parser.push(Buffer.from(input));
    expect(() => parser.next()).toThrow(expect.objectContaining({ reply }));
  });

  it('ignores *0 and *-1 as Redis does', () => {
    expect(feedResp([Buffer.from('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n')]).map((r) => r.map(String))).toEqual([['PING']]);
  });

  it('does not allocate a huge announced bulk before its bytes arrive', () => {
    const parser = new RespRequestParser({ ...limits, bulkBytesMax: 512 * 1024 * 1024 });
    parser.push(Buffer.from(`*1\r\n$${500 * 1024 * 1024}\r\nabc`));
    const before = process.memoryUsage().arrayBuffers;
    expect(parser.next()).toBeUndefined();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(parser.bufferedBytes).toBe(3);
  });
});

describe('LineParser', () => {
  it('returns the same lines for any chunking', () => {
    const line = fc.string({ maxLength: 100 }).map((s) => s.replace(/[\r\n]/g, ' '));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), fc.boolean(), cuts, (lines, crlf, points) => {
        const data = Buffer.from(lines.map((l) => `${l}${crlf ? '\r\n' : '\n'}`).join(''));
        const parser = new LineParser(1024);
        const out: string[] = [];
        for (const chunk of splitAt(data, points)) {
          parser.push(chunk);
          for (let l = parser.next(); l !== undefined; l = parser.next()) out.push(l.toString());
        }
        expect(out).toEqual(lines);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a line longer than lineBytesMax, even before its end arrives', () => {
    const parser = new LineParser(16);
    parser.push(Buffer.from('PUT k 0123456789abcdef'));
    expect(() => parser.next()).toThrow(ProtocolViolation);
  });
});

describe('FrameDecoder', () => {
  it('returns the same frames for any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 8 }), cuts, (frames, points) => {
        const data = Buffer.concat(frames.flatMap((f) => encodeFrame(f)));
        const decoder = new FrameDecoder(1000);
        const out: Buffer[] = [];
        for (const chunk of splitAt(data, points)) {
          decoder.push(chunk);
          for (let f = decoder.next(); f !== undefined; f = decoder.next()) out.push(Buffer.from(f));
        }
        expect(out).toEqual(frames.map((f) => Buffer.from(f)));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a frame header above frameBytesMax before allocating', () => {
    const decoder = new FrameDecoder(1000);
    decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(() => decoder.next()).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
  });
});
