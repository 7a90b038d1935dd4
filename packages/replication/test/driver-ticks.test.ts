// Goal: the driver counts the ticks a stalled event loop missed before it steps the next peer message, so a follower's election timer (and the lease that rests on it) restarts at the real time of receipt (issue 17 item 1).
// Method: one follower driver on a loopback port; the monotonic clock is stubbed to jump past an election timeout, a heartbeat is handed to the transport's message handler directly, and the order of tick() and step() on the state machine is recorded.
import { describe, expect, it, vi } from 'vitest';
import { heartbeat, startFollowerDriver } from './follower-driver.js';

describe('driver: missed ticks are counted before a peer message is stepped', () => {
  it('a follower that stalled past its election timeout ticks first, then steps the heartbeat', async () => {
    const tickMs = 60_000; // the real timer never fires during the test; only the stubbed clock moves
    const { node, deliver } = await startFollowerDriver({ dirPrefix: 'distkv-ticks-', tickMs });

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
    deliver(heartbeat);
    expect(calls.indexOf('step MsgHeartbeat')).toBeGreaterThan(-1);
    expect(calls.filter((c) => c === 'tick').length).toBeGreaterThanOrEqual(20);
    expect(calls.lastIndexOf('tick')).toBeLessThan(calls.indexOf('step MsgHeartbeat'));
  });
});
