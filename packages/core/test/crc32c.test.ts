// Goal: crc32c computes CRC-32C exactly. Method: published check values and
// agreement between one-shot and piecewise computation.
import { crc32c } from '@distkv/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('crc32c', () => {
  it('matches the standard check value for "123456789" (RFC 3720 B.4)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('matches RFC 3720 B.4 vectors: 32 zero bytes and 32 0xff bytes', () => {
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it('is 0 for empty input', () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('gives the same result in pieces as in one call', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        const whole = crc32c(bytes);
        const pieces = crc32c(bytes, crc32c(bytes, 0, 0, at), at, bytes.length);
        expect(pieces).toBe(whole);
      }),
    );
  });

  it('detects every single-bit flip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (bytes, bit) => {
        const flipped = Uint8Array.from(bytes);
        const at = bit % (bytes.length * 8);
        flipped[at >> 3] = (flipped[at >> 3] as number) ^ (1 << (at & 7));
        expect(crc32c(flipped)).not.toBe(crc32c(bytes));
      }),
    );
  });
});
