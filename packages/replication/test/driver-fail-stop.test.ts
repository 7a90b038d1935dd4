// Goal: an assertion that a peer's message trips in the state machine stops the node loudly (logged, `failed` settles) instead of escaping into the transport's frame reader and ending the process without a word (issue 17 item 4).
// Method: one follower driver on a loopback port; the state machine's step is made to throw an AssertionError, and a heartbeat is handed to the transport's message handler directly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssertionError } from '@distkv/core';
import { type LogIndex, type Message, type NodeId, ReplicationNode, TcpTransport, type Term } from '@distkv/replication';
import { afterEach, describe, expect, it, vi } from 'vitest';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('driver: a programmer error while stepping a peer message is a fail-stop', () => {
  it('logs it at error level, settles `failed`, stops, and does not throw into the transport', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-failstop-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const transport = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, { entriesMax: 16, bytesMax: 1024 });
    let deliver: ((m: Message) => void) | undefined;
    const onMessage = transport.onMessage.bind(transport);
    vi.spyOn(transport, 'onMessage').mockImplementation((handler) => {
      deliver = handler;
      onMessage(handler);
    });
    const lines: Array<[string, string | undefined]> = [];
    const node = await ReplicationNode.start({
      id: 'n2',
      leader: 'n1',
      peers: new Map([['n1', { host: '127.0.0.1', port: 1 }]]),
      dataDir: dir,
      mode: 'sync',
      listen: transport,
      tickMs: 60_000,
      log: (line, level) => lines.push([line, level]),
    });
    cleanups.push(() => node.stop());
    vi.spyOn(node.raft, 'step').mockImplementation(() => {
      throw new AssertionError('entry 7 conflicts with the committed prefix (commit 9)');
    });
    const heartbeat: Message = {
      type: 'MsgHeartbeat',
      from: 'n1' as NodeId,
      to: 'n2' as NodeId,
      term: 1 as Term,
      commit: 0 as LogIndex,
    };
    expect(() => (deliver as (m: Message) => void)(heartbeat)).not.toThrow();
    const err = await node.failed;
    expect(err).toBeInstanceOf(AssertionError);
    expect(
      lines.some(([l, level]) => level === 'error' && l.includes('conflicts with the committed prefix') && l.includes('n1')),
    ).toBe(true);
  });
});
