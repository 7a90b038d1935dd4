// Goal: exactly-once writes survive a leader's death: a numbered write retried after SIGKILL of the leader is applied once.
// Method: 3 real `distkv server` processes (Raft). A raw SESSION write acknowledged by the leader is resent through a
// survivor after the kill; a Client({ session }) INCRs through a follower while the leader dies, and every reply must be
// the next integer (a double apply would skip one). Bounded polls only.
import { Client } from '@distkv/net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ProcessCluster, processCluster, waitLeader } from './process-cluster.js';

let cluster: ProcessCluster | undefined;
let stopLoad: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopLoad?.();
  stopLoad = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

describe('exactly-once client sessions across a leader failure (real processes)', () => {
  it('a write acknowledged by the killed leader, resent through a survivor with its number, is not applied again', async () => {
    cluster = await processCluster(3);
    const c = cluster;
    await c.startAll();
    const first = await waitLeader(c);
    const follower = c.ids.find((id) => id !== first) as string;

    // A session and its first write, acknowledged by the leader that is about to die.
    const raw = await c.client(first);
    const id = String(await raw.call('SESSION', 'OPEN'));
    expect(await raw.call('SESSION', id, '1', 'INCR', 'once')).toBe(1);
    await raw.close();

    const loader = new Client({
      port: c.port(follower),
      timeoutMs: 3_000,
      reconnect: { attemptsMax: 3 },
      session: { retriesMax: 60, retryDelayMsMin: 20 },
    });
    const replies: unknown[] = [];
    let running = true;
    const loop = (async () => {
      while (running) replies.push(await loader.call('INCR', 'load'));
    })();
    stopLoad = async () => {
      running = false;
      await loader.close();
      await loop.catch(() => undefined);
    };
    await expect.poll(() => replies.length >= 30, { message: 'load is flowing' }).toBe(true);

    await c.kill(first);
    const survivors = c.ids.filter((x) => x !== first);
    await waitLeader(c, survivors);
    const afterKill = replies.length;
    await expect.poll(() => replies.length >= afterKill + 30, { message: 'load resumes under the new leader' }).toBe(true);
    running = false;
    await loop;
    await loader.close();

    // The raw resend: the survivors hold the session table, so number 1 answers 1 again and changes nothing.
    for (const via of survivors) {
      const again = await c.client(via);
      expect(await again.call('SESSION', id, '1', 'INCR', 'once')).toBe(1);
      await again.close();
    }
    expect(String(await c.call(follower, 'GET', 'once'))).toBe('1');
    const next = await c.client(follower);
    expect(await next.call('SESSION', id, '2', 'INCR', 'once')).toBe(2);
    await next.close();

    // Every INCR of the loader was applied exactly once: its replies are 1, 2, 3, ... with no gap or repeat.
    expect(replies).toEqual(Array.from({ length: replies.length }, (_, i) => i + 1));
    expect(String(await c.call(follower, 'GET', 'load'))).toBe(String(replies.length));
    expect(loader.sessionStats.writes).toBe(replies.length);
  });
});
