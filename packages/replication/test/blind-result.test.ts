// Goal: async mode acknowledges at fsync only the writes whose result cannot depend on the state. Method: ask blindResult about each kind.
import { commands } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { blindResult } from '../src/driver/ready-pump.js';

describe('blindResult', () => {
  it('answers a plain SET and MSET before applying, and waits for every state-dependent write', () => {
    expect(blindResult(commands.put('k', 'v'))).toEqual({ ok: true, op: 'put', written: true, previous: undefined });
    expect(blindResult(commands.mput([['a', '1']]))).toEqual({ ok: true, op: 'mput', written: 1 });
    for (const c of [
      commands.put('k', 'v', { when: 'ifAbsent' }),
      commands.mput([['a', '1']], { ifNoneExist: true }), // MSETNX: 0 when a key exists
      commands.getDel('k'),
      commands.append('k', 'v'),
      commands.rename('a', 'b'),
    ])
      expect(blindResult(c), c.op).toBeUndefined();
  });
});
