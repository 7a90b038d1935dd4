// Goal: only nodes with the cluster secret (or a certificate of the cluster's CA) and the same cluster id get frames
// through the peer port, and garbage, floods and slow senders leave real peers connected.
// Method: the handshake state machines back to back, then real TcpTransports on 127.0.0.1:0 sending control
// frames to each other; every wait is for an event or a condition, bounded by the test timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '@distkv/net/testing';
import {
  AcceptorHandshake,
  ConnectorHandshake,
  FrameBoundary,
  type NodeId,
  nodeId,
  type PeerSecurity,
  RefusalLog,
  resolvePeerSecurity,
  TcpTransport,
  type TransportLimits,
} from '@distkv/replication';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const SECRET = 'a-cluster-secret-of-enough-bytes';

/** Runs a whole handshake in memory; returns each side's outcome. */
function handshake(connector: PeerSecurity, acceptor: PeerSecurity) {
  const c = new ConnectorHandshake(resolvePeerSecurity(connector));
  const a = new AcceptorHandshake(resolvePeerSecurity(acceptor));
  let toAcceptor: Buffer | undefined = c.hello();
  let cState = 'pending';
  let aState = 'pending';
  const reasons: string[] = [];
  for (let round = 0; round < 4 && toAcceptor !== undefined; round++) {
    const aStep = a.onFrame(toAcceptor);
    aState = aStep.state;
    if (aStep.state === 'failed') reasons.push(`acceptor: ${aStep.reason}`);
    toAcceptor = undefined;
    if (aStep.reply === undefined) break;
    const cStep = c.onFrame(aStep.reply);
    cState = cStep.state;
    if (cStep.state === 'failed') reasons.push(`connector: ${cStep.reason}`);
    if (cStep.state === 'failed' && cStep.reply !== undefined) {
      const last = a.onFrame(cStep.reply);
      if (last.state === 'failed') reasons.push(`acceptor: ${last.reason}`);
      aState = last.state;
    }
    toAcceptor = cStep.state === 'pending' ? cStep.reply : undefined;
  }
  return { connector: cState, acceptor: aState, reasons };
}

describe('the handshake', () => {
  it('succeeds with the same secret and cluster id, in both directions', () => {
    const r = handshake({ clusterSecret: SECRET, clusterId: 'c1' }, { clusterSecret: SECRET, clusterId: 'c1' });
    expect(r.reasons).toEqual([]);
    expect(r.acceptor).toBe('done');
  });

  it('fails on both sides with a reason when the secret differs', () => {
    const r = handshake({ clusterSecret: SECRET }, { clusterSecret: `${SECRET}-other` });
    expect(r.reasons[0]).toMatch(/^connector: the peer does not know our cluster secret/);
    expect(r.reasons[1]).toMatch(/^acceptor: refused by the peer: .*cluster secret/);
  });

  it('fails when the cluster id differs, naming both ids', () => {
    const r = handshake({ clusterSecret: SECRET, clusterId: 'blue' }, { clusterSecret: SECRET, clusterId: 'green' });
    expect(r.reasons[0]).toMatch(/acceptor: the peer belongs to cluster "blue", this node to "green"/);
  });

  it('does not accept a replayed proof: each acceptor draws a new nonce', () => {
    const security = resolvePeerSecurity({ clusterSecret: SECRET });
    const c = new ConnectorHandshake(security);
    const hello = c.hello();
    const first = new AcceptorHandshake(security);
    const challenge = first.onFrame(hello);
    const proof = c.onFrame(challenge.reply as Buffer).reply as Buffer;
    expect(first.onFrame(proof).state).toBe('done');
    const second = new AcceptorHandshake(security);
    second.onFrame(hello); // the recorded hello again
    expect(second.onFrame(proof)).toMatchObject({ state: 'failed' }); // the recorded proof answers another nonce
  });

  it('refuses bad configuration: a short secret, TLS without a CA, a bad cluster id', () => {
    expect(() => resolvePeerSecurity({ clusterSecret: 'short' })).toThrow(/at least 16/);
    expect(() => resolvePeerSecurity({ clusterId: 'has space' })).toThrow(/cluster id/);
    expect(() => resolvePeerSecurity({ tls: { cert: Buffer.from('x'), key: Buffer.from('y') } })).toThrow(/--tls-ca/);
  });

  it('FrameBoundary tells a half-received frame from a whole one, however the bytes are cut', () => {
    const frames = Buffer.concat([Buffer.from([0, 0, 0, 3, 1, 2, 3]), Buffer.from([0, 0, 0, 0]), Buffer.from([0, 0, 0, 1, 9])]);
    for (let cut = 0; cut <= frames.length; cut++) {
      const b = new FrameBoundary();
      const partialAfterFirst = b.push(frames.subarray(0, cut));
      expect(partialAfterFirst).toBe(![0, 7, 11, 16].includes(cut));
      expect(b.push(frames.subarray(cut))).toBe(false);
    }
  });
});

interface Node {
  transport: TcpTransport;
  received: Buffer[];
  log: string[];
}

const nodes: Node[] = [];
async function node(security: PeerSecurity, limits: Partial<TransportLimits> = {}): Promise<Node> {
  const received: Buffer[] = [];
  const log: string[] = [];
  const transport = await TcpTransport.listen(
    { host: '127.0.0.1', port: 0 },
    { entriesMax: 16, bytesMax: 1024 },
    { reconnectDelayMsMin: 10, reconnectDelayMsMax: 50, ...limits },
    security,
    (line) => log.push(line),
  );
  transport.onControl((frame) => received.push(frame));
  const n = { transport, received, log };
  nodes.push(n);
  return n;
}
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.transport.close()));
});

/** Sends numbered control frames from a to b until b has one (the link may need a few connection attempts). */
async function delivered(from: Node, to: Node, id: NodeId): Promise<boolean> {
  from.transport.setPeers(new Map([[id, to.transport.address]]));
  const before = to.received.length;
  for (let i = 0; i < 400; i++) {
    from.transport.sendControl(id, Buffer.from([0xf9, i % 256]));
    if (to.received.length > before) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

async function until(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 15_000, interval: 10 });
}

describe('transports with a cluster secret', () => {
  it('deliver between nodes that share it; a node with another secret gets nothing through, and both logs say why', async () => {
    const a = await node({ clusterSecret: SECRET });
    const b = await node({ clusterSecret: SECRET });
    expect(await delivered(a, b, nodeId('b'))).toBe(true);
    const wrong = await node({ clusterSecret: `${SECRET}!` });
    wrong.transport.setPeers(new Map([[nodeId('a'), a.transport.address]]));
    a.transport.setPeers(new Map([[nodeId('wrong'), wrong.transport.address]]));
    const before = a.received.length;
    for (let i = 0; i < 20; i++) {
      wrong.transport.sendControl(nodeId('a'), Buffer.from([0xf9, 1]));
      a.transport.sendControl(nodeId('wrong'), Buffer.from([0xf9, 2]));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await until(() => wrong.log.some((l) => /does not know our cluster secret/.test(l)));
    await until(() => a.log.some((l) => /cluster secret/.test(l)));
    expect(a.received.length).toBe(before);
    expect(wrong.received.length).toBe(0);
  });

  it('refuse a node of another cluster id, and a node without any secret', async () => {
    const a = await node({ clusterSecret: SECRET, clusterId: 'blue' });
    const green = await node({ clusterSecret: SECRET, clusterId: 'green' });
    const open = await node({});
    expect(await delivered(green, a, nodeId('a'))).toBe(false);
    await until(() => a.log.some((l) => /belongs to cluster "green", this node to "blue"/.test(l)));
    await until(() => green.log.some((l) => /refused by the peer/.test(l)));
    expect(await delivered(open, a, nodeId('a'))).toBe(false);
    await until(() => a.log.some((l) => /did not start the handshake/.test(l)));
  });

  it('survive random bytes, a flood of silent connections and a slow frame, still serving real peers', async () => {
    const limits = { handshakeTimeoutMs: 300, handshakesPendingMax: 4, frameTimeoutMs: 300 };
    const a = await node({ clusterSecret: SECRET }, limits);
    const { port } = a.transport.address;
    const raw = (bytes?: Buffer) =>
      new Promise<void>((resolve) => {
        const s = connect({ port, host: '127.0.0.1' }, () => {
          if (bytes !== undefined) s.write(bytes);
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    let seed = 7;
    const random = Buffer.from(
      Buffer.alloc(4096, 0).map(() => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % 256;
      }),
    );
    const closes = [
      raw(random), // garbage: refused at once
      raw(Buffer.from([0, 0, 0, 200, 1, 2])), // a frame that never completes
      ...Array.from({ length: 20 }, () => raw()), // silent: evicted or timed out
    ];
    const b = await node({ clusterSecret: SECRET });
    expect(await delivered(b, a, nodeId('a'))).toBe(true);
    await Promise.all(closes);
    expect(a.log.some((l) => /sent no hello within 300 ms|did not start the handshake/.test(l))).toBe(true);
  });

  it('say what happened to a peer that only does not answer, once, then with a count, and when it answers again', async () => {
    // A port that accepts connections and never says a word: a peer that is starting, or behind a lossy link.
    const accepted: Socket[] = [];
    const silent = createServer((s) => {
      s.on('error', () => undefined);
      accepted.push(s);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const a = await node({ clusterSecret: SECRET }, { handshakeTimeoutMs: 100 });
    a.transport.setPeers(new Map([[nodeId('quiet'), { host: '127.0.0.1', port }]]));
    for (let i = 0; i < 30 && a.log.length === 0; i++) {
      a.transport.sendControl(nodeId('quiet'), Buffer.from([0xf9, i]));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await until(() => a.log.length > 0);
    for (let i = 0; i < 10; i++) {
      a.transport.sendControl(nodeId('quiet'), Buffer.from([0xf9, i]));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    const lines = a.log.filter((l) => l.includes(`127.0.0.1:${port}`));
    expect(lines[0]).toBe(
      `peer link: peer 127.0.0.1:${port}: connected, but the handshake did not finish within 100 ms (handshakeTimeoutMs): a lossy link, or an overloaded peer?`,
    );
    expect(lines.length).toBe(1); // the repeats are counted, not logged
    expect(a.log.some((l) => /refused/.test(l))).toBe(false); // nothing was refused

    const log: string[] = [];
    const refusals = new RefusalLog((line, level) => log.push(`${level}: ${line}`), 60_000);
    for (let i = 0; i < 3; i++) refusals.unreachable('peer p', 'no connection within 5000 ms');
    refusals.reachable('peer p');
    refusals.refused('peer q', 'the peer does not know our cluster secret');
    expect(log).toEqual([
      'info: peer link: peer p: no connection within 5000 ms',
      'undefined: peer link: peer p: connected again after 3 failed attempts',
      'warn: peer auth: peer q refused: the peer does not know our cluster secret',
    ]);
  });
});

describe('transports without authentication (loopback)', () => {
  it('admit a connection at its first frame, so silent connections cannot use up inboundConnectionsMax', async () => {
    const a = await node({}, { handshakeTimeoutMs: 300, handshakesPendingMax: 3, inboundConnectionsMax: 2 });
    const { port } = a.transport.address;
    const silent = Array.from(
      { length: 6 },
      () =>
        new Promise<void>((resolve) => {
          const s = connect({ port, host: '127.0.0.1' });
          s.on('error', () => undefined);
          s.on('close', () => resolve());
        }),
    );
    await Promise.all(silent); // evicted by newer ones, or closed after handshakeTimeoutMs
    const b = await node({});
    expect(await delivered(b, a, nodeId('a'))).toBe(true);
  });
});

describe('transports with mutual TLS', () => {
  let dir: string;
  let pki: TestPki;
  let other: TestPki;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'distkv-peer-tls-'));
    pki = makeTestPki(join(dir, 'cluster'), ['a', 'b']);
    other = makeTestPki(join(dir, 'other'), ['intruder'], 'another-ca');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsOf = (p: TestPki, name: string) => {
    const c = p.certs.get(name);
    if (c === undefined) throw new Error(`no cert for ${name}`);
    return { cert: c.cert, key: c.key, ca: p.ca };
  };

  it('deliver between nodes of one CA; a node whose certificate another CA signed is refused', async () => {
    const a = await node({ tls: tlsOf(pki, 'a') });
    const b = await node({ tls: tlsOf(pki, 'b') });
    expect(await delivered(b, a, nodeId('a'))).toBe(true);
    // Another CA altogether: the intruder does not trust our certificate, and says so.
    const intruder = await node({ tls: tlsOf(other, 'intruder') });
    const target = await node({ tls: tlsOf(pki, 'a') }); // fresh: nothing in flight from b
    expect(await delivered(intruder, target, nodeId('target'))).toBe(false);
    await until(() => intruder.log.some((l) => /TLS: .*certificate/.test(l)));
    // It trusts our CA but its own certificate is another CA's: we refuse it, and say so.
    const { cert, key } = tlsOf(other, 'intruder');
    const impostor = await node({ tls: { cert, key, ca: pki.ca } });
    expect(await delivered(impostor, target, nodeId('target'))).toBe(false);
    await until(() => target.log.some((l) => /TLS: client certificate not accepted .*not signed by our CA/.test(l)));
  });
});
