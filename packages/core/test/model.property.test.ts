// Goal: the Store behaves exactly like a simple model (a Map plus sorting)
// for any sequence of commands. Method: fast-check generates command
// sequences over a small key space; after each step we compare results,
// reads and ordered scans with the model.
import { type Command, type CommandResult, commands, Store } from '@distkv/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addLongDouble, formatLongDouble, isFiniteLongDouble, parseLongDouble } from '../src/long-double.js';

function bytesOf(s: string | undefined): Buffer | null {
  return s === undefined ? null : Buffer.from(s, 'latin1');
}

/** The model: a Map from latin1 key to latin1 value; order by sorting. */
class Model {
  map = new Map<string, string>();
  apply(c: Command): CommandResult {
    const k = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    switch (c.op) {
      case 'put': {
        const prev = this.map.get(k(c.key));
        const write = c.when === 'always' || (c.when === 'ifAbsent') === (prev === undefined);
        if (write) this.map.set(k(c.key), k(c.value));
        const previous = c.returnPrevious ? (prev === undefined ? null : Buffer.from(prev, 'latin1')) : undefined;
        return { ok: true, op: 'put', written: write, previous };
      }
      case 'del': {
        if (c.returnPrevious === true) {
          const prev = this.map.get(k(c.keys[0] as Uint8Array));
          this.map.delete(k(c.keys[0] as Uint8Array));
          return { ok: true, op: 'del', deleted: prev === undefined ? 0 : 1, previous: bytesOf(prev) };
        }
        let deleted = 0;
        for (const key of c.keys) if (this.map.delete(k(key))) deleted++;
        return { ok: true, op: 'del', deleted };
      }
      case 'cas': {
        const prev = this.map.get(k(c.key));
        const expected = c.expected === null ? undefined : k(c.expected);
        const swapped = prev === expected;
        if (swapped) {
          if (c.value === null) this.map.delete(k(c.key));
          else this.map.set(k(c.key), k(c.value));
        }
        return { ok: true, op: 'cas', swapped, previous: prev === undefined ? null : Buffer.from(prev, 'latin1') };
      }
      case 'mput':
        if (c.ifNoneExist === true && c.entries.some(([key]) => this.map.has(k(key))))
          return { ok: true, op: 'mput', written: 0 };
        for (const [key, value] of c.entries) this.map.set(k(key), k(value));
        return { ok: true, op: 'mput', written: c.entries.length };
      case 'incrByFloat': {
        // The arithmetic itself is checked against redis-server (packages/net/test/redis-compare.test.ts);
        // here, that the store reads, refuses and writes the right key.
        const prev = this.map.get(k(c.key));
        const current = prev === undefined ? parseLongDouble('0') : parseLongDouble(prev);
        const delta = parseLongDouble(k(c.delta));
        if (current === undefined || delta === undefined) return { ok: false, op: c.op, code: 'NOT_FLOAT', message: '' };
        const next = addLongDouble(current, delta);
        if (next === undefined || !isFiniteLongDouble(next))
          return { ok: false, op: c.op, code: 'FLOAT_NOT_FINITE', message: '' };
        this.map.set(k(c.key), formatLongDouble(next));
        return { ok: true, op: 'incrByFloat', value: Buffer.from(formatLongDouble(next), 'latin1') };
      }
      case 'append': {
        const next = (this.map.get(k(c.key)) ?? '') + k(c.value);
        this.map.set(k(c.key), next);
        return { ok: true, op: 'append', length: next.length };
      }
      case 'setRange': {
        const prev = this.map.get(k(c.key));
        if (c.value.length === 0) return { ok: true, op: 'setRange', length: prev?.length ?? 0 };
        const padded = (prev ?? '').padEnd(c.offset, '\0');
        const next = padded.slice(0, c.offset) + k(c.value) + padded.slice(c.offset + c.value.length);
        this.map.set(k(c.key), next);
        return { ok: true, op: 'setRange', length: next.length };
      }
      case 'rename': {
        const prev = this.map.get(k(c.key));
        if (prev === undefined) return { ok: false, op: c.op, code: 'NO_SUCH_KEY', message: '' };
        if (k(c.key) === k(c.target)) return { ok: true, op: 'rename', renamed: !c.nx };
        if (c.nx && this.map.has(k(c.target))) return { ok: true, op: 'rename', renamed: false };
        this.map.delete(k(c.key));
        this.map.set(k(c.target), prev);
        return { ok: true, op: 'rename', renamed: true };
      }
      case 'copy': {
        if (k(c.key) === k(c.target)) return { ok: false, op: c.op, code: 'SAME_KEY', message: '' };
        const prev = this.map.get(k(c.key));
        if (prev === undefined || (!c.replace && this.map.has(k(c.target)))) return { ok: true, op: 'copy', copied: false };
        this.map.set(k(c.target), prev);
        return { ok: true, op: 'copy', copied: true };
      }
      case 'incrBy': {
        const prev = this.map.get(k(c.key)) ?? '0';
        if (!/^(0|-?[1-9][0-9]{0,18})$/.test(prev) || BigInt(prev) >= 2n ** 63n || BigInt(prev) < -(2n ** 63n)) {
          return { ok: false, op: 'incrBy', code: 'NOT_INTEGER', message: '' };
        }
        const next = BigInt(prev) + c.delta;
        if (next >= 2n ** 63n || next < -(2n ** 63n)) return { ok: false, op: 'incrBy', code: 'INTEGER_OVERFLOW', message: '' };
        this.map.set(k(c.key), next.toString());
        return { ok: true, op: 'incrBy', value: next };
      }
      case 'clear': {
        const deleted = this.map.size;
        this.map.clear();
        return { ok: true, op: 'clear', deleted };
      }
      case 'openSession':
      case 'session':
        throw new Error('session commands have their own tests (session.test.ts)');
    }
  }
  sorted(): Array<[string, string]> {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

// A small alphabet with boundary bytes makes collisions and ordering edge cases likely.
const bytes = fc
  .uint8Array({ maxLength: 3 })
  .map((a) => Buffer.from(a.map((b) => [0, 1, 0x61, 0x62, 0x7f, 0x80, 0xfe, 0xff][b % 8] as number)));
const value = fc.oneof(
  bytes,
  fc.constantFrom('0', '1', '-5', '9223372036854775807', 'x').map((s) => Buffer.from(s)),
);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc
    .tuple(bytes, value, fc.constantFrom('always', 'ifAbsent', 'ifPresent' as const), fc.boolean())
    .map(([k, v, when, returnPrevious]) => commands.put(k, v, { when, returnPrevious })),
  fc.array(bytes, { minLength: 1, maxLength: 3 }).map((keys) => commands.del(...keys)),
  fc.tuple(bytes, fc.option(value), fc.option(value)).map(([k, e, v]) => commands.cas(k, e, v)),
  fc.array(fc.tuple(bytes, value), { maxLength: 4 }).map((entries) => commands.mput(entries)),
  fc.tuple(bytes, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([k, d]) => commands.incrBy(k, d)),
  fc.tuple(bytes, fc.integer({ min: -3, max: 3 })).map(([k, d]) => commands.incrBy(k, d)),
  fc.constant(commands.clear()),
  bytes.map((k) => commands.getDel(k)),
  fc
    .array(fc.tuple(bytes, value), { minLength: 1, maxLength: 3 })
    .map((entries) => commands.mput(entries, { ifNoneExist: true })),
  fc.tuple(bytes, fc.constantFrom('0.5', '-1', '3', '1e2', '0.1', 'x', '', 'inf')).map(([k, d]) => commands.incrByFloat(k, d)),
  fc.tuple(bytes, value).map(([k, v]) => commands.append(k, v)),
  fc.tuple(bytes, fc.nat(6), value).map(([k, offset, v]) => commands.setRange(k, offset, v)),
  fc.tuple(bytes, bytes, fc.boolean()).map(([k, t, nx]) => commands.rename(k, t, { nx })),
  fc.tuple(bytes, bytes, fc.boolean()).map(([k, t, replace]) => commands.copy(k, t, { replace })),
);

function strip(r: CommandResult): unknown {
  return r.ok ? r : { ok: false, op: r.op, code: r.code };
}

describe('Store vs model', () => {
  it('gives the same results, reads and ordered contents for any command sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(command, fc.boolean()), { maxLength: 80 }), (steps) => {
        const store = new Store();
        const model = new Model();
        for (const [c, scanNow] of steps) {
          expect(strip(store.apply(c))).toEqual(strip(model.apply(c)));
          expect(store.size).toBe(model.map.size);
          // Ordered reads at random points exercise every way the lazily
          // built key tree catches up: one by one, rebuilt in bulk, and with
          // keys deleted or re-added while pending.
          if (scanNow) {
            const keys = store.scan().map(([k]) => k.toString('latin1'));
            expect(keys).toEqual(model.sorted().map(([k]) => k));
          }
        }
        const entries = store.scan().map(([k, v]) => [k.toString('latin1'), v.toString('latin1')]);
        expect(entries).toEqual(model.sorted());
        for (const [k, v] of model.map) expect(store.get(Buffer.from(k, 'latin1'))?.toString('latin1')).toBe(v);
        const dataBytes = [...model.map].reduce((n, [k, v]) => n + k.length + v.length, 0);
        expect(store.dataBytes).toBe(dataBytes);
      }),
      { numRuns: 300 },
    );
  });

  it('scans any prefix or range exactly like filtering the sorted model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(bytes, value), { maxLength: 40 }),
        bytes,
        bytes,
        bytes,
        fc.boolean(),
        fc.nat(10),
        (entries, prefix, start, end, reverse, limit) => {
          const store = new Store();
          const model = new Model();
          for (const [k, v] of entries) {
            store.put(k, v);
            model.apply(commands.put(k, v));
          }
          const p = prefix.toString('latin1');
          const s = start.toString('latin1');
          const e = end.toString('latin1');
          let expected = model
            .sorted()
            .map(([k]) => k)
            .filter((k) => k.startsWith(p) && k >= s && k < e);
          if (reverse) expected = expected.reverse();
          expected = expected.slice(0, limit);
          const got = store.scan({ prefix, start, end, reverse, limit }).map(([k]) => k.toString('latin1'));
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
