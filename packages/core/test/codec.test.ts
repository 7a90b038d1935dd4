// Goal: encodeCommand/decodeCommand round-trip every command, and decoding
// garbage gives a typed error, never a crash or a wrong command. Method:
// fast-check round trips, exhaustive truncation and bit flips of valid
// encodings, random bytes.
import { type Command, commands, DistkvError, decodeCommand, defaultStoreLimits, encodeCommand, Store } from '@distkv/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const command: fc.Arbitrary<Command> = fc.oneof(
  fc
    .tuple(bytes, bytes, fc.constantFrom('always', 'ifAbsent', 'ifPresent' as const), fc.boolean())
    .map(([k, v, when, returnPrevious]) => commands.put(k, v, { when, returnPrevious })),
  fc.array(bytes, { minLength: 0, maxLength: 5 }).map((keys) => commands.del(...keys)),
  fc.tuple(bytes, fc.option(bytes), fc.option(bytes)).map(([k, e, v]) => commands.cas(k, e, v)),
  fc.array(fc.tuple(bytes, bytes), { maxLength: 5 }).map((entries) => commands.mput(entries)),
  fc.tuple(bytes, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([k, d]) => commands.incrBy(k, d)),
  fc.constant(commands.clear()),
  bytes.map((k) => commands.getDel(k)),
  fc.array(fc.tuple(bytes, bytes), { maxLength: 5 }).map((entries) => commands.mput(entries, { ifNoneExist: true })),
  fc.tuple(bytes, bytes).map(([k, d]) => commands.incrByFloat(k, d)),
  fc.tuple(bytes, bytes).map(([k, v]) => commands.append(k, v)),
  fc.tuple(bytes, fc.maxSafeNat(), bytes).map(([k, offset, v]) => commands.setRange(k, offset, v)),
  fc.tuple(bytes, bytes, fc.boolean()).map(([k, t, nx]) => commands.rename(k, t, { nx })),
  fc.tuple(bytes, bytes, fc.boolean()).map(([k, t, replace]) => commands.copy(k, t, { replace })),
);

/** Normalise Buffers/Uint8Arrays so that toEqual compares bytes only. */
function plain(c: Command): unknown {
  return JSON.parse(JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v)));
}

function decodeOrCode(input: Uint8Array): Command | string {
  try {
    return decodeCommand(input);
  } catch (err) {
    if (err instanceof DistkvError) return err.code;
    throw err; // anything else is a bug: the test fails
  }
}

describe('command codec', () => {
  it('round-trips every command', () => {
    fc.assert(
      fc.property(command, (c) => {
        expect(plain(decodeCommand(encodeCommand(c)))).toEqual(plain(c));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes to a command that applies with the same result as the original', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 20 }), (cmds) => {
        const a = new Store();
        const b = new Store();
        for (const c of cmds) expect(b.apply(decodeCommand(encodeCommand(c)))).toEqual(a.apply(c));
        expect(b.digest()).toBe(a.digest());
      }),
      { numRuns: 200 },
    );
  });

  it('rejects every truncation of a valid encoding with COMMAND_CORRUPT', () => {
    fc.assert(
      fc.property(command, (c) => {
        const encoded = encodeCommand(c);
        for (let cut = 0; cut < encoded.length; cut++) {
          expect(decodeOrCode(encoded.subarray(0, cut))).toBe('COMMAND_CORRUPT');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects trailing bytes', () => {
    const encoded = encodeCommand(commands.put('k', 'v'));
    expect(decodeOrCode(Buffer.concat([encoded, Buffer.from([0])]))).toBe('COMMAND_CORRUPT');
  });

  it('rejects unknown versions with COMMAND_VERSION and unknown ops with COMMAND_CORRUPT', () => {
    const encoded = encodeCommand(commands.clear());
    expect(decodeOrCode(Buffer.from([2, encoded[1] as number]))).toBe('COMMAND_VERSION');
    expect(decodeOrCode(Buffer.from([1, 99]))).toBe('COMMAND_CORRUPT');
    expect(decodeOrCode(Buffer.alloc(0))).toBe('COMMAND_CORRUPT');
  });

  it('survives single-bit flips: a typed error or a valid command, never a throw of another kind', () => {
    fc.assert(
      fc.property(command, fc.nat(), (c, bit) => {
        const encoded = Buffer.from(encodeCommand(c));
        const at = bit % (encoded.length * 8);
        encoded[at >> 3] = (encoded[at >> 3] as number) ^ (1 << (at & 7));
        const decoded = decodeOrCode(encoded);
        if (typeof decoded !== 'string') expect(encodeCommand(decoded).equals(encoded)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('survives random garbage, and re-encodes whatever it accepts to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        const decoded = decodeOrCode(garbage);
        if (typeof decoded !== 'string') expect(encodeCommand(decoded).equals(Buffer.from(garbage))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses huge declared lengths and counts before allocating', () => {
    // del with a count of 2^32-1 in a 6-byte input
    expect(decodeOrCode(Buffer.from([1, 2, 0xff, 0xff, 0xff, 0xff]))).toBe('COMMAND_CORRUPT');
    // put with a key length of 4 GiB
    expect(decodeOrCode(Buffer.from([1, 1, 0, 0xff, 0xff, 0xff, 0xff]))).toBe('COMMAND_CORRUPT');
    // a key longer than keyBytesMax is refused even when the bytes are there
    const long = encodeCommand(commands.put(Buffer.alloc(defaultStoreLimits.keyBytesMax + 1), 'v'));
    expect(decodeOrCode(long)).toBe('COMMAND_CORRUPT');
  });
});
