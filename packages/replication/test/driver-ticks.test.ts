// Goal: the driver counts the ticks a stalled event loop missed before it steps the next peer message, so a follower's election timer (and the lease that rests on it) restarts at the real time of receipt (issue 17 item 1).
// Method: one follower driver on a loopback port; the monotonic clock is stubbed to jump past an election timeout, a heartbeat is handed to the transport's message handler directly, and the order of tick() and step() on the state machine is recorded.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogIndex, type Message, type NodeId, ReplicationNode, TcpTransport, type Term } from '@distkv/replication';
import { afterEach, describe, expect, it, vi } from 'vitest';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('driver: missed ticks are counted before a peer message is stepped', () => {
  it('a follower that stalled past its election timeout ticks first, then steps the heartbeat', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-ticks-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const transport = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, { entriesMax: 16, bytesMax: 1024 });
    let deliver: ((m: Message) => void) | undefined;
    const onMessage = transport.onMessage.bind(transport);
    vi.spyOn(transport, 'onMessage').mockImplementation((handler) => {
      deliver = handler;
      onMessage(handler);
    });
    const tickMs = 60_000; // the real timer never fires during the test; only the stubbed clock moves
    const node = await ReplicationNode.start({
      id: 'n2',
      leader: 'n1',
      peers: new Map([['n1', { host: '127.0.0.1', port: 1 }]]),
      dataDir: dir,
      mode: 'sync',
      listen: transport,
      tickMs,
    });
    cleanups.push(() => node.stop());
    expect(deliver).toBeDefined();

    const calls: string[] = [];
    const tick = node.raft.tick.bind(node.raft);
    const step = node.raft.step.bind(node.raft);
    vi.spyOn(node.raft, 'tick').mockImplementation(() => {
      calls.push('tick');
      tick();
    });
    vi.spyOn(node.raft, 'step').mockImplementation((m) => {
      calls.push(`step ${m.type}`);
      step(m);
    });
    // The event loop was blocked for 20 ticks (a long GC, a synchronous compaction).
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now + 20 * tickMs + 1);
    (deliver as (m: Message) => void)({
      type: 'MsgHeartbeat',
      from: 'n1' as NodeId,
      to: 'n2' as NodeId,
      term: 1 as Term,
      commit: 0 as LogIndex,
    });
    expect(calls.indexOf('step MsgHeartbeat')).toBeGreaterThan(-1);
    expect(calls.filter((c) => c === 'tick').length).toBeGreaterThanOrEqual(20);
    expect(calls.lastIndexOf('tick')).toBeLessThan(calls.indexOf('step MsgHeartbeat'));
  });
});
