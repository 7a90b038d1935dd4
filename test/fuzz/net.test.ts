// Goal: every decoder of @distkv/net that reads bytes from the network
// survives garbage: the RESP request parser and the line parser (clients),
// the frame decoder (peers) and the RESP reply decoder (the client reading
// a server). Each either decodes, waits for more bytes, or fails with its
// documented error — never a TypeError/RangeError — and what it buffers
// stays within its limits however the bytes are chunked.
// Method: fast-check properties over valid inputs, mutated valid inputs and
// pure garbage, fed in random chunks, through the package's public API.
import { encodeFrame, FrameDecoder, LineParser, ProtocolViolation, RespReplyDecoder, RespRequestParser } from '@distkv/net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunked, expectCoded, garbageOr, params } from './fuzz.js';

const limits = { bulkBytesMax: 1024, lineBytesMax: 256, argsCountMax: 16 };
const arg = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
const respRequest = fc
  .array(arg, { minLength: 1, maxLength: 6 })
  .map((args) =>
    Buffer.concat([
      Buffer.from(`*${args.length}\r\n`),
      ...args.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')]),
    ]),
  );
const inline = fc.stringMatching(/^[A-Z]{1,6}( [a-z0-9]{1,8}){0,3}$/).map((s) => Buffer.from(`${s}\r\n`));
const requests = fc.array(fc.oneof(respRequest, inline), { minLength: 1, maxLength: 4 }).map((rs) => Buffer.concat(rs));
const cuts = fc.array(fc.nat(), { maxLength: 8 });

const isViolation = (e: unknown) => e instanceof ProtocolViolation && /^ERR/.test(e.reply);

describe('fuzz @distkv/net decoders', () => {
  it('RespRequestParser: valid requests round-trip whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), cuts, (args, cs) => {
        const wire = Buffer.concat([
          Buffer.from(`*${args.length}\r\n`),
          ...args.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')]),
        ]);
        const p = new RespRequestParser(limits);
        const got: Buffer[][] = [];
        for (const c of chunked(wire, cs)) {
          p.push(c);
          for (let r = p.next(); r !== undefined; r = p.next()) got.push(r);
        }
        expect(got).toEqual([args]);
      }),
      params(),
    );
  });

  it('RespRequestParser: garbage gets a protocol error or waits, with bounded buffering', () => {
    // One request never holds more than argsCountMax bulks of bulkBytesMax, plus a header line.
    const bound = limits.argsCountMax * (limits.bulkBytesMax + 2) + limits.lineBytesMax + 64;
    fc.assert(
      fc.property(garbageOr(requests), cuts, (input, cs) => {
        const p = new RespRequestParser(limits);
        try {
          for (const c of chunked(input, cs)) {
            p.push(c);
            for (let r = p.next(); r !== undefined; r = p.next()) expect(r.length).toBeLessThanOrEqual(limits.argsCountMax);
            expect(p.bufferedBytes).toBeLessThanOrEqual(Math.min(bound, input.length));
          }
        } catch (err) {
          expectCoded(err, [], isViolation);
        }
      }),
      params(),
    );
  });

  it('LineParser: lines come back intact; over-long garbage gets ERROR LINE TOO LONG, nothing else', () => {
    fc.assert(
      fc.property(garbageOr(requests), cuts, (input, cs) => {
        const p = new LineParser(limits.lineBytesMax);
        let lines = 0;
        try {
          for (const c of chunked(input, cs)) {
            p.push(c);
            for (let l = p.next(); l !== undefined; l = p.next()) {
              expect(l.length).toBeLessThanOrEqual(limits.lineBytesMax);
              expect(l.includes(10)).toBe(false);
              lines++;
            }
          }
          expect(lines).toBeLessThanOrEqual(input.filter((b) => b === 10).length);
        } catch (err) {
          expectCoded(err, [], (e) => e instanceof ProtocolViolation && e.reply === 'ERROR LINE TOO LONG');
        }
      }),
      params(),
    );
  });

  it('FrameDecoder: frames round-trip; a hostile length fails FRAME_TOO_LARGE before any allocation', () => {
    const frameBytesMax = 512;
    const payloads = fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(payloads, fc.uint8Array({ maxLength: 64 }), cuts, (ps, junk, cs) => {
        const wire = Buffer.concat([...ps.flatMap((p) => encodeFrame(p)), Buffer.from(junk)]);
        const d = new FrameDecoder(frameBytesMax);
        const got: Buffer[] = [];
        try {
          for (const c of chunked(wire, cs)) {
            d.push(c);
            for (let f = d.next(); f !== undefined; f = d.next()) got.push(f);
            // Undecoded bytes are at most one frame and its header, plus the chunk just pushed.
            expect(d.bufferedBytes).toBeLessThanOrEqual(frameBytesMax + 4 + c.length);
          }
        } catch (err) {
          expectCoded(err, ['FRAME_TOO_LARGE']);
          // Everything before the first oversized frame (or the junk's header) came through.
          const firstBig = ps.findIndex((p) => p.length > frameBytesMax);
          const before = firstBig < 0 ? ps : ps.slice(0, firstBig);
          expect(got.slice(0, before.length).map((g) => Buffer.from(g))).toEqual(before.map((p) => Buffer.from(p)));
          if (firstBig < 0) expect(junk.length).toBeGreaterThanOrEqual(4);
          return;
        }
        expect(ps.every((p) => p.length <= frameBytesMax)).toBe(true);
        expect(got.slice(0, ps.length).map((g) => Buffer.from(g))).toEqual(ps.map((p) => Buffer.from(p)));
      }),
      params(),
    );
  });

  it('RespReplyDecoder: a garbled server reply is a plain error the Client turns into PROTOCOL_ERROR, never a crash', () => {
    const reply = fc
      .oneof(
        fc.constant('+OK\r\n'),
        fc.constant('$-1\r\n'),
        fc.integer().map((n) => `:${n}\r\n`),
        fc.string({ maxLength: 20 }).map((s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`),
        fc.constant('*2\r\n$1\r\na\r\n:1\r\n'),
        fc.constant('-ERR no\r\n'),
      )
      .map((s) => Buffer.from(s));
    const replies = fc.array(reply, { minLength: 1, maxLength: 4 }).map((rs) => Buffer.concat(rs));
    fc.assert(
      fc.property(garbageOr(replies), cuts, (input, cs) => {
        const d = new RespReplyDecoder(4096);
        try {
          for (const c of chunked(input, cs)) {
            d.push(c);
            d.drain();
          }
        } catch (err) {
          if (err instanceof TypeError || err instanceof RangeError || !(err instanceof Error)) throw err;
          expect(err.message.length).toBeGreaterThan(0);
        }
      }),
      params(),
    );
  });
});
