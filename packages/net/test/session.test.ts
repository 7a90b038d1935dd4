// Goal: SESSION on the wire applies each numbered write once, with clear errors, and the Client's
// session option numbers writes and resends a lost one under the same number. Method: in-process
// servers, raw RESP calls, and a backend that holds or refuses a write until the client retries it.
import { type Command, type CommandResult, DistkvError, Store } from '@distkv/core';
import { Client, type KvBackend } from '@distkv/net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function serve(backend?: KvBackend): Promise<{ port: number }> {
  const { server, port } = await startServer(backend === undefined ? {} : { backend });
  cleanup.push(() => server.close());
  return { port };
}

async function client(port: number, options: Partial<ConstructorParameters<typeof Client>[0]> = {}): Promise<Client> {
  const c = await Client.connect({ port, ...options });
  cleanup.push(() => c.close());
  return c;
}

function errorOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    (v) => `resolved ${String(v)}`,
    (e: Error) => e.message,
  );
}

describe('SESSION over RESP', () => {
  it('opens a session and applies a numbered write once: the repeat gets the first reply', async () => {
    const { port } = await serve();
    const c = await client(port);
    const id = await c.call('SESSION', 'OPEN');
    expect(typeof id).toBe('number');
    expect(await c.call('SESSION', String(id), '1', 'INCR', 'n')).toBe(1);
    expect(await c.call('SESSION', String(id), '1', 'INCR', 'n')).toBe(1);
    expect(await c.call('SESSION', String(id), '2', 'INCRBY', 'n', '10')).toBe(11);
    expect(await c.call('GET', 'n')).toEqual(Buffer.from('11'));
    await c.call('SET', 'k', 'old');
    expect(await c.call('SESSION', String(id), '3', 'SET', 'k', 'new', 'GET')).toEqual(Buffer.from('old'));
    expect(await c.call('SESSION', String(id), '3', 'SET', 'k', 'newer', 'GET')).toEqual(Buffer.from('old'));
    expect(await c.call('GET', 'k')).toEqual(Buffer.from('new'));
  });

  it('answers mistakes with clear errors and applies nothing', async () => {
    const { port } = await serve();
    const c = await client(port);
    const id = String(await c.call('SESSION', 'OPEN'));
    expect(await errorOf(c.call('SESSION', '999', '1', 'INCR', 'n'))).toMatch(
      /^SERVER_ERROR: SESSION_EXPIRED session 999 is unknown/,
    );
    expect(await errorOf(c.call('SESSION', id, '1', 'GET', 'n'))).toMatch(/wraps one write command; 'get' is not one/);
    expect(await errorOf(c.call('SESSION', id, '1', 'SESSION', 'OPEN'))).toMatch(/'session' is not one/);
    expect(await errorOf(c.call('SESSION', id, '0', 'INCR', 'n'))).toMatch(/must be integers from 1/);
    expect(await errorOf(c.call('SESSION', 'x', '1', 'INCR', 'n'))).toMatch(/must be integers from 1/);
    expect(await errorOf(c.call('SESSION', id, '1', 'FROB'))).toMatch(/unknown command 'FROB'/);
    expect(await errorOf(c.call('SESSION', id, '1', 'SET', 'k'))).toMatch(/wrong number of arguments for 'set'/);
    expect(await errorOf(c.call('SESSION', id, '1'))).toMatch(/wrong number of arguments for 'session'/);
    expect(await errorOf(c.call('SESSION', 'OPEN', 'x'))).toMatch(/'session\|open'/);
    expect(await c.call('EXISTS', 'n', 'k')).toBe(0);
    // The number was not used up by the mistakes.
    expect(await c.call('SESSION', id, '1', 'INCR', 'n')).toBe(1);
  });
});

/** Applies to a real Store, but lets a test hold or refuse a session write the first time it arrives. */
class GatedBackend implements KvBackend {
  readonly store = new Store();
  seen = 0;
  #held: Array<() => void> = [];
  constructor(readonly firstTry: 'hold' | 'tryagain') {}
  async execute(command: Command): Promise<CommandResult> {
    if (command.op !== 'session') return this.store.apply(command);
    this.seen++;
    if (this.seen === 1) {
      if (this.firstTry === 'tryagain') throw new DistkvError('TRYAGAIN', 'no leader yet; nothing was done');
      // Held until the retry arrives, then applied first: the reply is lost with its connection.
      await new Promise<void>((resolve) => this.#held.push(resolve));
      return this.store.apply(command);
    }
    for (const release of this.#held.splice(0)) release();
    await new Promise((resolve) => setImmediate(resolve));
    return this.store.apply(command);
  }
}

describe('Client({ session })', () => {
  it('numbers writes in one session and sends reads plain', async () => {
    const { port } = await serve();
    const c = await client(port, { session: true });
    expect(await c.call('INCR', 'n')).toBe(1);
    expect(await c.call('SET', 'k', 'v')).toBe('OK');
    expect(await c.call('GET', 'k')).toEqual(Buffer.from('v'));
    expect(c.sessionStats).toMatchObject({ writes: 2, retries: 0 });
    expect(c.sessionStats.id).toBeGreaterThan(0);
    // The numbers it used are taken: a raw repeat of number 1 gets INCR's first reply.
    expect(await (await client(port)).call('SESSION', String(c.sessionStats.id), '1', 'INCR', 'n')).toBe(1);
  });

  it('resends a write whose reply was lost under the same number: applied once, first reply returned', async () => {
    const backend = new GatedBackend('hold');
    const { port } = await serve(backend);
    const c = await client(port, { session: { retryDelayMsMin: 10 }, timeoutMs: 300 });
    expect(await c.call('INCR', 'n')).toBe(1);
    expect(backend.seen).toBe(2);
    expect(c.sessionStats.retries).toBeGreaterThanOrEqual(1);
    expect(backend.store.getString('n')).toBe('1');
    expect(await c.call('INCR', 'n')).toBe(2);
  });

  it('retries -TRYAGAIN (definite) under the same number too', async () => {
    const backend = new GatedBackend('tryagain');
    const { port } = await serve(backend);
    const c = await client(port, { session: { retryDelayMsMin: 1 } });
    expect(await c.call('INCR', 'n')).toBe(1);
    expect(c.sessionStats.retries).toBe(1);
    expect(backend.store.getString('n')).toBe('1');
  });

  it('does not retry an error that is the write’s own result', async () => {
    const { port } = await serve();
    const c = await client(port, { session: true });
    await c.call('SET', 's', 'text');
    expect(await errorOf(c.call('INCR', 's'))).toMatch(/not an integer/);
    expect(c.sessionStats.retries).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new Client({ session: { inFlightMax: 0 } })).toThrow(/NET_LIMIT_INVALID/);
    expect(() => new Client({ session: true, protocol: 'line' })).toThrow(/protocol resp/);
  });
});
