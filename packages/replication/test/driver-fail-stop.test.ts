// Goal: an assertion that a peer's message trips in the state machine stops the node loudly (logged, `failed` settles) instead of escaping into the transport's frame reader and ending the process without a word (issue 17 item 4).
// Method: one follower driver on a loopback port; the state machine's step is made to throw an AssertionError, and a heartbeat is handed to the transport's message handler directly.
import { AssertionError } from '@distkv/core';
import { describe, expect, it, vi } from 'vitest';
import { heartbeat, startFollowerDriver } from './follower-driver.js';

describe('driver: a programmer error while stepping a peer message is a fail-stop', () => {
  it('logs it at error level, settles `failed`, stops, and does not throw into the transport', async () => {
    const lines: Array<[string, string | undefined]> = [];
    const { node, deliver } = await startFollowerDriver({
      dirPrefix: 'distkv-failstop-',
      tickMs: 60_000,
      log: (line, level) => lines.push([line, level]),
    });
    vi.spyOn(node.raft, 'step').mockImplementation(() => {
      throw new AssertionError('entry 7 conflicts with the committed prefix (commit 9)');
    });
    expect(() => deliver(heartbeat)).not.toThrow();
    const err = await node.failed;
    expect(err).toBeInstanceOf(AssertionError);
    expect(
      lines.some(([l, level]) => level === 'error' && l.includes('conflicts with the committed prefix') && l.includes('n1')),
    ).toBe(true);
  });
});
