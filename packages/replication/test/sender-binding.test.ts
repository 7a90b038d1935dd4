// Goal: a peer connection speaks for one node only (issue 17 item 7). Once a connection has said who it is (its
// hello, or its first message), a frame that claims another sender is not delivered and the connection is closed,
// so an admitted peer cannot speak as another voter (say, forge the leader's heartbeat with a higher commit index).
// Method: two real TcpTransports on loopback; one sends, as n1, a heartbeat and then one claiming to come from n3;
// the other records what reaches its handler and what it logged. No timing decides: waits are bounded polls.
import { type LogIndex, type Message, type NodeId, type PeerAddress, TcpTransport, type Term } from '@distkv/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeControl } from '../src/driver/control-frames.js';

const decodeLimits = { entriesMax: 16, bytesMax: 1 << 20 };
const open: TcpTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

const loopback: PeerAddress = { host: '127.0.0.1', port: 0 };
const heartbeat = (from: string, commit: number): Message => ({
  type: 'MsgHeartbeat',
  from: from as NodeId,
  to: 'n2' as NodeId,
  term: 3 as Term,
  commit: commit as LogIndex,
});

async function pair(hello: boolean) {
  const logged: string[] = [];
  const receiver = await TcpTransport.listen(loopback, decodeLimits, {}, {}, (line) => logged.push(line));
  const sender = await TcpTransport.listen(loopback, decodeLimits);
  open.push(receiver, sender);
  const received: Message[] = [];
  const controls: Buffer[] = [];
  receiver.onMessage((m) => received.push(m));
  receiver.onControl((f) => controls.push(f));
  if (hello) sender.setHello(encodeControl({ type: 'hello', id: 'n1', clientAddress: '127.0.0.1:7001', httpAddress: '' }));
  sender.setPeers(new Map([['n2' as NodeId, receiver.address]]));
  return { sender, received, controls, logged };
}

describe('sender identity is bound to the connection', () => {
  it.each([
    ['its hello', true],
    ['its first message', false],
  ])('bound by %s: a heartbeat forged as another voter is dropped and the connection closed', async (_, hello) => {
    const { sender, received, controls, logged } = await pair(hello);
    sender.send(heartbeat('n1', 5));
    await expect.poll(() => received.length, { message: 'the genuine heartbeat arrives' }).toBe(1);
    expect(controls.length).toBe(hello ? 1 : 0);

    sender.send(heartbeat('n3', 99)); // n1's connection speaking as n3, with a commit index n3 never had
    await expect
      .poll(() => logged.some((l) => /claims to come from n3/.test(l)), { message: 'the forgery is refused' })
      .toBe(true);
    expect(received.map((m) => [m.from, (m as { commit: number }).commit])).toEqual([['n1', 5]]);
    expect(logged.find((l) => /claims to come from n3/.test(l))).toMatch(/speaks for n1/);

    // The sender reconnects (a new connection, a new hello) and is heard again as itself.
    sender.send(heartbeat('n1', 6));
    await expect.poll(() => received.length, { message: 'n1 is heard again on a new connection' }).toBe(2);
    expect(received.map((m) => m.from)).toEqual(['n1', 'n1']);
  });

  it('a hello naming another node than the connection already spoke for is refused too', async () => {
    const { sender, received, controls, logged } = await pair(true);
    sender.send(heartbeat('n1', 1));
    await expect.poll(() => received.length).toBe(1);
    sender.sendControl(
      'n2' as NodeId,
      encodeControl({ type: 'hello', id: 'n3', clientAddress: '127.0.0.1:7003', httpAddress: '' }),
    );
    await expect.poll(() => logged.some((l) => /hello claims to come from n3/.test(l))).toBe(true);
    expect(controls.length).toBe(1); // only n1's own hello reached the node
  });
});
