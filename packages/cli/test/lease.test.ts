// Goal: a leader lease survives SIGSTOP safely because it is measured on the monotonic clock, not in ticks that a
// stopped process never counted. Method: 3 real processes with --read-mode lease. The leader is SIGSTOPped, and only
// once /proc says it is stopped is a GET written into its client socket (a raw one, so the test knows when the bytes
// are in the kernel); at that moment the others must still be in the old term, so the GET's socket became readable
// before any message of the new term. They elect a new leader, which overwrites the key while the old one is still
// stopped; on SIGCONT the woken node sees the GET's socket ready first. Counting ticks it would still believe in its
// lease and answer the old value; catching up with the clock it knows the lease ran out. Each of those conditions is
// checked, so a run in which the race was not set up fails and says which one was missing instead of passing.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeRequest, RespErrorReply, RespReplyDecoder, type RespValue } from '@distkv/net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ProcessCluster, processCluster, waitLeader, write } from './process-cluster.js';

let cluster: ProcessCluster | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await cluster?.destroy();
  cluster = undefined;
});

/** The scheduler state of a process (`T`: stopped by a signal), from /proc/<pid>/stat. */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] ?? '?';
}

/** A raw RESP connection: `send` resolves once the bytes are handed to the kernel, `reply` with the next reply. */
async function rawConnection(port: number): Promise<{ send(args: string[]): Promise<void>; reply(): Promise<RespValue> }> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  sockets.push(socket);
  const decoder = new RespReplyDecoder();
  const replies: RespValue[] = [];
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    replies.push(...decoder.drain());
    for (const w of waiters.splice(0)) w();
  });
  return {
    send: (args) => new Promise((resolve, reject) => socket.write(encodeRequest(args), (err) => (err ? reject(err) : resolve()))),
    async reply() {
      while (replies.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return replies.shift() as RespValue;
    },
  };
}

describe('leader lease under SIGSTOP (real processes)', () => {
  it('a paused lease holder answers a GET queued before it resumed with the new value or an error, never the old one', async () => {
    cluster = await processCluster(3, ['--read-mode', 'lease']);
    const c = cluster;
    await c.startAll();
    const old = await waitLeader(c);
    await write(c, old, 'x', 'before');
    const raw = await rawConnection(c.port(old));
    // Lease reads served by the old leader before the pause: the lease is live (and the connection is accepted).
    for (let i = 0; i < 5; i++) {
      await raw.send(['GET', 'x']);
      expect(String(await raw.reply())).toBe('before');
    }
    const oldTerm = (await c.info(old)).get('term');
    const others = c.ids.filter((id) => id !== old);

    c.pause(old);
    await expect.poll(() => processState(c.pid(old)), { message: `${old} is stopped before the GET is sent` }).toBe('T');
    await raw.send(['GET', 'x']);
    for (const id of others) {
      expect((await c.info(id)).get('term'), `race not set up: ${id} left term ${oldTerm} before the GET was queued`).toBe(
        oldTerm,
      );
    }

    const fresh = await waitLeader(c, others);
    await write(c, fresh, 'x', 'after');
    expect(Number((await c.info(fresh)).get('term'))).toBeGreaterThan(Number(oldTerm));
    await sleep(300); // a longer pause changes nothing for a correct lease; it only widens the gap a tick counter misses
    expect(processState(c.pid(old)), `race not set up: ${old} resumed before the new leader's write`).toBe('T');
    c.resume(old);
    const r = await raw.reply();
    if (r instanceof RespErrorReply) expect(r.message).toMatch(/^(TRYAGAIN|TIMEOUT)\b/);
    else expect(String(r)).toBe('after');

    await expect.poll(async () => (await c.info(old)).get('role'), { message: 'the old leader follows' }).toBe('follower');
    await expect
      .poll(async () => String(await c.call(old, 'GET', 'x')), { message: 'the old leader reads the new value' })
      .toBe('after');
  });
});
