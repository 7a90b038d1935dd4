// Goal: a leader lease survives SIGSTOP safely because it is measured on the monotonic clock, not in ticks that a
// stopped process never counted. Method: 3 real processes with --read-mode lease. Right after SIGSTOP of the leader a
// GET is written into its socket, so it waits in the kernel buffer ahead of every message the other nodes send it;
// they elect a new leader, which overwrites the key; on SIGCONT the paused node handles that GET first. Counting ticks
// it would still believe in its lease and answer the old value; catching up with the clock it knows the lease ran out.
import { afterEach, describe, expect, it } from 'vitest';
import { errorKind, ProcessCluster, sleep, until } from './process-cluster.js';

let cluster: ProcessCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe('leader lease under SIGSTOP (real processes)', () => {
  it('a paused lease holder answers a GET queued before it resumed with the new value or an error, never the old one', async () => {
    cluster = await ProcessCluster.create(3, ['--read-mode', 'lease']);
    const c = cluster;
    await c.startAll();
    const old = await c.waitLeader();
    const oldClient = await c.client(old, 20_000);
    await c.write(old, 'x', 'before');
    // Lease reads served by the old leader before the pause: the lease is live.
    for (let i = 0; i < 5; i++) expect(String(await oldClient.call('GET', 'x'))).toBe('before');

    c.signal(old, 'SIGSTOP');
    const read = oldClient.call('GET', 'x').then(
      (v) => ({ ok: true, value: String(v) }),
      (e: unknown) => ({ ok: false, value: errorKind(e) }),
    );
    const others = c.ids.filter((id) => id !== old);
    const fresh = await c.waitLeader(others);
    await c.write(fresh, 'x', 'after');
    await sleep(300); // a longer pause changes nothing for a correct lease; it only widens the gap a tick counter misses
    c.signal(old, 'SIGCONT');
    const r = await read;
    await oldClient.close();
    if (r.ok) expect(r.value).toBe('after');
    else expect(['TRYAGAIN', 'TIMEOUT']).toContain(r.value);

    await until('the old leader follows', async () => (await c.info(old)).get('role') === 'follower');
    await until('the old leader reads the new value', async () => String(await c.call(old, 'GET', 'x')) === 'after');
  });
});
