// Goal: each Store operation does what its doc says, including limits and
// edge cases. Method: direct examples, one behaviour per test.
import { commands, DistkvError, Store } from '@distkv/core';
import { describe, expect, it } from 'vitest';

function errorOf(fn: () => unknown): DistkvError | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof DistkvError) return err;
    throw err;
  }
  return undefined;
}

function codeOf(fn: () => unknown): string | undefined {
  return errorOf(fn)?.code;
}

/** The code and what the message says after it: the two things a caller and a reader see. */
function failure(fn: () => unknown): [string, string] | undefined {
  const err = errorOf(fn);
  return err === undefined ? undefined : [err.code, err.detail];
}

describe('Store basics', () => {
  it('puts, gets, deletes (the seed demo)', () => {
    const s = new Store();
    s.put('hello', 'world');
    expect(s.getString('hello')).toBe('world');
    expect(s.del('hello')).toBe(true);
    expect(s.get('hello')).toBeUndefined();
    expect(s.del('hello')).toBe(false);
    expect(s.size).toBe(0);
  });

  it('treats keys and values as bytes, including NUL, 0xff and invalid UTF-8', () => {
    const s = new Store();
    const key = Buffer.from([0x00, 0xff, 0x80, 0x41]);
    const value = Buffer.from([0xc3, 0x28, 0x00, 0xfe]);
    s.put(key, value);
    expect(s.get(key)).toEqual(value);
    expect(s.has(Buffer.from([0x00, 0xff, 0x80]))).toBe(false);
  });

  it('round-trips UTF-8 strings and treats a string key as its UTF-8 bytes', () => {
    const s = new Store();
    s.put('clé', 'värde ✓ 🚀');
    expect(s.getString('clé')).toBe('värde ✓ 🚀');
    expect(s.get(Buffer.from('clé', 'utf8'))?.toString('utf8')).toBe('värde ✓ 🚀');
  });

  it('returns fresh buffers: mutating a result does not change the store', () => {
    const s = new Store();
    s.put('k', 'abc');
    const got = s.get('k') as Buffer;
    got[0] = 0x7a;
    expect(s.getString('k')).toBe('abc');
  });

  it('copies input: mutating the caller buffer after put does not change the store', () => {
    const s = new Store();
    const value = Buffer.from('abc');
    s.put('k', value);
    value[0] = 0x7a;
    expect(s.getString('k')).toBe('abc');
  });

  it('accepts a plain Uint8Array view with an offset', () => {
    const s = new Store();
    const backing = new Uint8Array([9, 9, 0x6b, 0x65, 0x79, 9]);
    s.put(backing.subarray(2, 5), new Uint8Array([1, 2, 3]));
    expect(s.get('key')).toEqual(Buffer.from([1, 2, 3]));
  });

  it('stores large values (above the inline threshold) intact', () => {
    const s = new Store();
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4093) big[i] = i & 0xff;
    s.put('big', big);
    expect(s.get('big')?.equals(big)).toBe(true);
    expect(s.dataBytes).toBe(3 + big.length);
  });

  it('accepts the empty key and the empty value', () => {
    const s = new Store();
    s.put('', '');
    expect(s.has('')).toBe(true);
    expect(s.get('')).toEqual(Buffer.alloc(0));
  });
});

describe('cas', () => {
  it('swaps only when the current value matches', () => {
    const s = new Store();
    s.put('k', 'a');
    expect(s.cas('k', 'b', 'c')).toEqual({ swapped: false, previous: Buffer.from('a') });
    expect(s.cas('k', 'a', 'c')).toEqual({ swapped: true, previous: Buffer.from('a') });
    expect(s.getString('k')).toBe('c');
  });

  it('uses null for "absent" on both sides', () => {
    const s = new Store();
    expect(s.cas('k', null, 'v')).toEqual({ swapped: true, previous: null });
    expect(s.cas('k', null, 'w')).toEqual({ swapped: false, previous: Buffer.from('v') });
    expect(s.cas('k', 'v', null)).toEqual({ swapped: true, previous: Buffer.from('v') });
    expect(s.has('k')).toBe(false);
  });

  it('compares an empty value with absent as different', () => {
    const s = new Store();
    s.put('k', '');
    expect(s.cas('k', null, 'x').swapped).toBe(false);
    expect(s.cas('k', '', 'x').swapped).toBe(true);
  });
});

describe('incrBy', () => {
  it('starts from 0 and stores the decimal text', () => {
    const s = new Store();
    expect(s.incrBy('n', 5)).toBe(5n);
    expect(s.incrBy('n', -7)).toBe(-2n);
    expect(s.getString('n')).toBe('-2');
  });

  it('refuses values that are not canonical signed 64-bit integers, like Redis', () => {
    const s = new Store();
    for (const bad of ['abc', '', ' 1', '1 ', '+1', '01', '-0', '1.5', '9223372036854775808', '99999999999999999999']) {
      s.put('n', bad);
      expect(codeOf(() => s.incrBy('n', 1))).toBe('NOT_INTEGER');
      expect(s.getString('n')).toBe(bad);
    }
  });

  it('detects overflow at both ends of the signed 64-bit range', () => {
    const s = new Store();
    s.put('n', '9223372036854775807');
    expect(codeOf(() => s.incrBy('n', 1))).toBe('INTEGER_OVERFLOW');
    s.put('n', '-9223372036854775808');
    expect(codeOf(() => s.incrBy('n', -1))).toBe('INTEGER_OVERFLOW');
    expect(s.incrBy('n', 0)).toBe(-9223372036854775808n);
    expect(codeOf(() => s.incrBy('m', 2n ** 63n))).toBe('INTEGER_OVERFLOW');
  });
});

describe('scan', () => {
  const s = new Store();
  for (const k of ['a', 'ab', 'abc', 'abd', 'b', 'ba', '\u00ff', '\u00ff\u00ff', 'a\u00ff']) s.put(Buffer.from(k, 'latin1'), k);
  const keys = (opts: Parameters<Store['scan']>[0]) => s.scan(opts).map(([k]) => k.toString('latin1'));

  it('walks all keys in bytewise order', () => {
    expect(keys({})).toEqual(['a', 'ab', 'abc', 'abd', 'a\u00ff', 'b', 'ba', '\u00ff', '\u00ff\u00ff']);
  });

  it('scans a prefix, including prefixes ending in 0xff', () => {
    expect(keys({ prefix: 'ab' })).toEqual(['ab', 'abc', 'abd']);
    expect(keys({ prefix: Buffer.from([0xff]) })).toEqual(['\u00ff', '\u00ff\u00ff']);
    expect(keys({ prefix: 'zz' })).toEqual([]);
  });

  it('scans a [start, end) range, with limit and in reverse', () => {
    expect(keys({ start: 'abc', end: 'b' })).toEqual(['abc', 'abd', 'a\u00ff']);
    expect(keys({ start: 'abc', end: 'ba', limit: 2 })).toEqual(['abc', 'abd']);
    expect(keys({ start: 'abc', end: 'ba', reverse: true })).toEqual(['b', 'a\u00ff', 'abd', 'abc']);
    expect(keys({ prefix: 'a', reverse: true, limit: 2 })).toEqual(['a\u00ff', 'abd']);
    expect(keys({ start: 'b', end: 'b' })).toEqual([]);
  });

  it('refuses a limit above scanLimitMax', () => {
    const small = new Store({ limits: { scanLimitMax: 2 } });
    expect(codeOf(() => small.scan({ limit: 3 }))).toBe('SCAN_LIMIT');
  });
});

describe('limits', () => {
  // Every error says which limit it hit and by how much, so each case checks the message as well as the code.
  it('rejects a key or value over its limit and leaves the store unchanged', () => {
    const s = new Store({ limits: { keyBytesMax: 4, valueBytesMax: 8 } });
    expect(failure(() => s.put('12345', 'v'))).toEqual(['KEY_TOO_LARGE', 'key of 5 bytes exceeds keyBytesMax 4']);
    expect(failure(() => s.put('k', '123456789'))).toEqual(['VALUE_TOO_LARGE', 'value of 9 bytes exceeds valueBytesMax 8']);
    // 10 UTF-8 bytes, though 5 characters
    expect(failure(() => s.put('k', 'é'.repeat(5)))).toEqual(['VALUE_TOO_LARGE', 'value of 10 bytes exceeds valueBytesMax 8']);
    expect(s.size).toBe(0);
  });

  it('refuses new keys past keysMax but still allows overwrites and deletes', () => {
    const s = new Store({ limits: { keysMax: 2 } });
    s.put('a', '1');
    s.put('b', '2');
    expect(failure(() => s.put('c', '3'))).toEqual(['STORE_FULL', 'the store holds limits.keysMax = 2 keys']);
    s.put('a', 'updated');
    s.del('b');
    s.put('c', '3');
    expect(s.size).toBe(2);
  });

  it('tracks data bytes and refuses growth past dataBytesMax', () => {
    const s = new Store({ limits: { dataBytesMax: 10 } });
    s.put('ab', '1234'); // 6
    expect(failure(() => s.put('cd', '12345'))).toEqual(['STORE_FULL', 'the store holds limits.dataBytesMax = 10 bytes']);
    s.put('ab', '12345678'); // 10
    expect(s.dataBytes).toBe(10);
    s.del('ab');
    expect(s.dataBytes).toBe(0);
  });

  it('makes mput all-or-nothing', () => {
    const s = new Store({ limits: { keysMax: 2 } });
    s.put('a', '1');
    const two: Array<[string, string]> = [
      ['b', '2'],
      ['c', '3'],
    ];
    expect(failure(() => s.mput(two))).toEqual(['STORE_FULL', 'the store would exceed limits.keysMax = 2 keys']);
    expect(s.size).toBe(1);
    const tooLong: Array<[string, string]> = [
      ['x', '1'],
      ['y'.repeat(70_000), '2'],
    ];
    expect(failure(() => s.mput(tooLong))).toEqual(['KEY_TOO_LARGE', 'key of 70000 bytes exceeds keyBytesMax 65536']);
    expect(s.has('x')).toBe(false);
  });

  it('bounds the keys of one command by batchKeysMax', () => {
    const s = new Store({ limits: { batchKeysMax: 2 } });
    const three: Array<[string, string]> = [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ];
    expect(failure(() => s.mput(three))).toEqual(['BATCH_TOO_LARGE', 'more than 2 keys']);
    // apply() answers with a result, never a throw: the state machine must go on applying the log.
    expect(s.apply(commands.del('a', 'b', 'c'))).toEqual({
      ok: false,
      op: 'del',
      code: 'BATCH_TOO_LARGE',
      message: 'BATCH_TOO_LARGE: more than 2 keys',
    });
    expect(s.size).toBe(0);
  });

  it('says why an INCRBY cannot apply, and changes nothing', () => {
    const s = new Store();
    s.put('text', 'abc');
    s.put('top', '9223372036854775807');
    expect(failure(() => s.incrBy('text', 1))).toEqual(['NOT_INTEGER', 'value is not an integer or out of range']);
    expect(failure(() => s.incrBy('top', 1))).toEqual(['INTEGER_OVERFLOW', 'increment or decrement would overflow']);
    expect(failure(() => s.incrBy('n', 2n ** 63n))).toEqual([
      'INTEGER_OVERFLOW',
      'the increment is outside the signed 64-bit range',
    ]);
    expect([s.getString('text'), s.getString('top'), s.has('n')]).toEqual(['abc', '9223372036854775807', false]);
  });

  it('bounds the snapshots open at once', () => {
    const s = new Store({ limits: { snapshotsOpenMax: 1 } });
    const first = s.snapshot();
    expect(failure(() => s.snapshot())).toEqual(['SNAPSHOTS_BUSY', '1 snapshots are open (limits.snapshotsOpenMax = 1)']);
    first.close();
    s.snapshot().close();
  });

  it('validates limits at construction, naming the limit, its range and the value', () => {
    for (const bad of [{ keysMax: 0 }, { keysMax: 200_000_000 }, { scanLimitMax: 1.5 }]) {
      const [code, detail] = failure(() => new Store({ limits: bad })) ?? [];
      const [name, value] = Object.entries(bad)[0] as [string, number];
      expect(code).toBe('STORE_LIMIT_INVALID');
      expect(detail).toContain(name);
      expect(detail).toContain(String(value));
    }
  });
});

describe('clear and digest', () => {
  it('clears everything and reports how many keys went', () => {
    const s = new Store();
    s.mput([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(s.clear()).toBe(2);
    expect(s.size).toBe(0);
    expect(s.dataBytes).toBe(0);
    expect(s.scan()).toEqual([]);
  });

  it('gives equal digests for equal contents built in different orders', () => {
    const a = new Store();
    const b = new Store();
    a.put('x', '1');
    a.put('y', '2');
    b.put('y', '2');
    b.put('z', 'gone');
    b.del('z');
    b.put('x', '1');
    expect(a.digest()).toBe(b.digest());
    b.put('x', '2');
    expect(a.digest()).not.toBe(b.digest());
  });

  it('distinguishes key/value boundaries in the digest', () => {
    const a = new Store();
    const b = new Store();
    a.put('ab', 'c');
    b.put('a', 'bc');
    expect(a.digest()).not.toBe(b.digest());
  });
});
