// Goal: the chaos proxy forwards bytes faithfully and injects each fault as
// documented. Method: a real echo server on loopback behind the proxy; the
// checks look at what arrives, never at how long it took.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy, helloSender, IngressProxy } from './proxy.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function echoServer(): Promise<number> {
  const server: Server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

async function through(): Promise<{ proxy: FaultProxy; port: number }> {
  const proxy = new FaultProxy({ port: await echoServer() });
  const port = await proxy.listen();
  cleanups.push(() => proxy.close());
  return { proxy, port };
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
    cleanups.push(() => void s.destroy());
  });
}

/** Resolves with everything received once `count` bytes arrived. */
function receive(socket: Socket, count: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let n = 0;
    const onData = (b: Buffer) => {
      parts.push(b);
      n += b.length;
      if (n >= count) {
        socket.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    socket.on('data', onData);
  });
}

describe('FaultProxy', () => {
  it('forwards bytes unchanged in both directions', async () => {
    const { port } = await through();
    const s = await connect(port);
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i & 0xff));
    const got = receive(s, payload.length);
    s.write(payload);
    expect((await got).equals(payload)).toBe(true);
  });

  it('keeps order under delay', async () => {
    const { proxy, port } = await through();
    proxy.set({ kind: 'delay', delayMs: 5 });
    const s = await connect(port);
    const got = receive(s, 30);
    for (let i = 0; i < 10; i++) s.write(String(i).padStart(3, '0'));
    expect((await got).toString()).toBe(Array.from({ length: 10 }, (_, i) => String(i).padStart(3, '0')).join(''));
  });

  it('stall holds bytes back and heal delivers them, none lost', async () => {
    const { proxy, port } = await through();
    const s = await connect(port);
    const first = receive(s, 5);
    s.write('hello');
    await first;
    proxy.set({ kind: 'stall' });
    const before = proxy.bytesForwarded;
    const rest = receive(s, 5);
    s.write('world');
    // Give the event loop a turn. This can catch a proxy that forwards while
    // stalled; the real proof of the fault is that heal delivers every byte.
    await new Promise((r) => setImmediate(r));
    expect(proxy.bytesForwarded).toBe(before);
    proxy.heal();
    expect((await rest).toString()).toBe('world');
  });

  it('reset cuts live connections and refuses new ones until heal', async () => {
    const { proxy, port } = await through();
    const s = await connect(port);
    const closed = new Promise((r) => s.once('close', r));
    proxy.set({ kind: 'reset' });
    await closed;
    const refused = await connect(port).then(
      (s2) => new Promise((r) => s2.once('close', () => r('closed'))),
      () => 'error',
    );
    expect(['closed', 'error']).toContain(refused);
    proxy.heal();
    const s3 = await connect(port);
    const got = receive(s3, 2);
    s3.write('ok');
    expect((await got).toString()).toBe('ok');
  });

  it('loss holds chunks back but delivers every byte in order, and counts what it held', async () => {
    const { proxy, port } = await through();
    proxy.set({ kind: 'loss', rate: 0.5, resetRate: 0, seed: 1 });
    const s = await connect(port);
    const got = receive(s, 30);
    for (let i = 0; i < 10; i++) s.write(String(i).padStart(3, '0'));
    expect((await got).toString()).toBe(Array.from({ length: 10 }, (_, i) => String(i).padStart(3, '0')).join(''));
    expect(proxy.lossDelayed).toBeGreaterThan(0);
    expect(proxy.lossResets).toBe(0);
  });

  it('loss with a reset rate of 1 resets the connection on its first chunk', async () => {
    const { proxy, port } = await through();
    proxy.set({ kind: 'loss', rate: 0, resetRate: 1, seed: 1 });
    const s = await connect(port);
    const closed = new Promise((r) => s.once('close', r));
    s.on('error', () => undefined);
    s.write('x');
    await closed;
    expect(proxy.lossResets).toBe(1);
    expect(proxy.bytesForwarded).toBe(0);
  });

  it('the same seed makes the same decisions', async () => {
    const counts: number[] = [];
    for (let run = 0; run < 2; run++) {
      const { proxy, port } = await through();
      proxy.set({ kind: 'loss', rate: 0.3, resetRate: 0, seed: 42 });
      const s = await connect(port);
      // One chunk at a time (each echoed before the next is sent), so the chunking is the same in both runs.
      for (let i = 0; i < 6; i++) {
        const got = receive(s, 1);
        s.write('a');
        await got;
      }
      counts.push(proxy.lossDelayed);
    }
    expect(counts[0]).toBe(counts[1]);
    expect(counts[0]).toBeGreaterThan(0);
  });
});

/** A hello frame as the driver sends it first on a peer connection: length, FRAME_HELLO, id, client and admin address. */
function hello(id: string): Buffer {
  const text = (t: string) => Buffer.concat([Buffer.of(Buffer.byteLength(t)), Buffer.from(t)]);
  const body = Buffer.concat([Buffer.of(0xf0), text(id), text('127.0.0.1:7001'), text('')]);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

describe('IngressProxy', () => {
  it('reads the sender from the hello, whole or in pieces, and nothing else', () => {
    const h = hello('n12');
    expect(helloSender(h)).toBe('n12');
    expect(helloSender(Buffer.concat([h, Buffer.from('more frames')]))).toBe('n12');
    for (let cut = 0; cut < h.length; cut++) expect(helloSender(h.subarray(0, cut))).toBe('more');
    const notHello = Buffer.from(h);
    notHello[4] = 0xf1; // a forwarded write, say
    expect(helloSender(notHello)).toBeUndefined();
    expect(helloSender(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xf0]))).toBeUndefined(); // too long to be a hello
  });

  it('hands each connection to the link of the node its hello names, hello and all', async () => {
    const echo = await echoServer();
    const links = new Map([
      ['n1', new FaultProxy({ port: echo })],
      ['n2', new FaultProxy({ port: echo })],
    ]);
    const unknown = new FaultProxy({ port: echo });
    const routed: Array<string | undefined> = [];
    const ingress = new IngressProxy((sender) => {
      routed.push(sender);
      return (sender === undefined ? undefined : links.get(sender)) ?? unknown;
    }, 200);
    const port = await ingress.listen();
    cleanups.push(() => ingress.close());
    for (const p of [...links.values(), unknown]) cleanups.push(() => p.close());
    links.get('n2')?.set({ kind: 'reset' });

    // n1's link is healthy: the hello and what follows come back from the echo server.
    const a = await connect(port);
    const sent = Buffer.concat([hello('n1'), Buffer.from('raft')]);
    const got = receive(a, sent.length);
    a.write(sent.subarray(0, 3)); // the hello in two pieces
    a.write(sent.subarray(3));
    expect((await got).equals(sent)).toBe(true);
    expect(links.get('n1')?.bytesForwarded).toBeGreaterThan(0);

    // n2's link is cut: the connection is refused once its hello names it.
    const b = await connect(port);
    const closed = new Promise((r) => b.once('close', r));
    b.on('error', () => undefined);
    b.write(hello('n2'));
    await closed;
    expect(links.get('n2')?.bytesForwarded).toBe(0);

    // No hello within the timeout: routed as unknown, the bytes still delivered.
    const c = await connect(port);
    const partial = receive(c, 2);
    c.write('hi');
    expect((await partial).toString()).toBe('hi');
    expect(routed).toEqual(['n1', 'n2', undefined]);
  });
});
