// Goal: FramedConnection carries length-prefixed frames intact, in order, with backpressure, and refuses oversize frames. Method: a loopback pair of framed connections with random payloads.
import { createServer, type Server as NetServer } from 'node:net';
import { FramedConnection } from '@distkv/net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

const servers: NetServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function pair(
  frameBytesMax: number,
): Promise<{ client: FramedConnection; received: Buffer[]; peerClosed: Promise<unknown> }> {
  const received: Buffer[] = [];
  let resolvePeer: (e: unknown) => void = () => {};
  const peerClosed = new Promise((resolve) => {
    resolvePeer = resolve;
  });
  const server = createServer((socket) => {
    const peer = new FramedConnection(socket, {
      frameBytesMax,
      onFrame: (frame) => {
        received.push(Buffer.from(frame));
        peer.send(frame); // echo
      },
      onClose: (error) => resolvePeer(error),
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const echoes: Buffer[] = [];
  const client = await FramedConnection.connect('127.0.0.1', port, {
    frameBytesMax,
    onFrame: (f) => echoes.push(Buffer.from(f)),
  });
  return { client, received, peerClosed };
}

describe('FramedConnection', () => {
  it('delivers every frame intact and in order, waiting on backpressure', async () => {
    const frames = fc.sample(fc.uint8Array({ maxLength: 70_000 }), { numRuns: 300, seed: 7 }).map((f) => Buffer.from(f));
    const { client, received } = await pair(1024 * 1024);
    for (const frame of frames) if (!client.send(frame)) await client.drained();
    await client.close();
    expect(received).toEqual(frames);
  });

  it('refuses to send a frame over frameBytesMax', async () => {
    const { client } = await pair(1000);
    expect(() => client.send(Buffer.alloc(1001))).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
    await client.close();
  });

  it('closes the connection with FRAME_TOO_LARGE when a header announces more than the receiver allows', async () => {
    const { sender, peerClosed } = await pairWithLimits(100, 10);
    sender.send(Buffer.alloc(50));
    expect(await peerClosed).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    sender.destroy();
  });

  it('reports a refused connection as CONNECTION_REFUSED', async () => {
    const error = await FramedConnection.connect('127.0.0.1', 1, { onFrame: () => {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONNECTION_REFUSED' });
  });
});

async function pairWithLimits(senderMax: number, receiverMax: number) {
  let resolvePeer: (e: unknown) => void = () => {};
  const peerClosed = new Promise((resolve) => {
    resolvePeer = resolve;
  });
  const server = createServer((socket) => {
    new FramedConnection(socket, { frameBytesMax: receiverMax, onFrame: () => {}, onClose: (e) => resolvePeer(e) });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const sender = await FramedConnection.connect('127.0.0.1', port, { frameBytesMax: senderMax, onFrame: () => {} });
  return { sender, peerClosed };
}
