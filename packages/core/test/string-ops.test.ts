// Goal: the string and key ops added for Redis's string commands (GETDEL, MSETNX, INCRBYFLOAT, APPEND,
// SETRANGE, RENAME, COPY) apply as Redis does, refuse what Redis refuses as values, and keep the limits;
// and entries written before they existed still decode the same. Method: apply each op to a fresh
// Store and check results and contents; decode byte strings of the old format written out by hand.
import { type Command, commands, decodeCommand, encodeCommand, Store } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult } from '../src/session.js';

function store(entries: Record<string, string> = {}, limits: ConstructorParameters<typeof Store>[0] = {}): Store {
  const s = new Store(limits);
  for (const [k, v] of Object.entries(entries)) s.put(k, v);
  return s;
}

describe('getDel (a del of one key with returnPrevious)', () => {
  it('returns the value and removes the key; an absent key gives null', () => {
    const s = store({ k: 'v' });
    expect(s.apply(commands.getDel('k'))).toEqual({ ok: true, op: 'del', deleted: 1, previous: Buffer.from('v') });
    expect(s.has('k')).toBe(false);
    expect(s.apply(commands.getDel('k'))).toEqual({ ok: true, op: 'del', deleted: 0, previous: null });
  });
});

describe('mput ifNoneExist (MSETNX)', () => {
  it('sets every key when none exists, and nothing when one does', () => {
    const s = store({ b: 'old' });
    expect(
      s.apply(
        commands.mput(
          [
            ['a', '1'],
            ['c', '3'],
          ],
          { ifNoneExist: true },
        ),
      ),
    ).toEqual({ ok: true, op: 'mput', written: 2 });
    expect(
      s.apply(
        commands.mput(
          [
            ['d', '4'],
            ['b', '2'],
          ],
          { ifNoneExist: true },
        ),
      ),
    ).toEqual({ ok: true, op: 'mput', written: 0 });
    expect(s.has('d')).toBe(false);
    expect(s.getString('b')).toBe('old');
  });
});

describe('incrByFloat', () => {
  it.each([
    ['10.5', '0.1', '10.6'],
    ['5.0e3', '2.0e2', '5200'],
    ['200', '0.1', '200.10000000000000001'], // the long double's 64-bit significand shows at 17 decimals
    ['0.1', '0.2', '0.3'],
    ['3', '-3', '0'],
    ['0x10', '1.5', '17.5'],
    ['1', '1e-20', '1'],
  ])('%s + %s = %s, as redis-server 7 answers', (value, delta, expected) => {
    const s = store({ f: value });
    expect(s.apply(commands.incrByFloat('f', delta))).toEqual({ ok: true, op: 'incrByFloat', value: Buffer.from(expected) });
    expect(s.getString('f')).toBe(expected);
  });

  it('counts an absent key as 0', () => {
    const s = store();
    expect(s.apply(commands.incrByFloat('f', '2.5'))).toMatchObject({ ok: true, value: Buffer.from('2.5') });
  });

  it('refuses a value or an increment that is not a float, and NaN or infinite results', () => {
    const s = store({ t: 'text', f: '1', e: '' });
    for (const [key, delta] of [
      ['t', '1'],
      ['f', 'abc'],
      ['f', ' 1'],
      ['f', '1 '],
      ['f', 'nan'],
      ['f', '1e-5000'],
      ['f', '1e5000'],
      ['e', '1'],
    ]) {
      expect(s.apply(commands.incrByFloat(key as string, delta as string)), `${key} ${delta}`).toMatchObject({
        ok: false,
        code: 'NOT_FLOAT',
        message: 'NOT_FLOAT: value is not a valid float',
      });
    }
    expect(s.apply(commands.incrByFloat('f', 'inf'))).toMatchObject({
      ok: false,
      code: 'FLOAT_NOT_FINITE',
      message: 'FLOAT_NOT_FINITE: increment would produce NaN or Infinity',
    });
    expect(s.getString('f')).toBe('1');
  });
});

describe('append', () => {
  it('appends, creates an absent key (even with nothing to add) and returns the length', () => {
    const s = store({ k: 'ab' });
    expect(s.apply(commands.append('k', 'cd'))).toEqual({ ok: true, op: 'append', length: 4 });
    expect(s.getString('k')).toBe('abcd');
    expect(s.apply(commands.append('new', ''))).toEqual({ ok: true, op: 'append', length: 0 });
    expect(s.has('new')).toBe(true);
  });

  it('refuses to grow a value past valueBytesMax, and leaves it as it was', () => {
    const s = store({ k: 'abcdefgh' }, { limits: { valueBytesMax: 10 } });
    expect(s.apply(commands.append('k', 'xyz'))).toMatchObject({ ok: false, code: 'VALUE_TOO_LARGE' });
    expect(s.getString('k')).toBe('abcdefgh');
  });
});

describe('setRange', () => {
  it('overwrites, zero-pads a gap, and returns the new length', () => {
    const s = store({ k: 'hello' });
    expect(s.apply(commands.setRange('k', 1, 'EL'))).toEqual({ ok: true, op: 'setRange', length: 5 });
    expect(s.getString('k')).toBe('hELlo');
    expect(s.apply(commands.setRange('k', 7, 'x'))).toEqual({ ok: true, op: 'setRange', length: 8 });
    expect(s.get('k')).toEqual(Buffer.from('hELlo\0\0x', 'latin1'));
    expect(s.apply(commands.setRange('n', 2, 'y'))).toEqual({ ok: true, op: 'setRange', length: 3 });
    expect(s.get('n')).toEqual(Buffer.from('\0\0y', 'latin1'));
  });

  it('with an empty value changes nothing, whatever the offset, and does not create the key', () => {
    const s = store({ k: 'abc' });
    expect(s.apply(commands.setRange('k', Number.MAX_SAFE_INTEGER, ''))).toEqual({ ok: true, op: 'setRange', length: 3 });
    expect(s.apply(commands.setRange('absent', 10, ''))).toEqual({ ok: true, op: 'setRange', length: 0 });
    expect(s.has('absent')).toBe(false);
  });

  it('refuses an end past valueBytesMax before allocating it (a 2^53 offset would need 8 PiB)', () => {
    const s = store({ k: 'abc' });
    const result = s.apply(commands.setRange('k', Number.MAX_SAFE_INTEGER - 1, 'x'));
    expect(result).toMatchObject({ ok: false, code: 'VALUE_TOO_LARGE' });
    expect(result.ok ? '' : result.message).toMatch(
      /^VALUE_TOO_LARGE: string exceeds maximum allowed size \(proto-max-bulk-len\)/,
    );
    const small = store({}, { limits: { valueBytesMax: 4 } });
    expect(small.apply(commands.setRange('k', 3, 'xy'))).toMatchObject({ ok: false, code: 'VALUE_TOO_LARGE' });
    expect(small.has('k')).toBe(false);
  });
});

describe('rename', () => {
  it('moves a value, replacing the target; nx refuses an existing target', () => {
    const s = store({ a: '1', b: '2' });
    expect(s.apply(commands.rename('a', 'b', { nx: true }))).toEqual({ ok: true, op: 'rename', renamed: false });
    expect(s.apply(commands.rename('a', 'b'))).toEqual({ ok: true, op: 'rename', renamed: true });
    expect([s.has('a'), s.getString('b'), s.size, s.dataBytes]).toEqual([false, '1', 1, 2]);
    expect(s.apply(commands.rename('b', 'c', { nx: true }))).toEqual({ ok: true, op: 'rename', renamed: true });
    expect(s.getString('c')).toBe('1');
  });

  it('answers a missing key with NO_SUCH_KEY, and a key renamed to itself as Redis does', () => {
    const s = store({ a: '1' });
    expect(s.apply(commands.rename('x', 'y'))).toMatchObject({
      ok: false,
      code: 'NO_SUCH_KEY',
      message: 'NO_SUCH_KEY: no such key',
    });
    expect(s.apply(commands.rename('x', 'x'))).toMatchObject({ ok: false, code: 'NO_SUCH_KEY' });
    expect(s.apply(commands.rename('a', 'a'))).toEqual({ ok: true, op: 'rename', renamed: true });
    expect(s.apply(commands.rename('a', 'a', { nx: true }))).toEqual({ ok: true, op: 'rename', renamed: false });
  });

  it('checks the key size and the store limits before changing anything', () => {
    const s = store({ a: '1' }, { limits: { keyBytesMax: 4, dataBytesMax: 6 } });
    expect(s.apply(commands.rename('a', 'toolong'))).toMatchObject({ ok: false, code: 'KEY_TOO_LARGE' });
    expect(s.apply(commands.rename('a', 'abcd'))).toMatchObject({ ok: true }); // 2 bytes become 5: fits
    expect(s.apply(commands.put('z', '1'))).toMatchObject({ ok: false, code: 'STORE_FULL' }); // 7 > 6
    const full = store({ a: '1', bb: '1' }, { limits: { keysMax: 2, dataBytesMax: 6 } });
    expect(full.apply(commands.rename('a', 'ccc'))).toMatchObject({ ok: false, code: 'STORE_FULL' }); // 3 + 4 > 6
    expect([full.getString('a'), full.has('ccc')]).toEqual(['1', false]);
    expect(full.apply(commands.rename('a', 'c'))).toMatchObject({ ok: true, renamed: true }); // keysMax 2 still holds
  });
});

describe('copy', () => {
  it('copies; refuses an existing target unless replace; a missing source copies nothing', () => {
    const s = store({ a: '1', b: '2' });
    expect(s.apply(commands.copy('a', 'b'))).toEqual({ ok: true, op: 'copy', copied: false });
    expect(s.apply(commands.copy('a', 'b', { replace: true }))).toEqual({ ok: true, op: 'copy', copied: true });
    expect(s.apply(commands.copy('a', 'c'))).toEqual({ ok: true, op: 'copy', copied: true });
    expect(s.apply(commands.copy('x', 'd'))).toEqual({ ok: true, op: 'copy', copied: false });
    expect([s.getString('a'), s.getString('b'), s.getString('c'), s.size]).toEqual(['1', '1', '1', 3]);
  });

  it('refuses the same key as source and destination, even when it is absent', () => {
    const s = store({ a: '1' });
    for (const key of ['a', 'x'])
      expect(s.apply(commands.copy(key, key))).toMatchObject({
        ok: false,
        code: 'SAME_KEY',
        message: 'SAME_KEY: source and destination objects are the same',
      });
  });

  it('keeps keysMax', () => {
    const s = store({ a: '1' }, { limits: { keysMax: 1 } });
    expect(s.apply(commands.copy('a', 'b'))).toMatchObject({ ok: false, code: 'STORE_FULL' });
  });
});

describe('the new results in a session table (kept for retries, snapshotted as JSON)', () => {
  it('round-trip through encodeResult/decodeResult', () => {
    const s = store({ a: '1', f: '1.5' });
    for (const c of [
      commands.getDel('a'),
      commands.getDel('a'),
      commands.incrByFloat('f', '1'),
      commands.append('x', 'y'),
      commands.setRange('x', 3, 'z'),
      commands.rename('x', 'y'),
      commands.copy('y', 'z'),
      commands.mput([['q', '1']], { ifNoneExist: true }),
    ]) {
      const r = s.apply(c);
      expect(r.ok, c.op).toBe(true);
      expect(decodeResult(encodeResult(r))).toEqual(r);
    }
  });
});

describe('the format before these ops still decodes, to the same commands', () => {
  // Written by hand from the version-1 layout in codec.ts, as a log from before ops 9-15 holds them.
  const old: Array<[string, Command]> = [
    ['0101000100000061010000007a', commands.put('a', 'z')],
    ['010202000000010000006103000000626364', commands.del('a', 'bcd')],
    ['01040100000001000000610100000062', commands.mput([['a', 'b']])],
    ['01050100000061ffffffffffffffff', commands.incrBy('a', -1)],
    ['0106', commands.clear()],
  ];
  it.each(old)('%s', (hex, command) => {
    const decoded = decodeCommand(Buffer.from(hex, 'hex'));
    expect(decoded).toEqual(command);
    if (decoded.op === 'del' || decoded.op === 'mput')
      expect('returnPrevious' in decoded || 'ifNoneExist' in decoded).toBe(false);
    expect(encodeCommand(command).toString('hex')).toBe(hex); // and the old commands still encode to the old bytes
  });

  it('gives the new flags their own tags, which an older build refuses instead of misreading', () => {
    expect(encodeCommand(commands.getDel('a'))[1]).toBe(14);
    expect(encodeCommand(commands.mput([['a', 'b']], { ifNoneExist: true }))[1]).toBe(15);
  });
});
