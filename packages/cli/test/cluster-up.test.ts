// Goal: `distkv cluster up` starts a working 3-node cluster, `distkv status` (once and --watch) describes it with each node's own admin address and last heartbeat, from any one endpoint (and a dead endpoint or node as unreachable), `--nodes 1` is a one-voter cluster with the same admin endpoint, `distkv client` follows the leader across a SIGKILL, SIGTERM stops every node, SIGKILL of `cluster up` leaves no node behind, and a second `cluster up` on the same data dir has the data.
// Method: real processes on free ports found at test time, temp dirs, bounded polls; only our own pids are signalled.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@distkv/net';
import { afterAll, describe, expect, it } from 'vitest';
import { serverArgs } from '../src/commands/cluster.js';
import { alive, exitOf, freeBasePort, killAll, packageDir, run, clusterUp as startClusterUp, type Up } from './helpers.js';

const binPath = join(packageDir, 'bin', 'distkv.mjs');
const root = mkdtempSync(join(tmpdir(), 'distkv-cluster-up-'));
const pids = new Set<number>();
afterAll(() => {
  killAll(pids);
  rmSync(root, { recursive: true, force: true });
});

interface StatusJson {
  nodes: Array<{
    id: string;
    role: string;
    leader: string | null;
    healthy: boolean;
    client_addr: string;
    http_addr: string | null;
    last_heartbeat_ms: number | null;
  }>;
}

async function status(endpoints: string[]): Promise<StatusJson> {
  const r = await run(process.execPath, [binPath, 'status', '--endpoints', endpoints.join(','), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

/** One command on one node; null when the node answers with an error (no leader yet, say) or not at all. */
async function tryCall(port: number, ...args: string[]): Promise<unknown> {
  const c = new Client({ port, reconnect: { attemptsMax: 1 }, timeoutMs: 5000 });
  try {
    const reply = await c.call(...args);
    return Buffer.isBuffer(reply) ? reply.toString() : reply;
  } catch {
    return null;
  } finally {
    await c.close();
  }
}

async function stop(up: Up): Promise<void> {
  const exited = exitOf(up.child);
  process.kill(up.child.pid as number, 'SIGTERM');
  const { code, signal } = await exited;
  expect({ code, signal }, up.output()).toEqual({ code: 0, signal: null });
  for (const pid of up.nodePids) expect(alive(pid), `node pid ${pid}`).toBe(false);
}

describe('distkv cluster up and status', () => {
  it('starts 3 nodes with one leader, replicates, stops cleanly on SIGTERM, and comes back with its data', async () => {
    const base = await freeBasePort();
    const dataDir = join(root, 'data');
    const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`);

    const up = await startClusterUp(base, dataDir, pids, ['--nodes', '3']);
    expect(up.nodePids).toHaveLength(3);
    // Bounded: until every node names the same leader (an election may need more than one round).
    let view: StatusJson = { nodes: [] };
    await expect
      .poll(
        async () => {
          view = await status(endpoints);
          const leaders = view.nodes.filter((n) => n.role === 'leader');
          return leaders.length === 1 && view.nodes.every((n) => n.healthy && n.leader === leaders[0]?.id);
        },
        { message: 'one leader known to all 3 nodes' },
      )
      .toBe(true);
    expect(view.nodes).toHaveLength(3);
    expect(view.nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
    expect(view.nodes.map((n) => n.client_addr)).toEqual(endpoints);
    // Each node reports its own admin address in INFO (it equals the port rule's here, which it no longer relies on).
    expect(view.nodes.map((n) => n.http_addr)).toEqual([0, 1, 2].map((i) => `http://127.0.0.1:${base + 200 + i}`));
    // Every node has heard its leader (followers) or a majority (the leader): a number of ms, not null.
    for (const n of view.nodes) expect(n.last_heartbeat_ms, n.id).toEqual(expect.any(Number));

    // --watch is bounded by --count; with --json each refresh is one line.
    const watched = await run(process.execPath, [
      binPath,
      'status',
      '--endpoints',
      endpoints.join(','),
      '--watch',
      '--json',
      '--count',
      '3',
      '--interval-ms',
      '50',
    ]);
    expect(watched.code, watched.stderr).toBe(0);
    const refreshes = watched.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as StatusJson);
    expect(refreshes).toHaveLength(3);
    for (const r of refreshes) expect(r.nodes.map((n) => n.client_addr)).toEqual(endpoints);

    await expect
      .poll(async () => (await tryCall(base, 'SET', 'tour', 'hello')) === 'OK', { message: 'SET through n1' })
      .toBe(true);
    await expect.poll(async () => (await tryCall(base + 2, 'GET', 'tour')) === 'hello', { message: 'GET on n3' }).toBe(true);
    await stop(up);

    const again = await startClusterUp(base, dataDir, pids, ['--nodes', '3']);
    await expect
      .poll(async () => (await tryCall(base + 2, 'GET', 'tour')) === 'hello', { message: 'GET after restart' })
      .toBe(true);
    await stop(again);

    // A stopped replica's directory, as `wal inspect` sees it: log/, hardstate, clean.
    const inspected = await run(process.execPath, [binPath, 'wal', 'inspect', join(dataDir, 'n3'), '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const report = JSON.parse(inspected.stdout);
    expect(report).toMatchObject({ layout: 'replica', verdict: 'clean', corruption: [] });
    expect(report.lastIndex).toBeGreaterThanOrEqual(1);
    expect(report.hardState.term).toBeGreaterThanOrEqual(1);
  }, 240_000); // a bound for a loaded machine (each `distkv` process starts ts-node), not a pass criterion

  it('reports an endpoint that does not answer as unreachable', async () => {
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const address = s.address();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if (address === null || typeof address === 'string') throw new Error('no port');
    const view = await status([`127.0.0.1:${address.port}`]);
    expect(view.nodes).toEqual([
      {
        id: `127.0.0.1:${address.port}`,
        role: 'unreachable',
        term: null,
        leader: null,
        commit_index: null,
        applied_index: null,
        lag: null,
        last_heartbeat_ms: null,
        healthy: false,
        client_addr: `127.0.0.1:${address.port}`,
        http_addr: null,
      },
    ]);
  });

  /** A fake node: any request gets the INFO that `lines` give (one RESP bulk string), with `port` its own. */
  async function withFakeNode(lines: (port: number) => string[], check: (port: number) => Promise<void>): Promise<void> {
    const s = createServer((socket) => {
      socket.on('data', () => {
        const text = [...lines((s.address() as AddressInfo).port), ''].join('\r\n');
        socket.write(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
      });
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    try {
      await check((s.address() as AddressInfo).port);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  it('lists the voters one answer names: an unusable or unknown address is an unreachable row, never a crash', async () => {
    // Its members: itself, one with an impossible port, one whose address it never learnt.
    // biome-ignore format: one INFO line per line
    const info = (port: number) => ['# Replication', 'role:leader', 'node_id:x1', 'leader_id:x1', 'term:3', 'commit_index:5',
      'applied_index:5', 'last_contact_ms:0', `member0:id=x1,client_addr=127.0.0.1:${port},http_addr=,last_contact_ms=0`,
      'member1:id=x2,client_addr=127.0.0.1:99999,http_addr=,last_contact_ms=1500', 'member2:id=x3,client_addr=,http_addr=,last_contact_ms='];
    await withFakeNode(info, async (port) => {
      const view = await status([`127.0.0.1:${port}`]);
      expect(view.nodes.map((n) => [n.id, n.role, n.client_addr, n.last_heartbeat_ms])).toEqual([
        ['x1', 'leader', `127.0.0.1:${port}`, 0],
        ['x2', 'unreachable', '127.0.0.1:99999', 1500],
        ['x3', 'unreachable', '', null],
      ]);
    });
  });

  it('shows a learner (a member without a vote) as one, not as a follower', async () => {
    // biome-ignore format: one INFO line per line
    const info = (port: number) => ['# Replication', 'role:follower', 'node_id:x4', 'leader_id:x1', 'term:3', 'commit_index:5',
      'applied_index:4', 'last_contact_ms:7', 'conf_role:learner', `member0:id=x4,role=learner,client_addr=127.0.0.1:${port},http_addr=,last_contact_ms=0`];
    await withFakeNode(info, async (port) => {
      const view = await status([`127.0.0.1:${port}`]);
      expect(view.nodes.map((n) => [n.id, n.role, n.leader])).toEqual([['x4', 'learner', 'x1']]);
    });
  });

  it('client follows the leader when it is SIGKILLed; SIGKILL of cluster up takes every node with it', async () => {
    const base = await freeBasePort();
    const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`);
    const up = await startClusterUp(base, join(root, 'follow'), pids, ['--nodes', '3']);
    let leader = '';
    await expect
      .poll(
        async () => {
          const leaders = (await status(endpoints)).nodes.filter((n) => n.role === 'leader' && n.healthy);
          leader = leaders[0]?.id ?? '';
          return leaders.length === 1;
        },
        { message: 'a leader' },
      )
      .toBe(true);
    const leaderIndex = Number(leader.slice(1)) - 1;
    const follower = endpoints[(leaderIndex + 1) % 3] as string;

    // One command through a follower, --json: it lands on the leader and the reply is JSON.
    const once = await run(process.execPath, [binPath, 'client', follower, '--json', '-c', 'SET via-follower 1']);
    expect({ code: once.code, stdout: once.stdout }, once.stderr).toEqual({ code: 0, stdout: '"OK"\n' });

    // A REPL started on a follower moves to the leader, and the prompt says so.
    const repl = spawn(process.execPath, [binPath, 'client', follower, '--endpoints', endpoints.join(',')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (repl.pid !== undefined) pids.add(repl.pid);
    let out = '';
    repl.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const replies = (): string[] => out.split(/\S+ 127\.0\.0\.1:\d+> /).map((r) => r.trim());
    repl.stdin.write('SET a 1\n');
    await expect.poll(replies, { message: 'the first reply' }).toContain('OK');
    expect(out).toContain(`${leader} ${endpoints[leaderIndex]}> `);

    process.kill(up.nodePids[leaderIndex] as number, 'SIGKILL');
    // The next command either finds the new leader at once, or fails (connection lost, may have applied) and the
    // one after goes to the new leader. Bounded: at most 10 tries.
    let okCount = 1;
    for (let attempt = 0; attempt < 10 && okCount < 2; attempt++) {
      const before = replies().length;
      repl.stdin.write('SET b 2\n');
      await expect
        .poll(() => out, { message: 'a reply, then the prompt' })
        .toSatisfy((o: string) => replies().length > before && o.endsWith('> '));
      okCount = replies().filter((r) => r === 'OK').length;
    }
    expect(okCount, out).toBe(2);
    const prompts = [...out.matchAll(/(n\d) (127\.0\.0\.1:\d+)> /g)];
    const last = prompts[prompts.length - 1];
    expect(last?.[1]).not.toBe(leader);
    expect(last?.[2]).not.toBe(endpoints[leaderIndex]);
    repl.stdin.end('GET b\n');
    await exitOf(repl);
    expect(replies()).toContain('2');

    // Status from one survivor: the killed node is still listed (the others remember its address), unreachable,
    // with how long ago the new leader last heard it; bounded poll until the survivors agree on the new leader.
    let afterKill: StatusJson = { nodes: [] };
    await expect
      .poll(
        async () => {
          afterKill = await status([follower]);
          return afterKill.nodes.some((n) => n.role === 'leader' && n.id !== leader);
        },
        { message: 'status from one survivor shows the dead node and a new leader' },
      )
      .toBe(true);
    const dead = afterKill.nodes.find((n) => n.id === leader);
    expect(dead).toMatchObject({ role: 'unreachable', healthy: false, client_addr: endpoints[leaderIndex] });
    // Asking one node was enough: it named the other voters and status asked them too.
    expect(afterKill.nodes.map((n) => n.client_addr).sort()).toEqual([...endpoints].sort());
    expect(afterKill.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);

    // SIGKILL of cluster up itself: each node sees its IPC channel close and shuts down.
    process.kill(up.child.pid as number, 'SIGKILL');
    await expect.poll(async () => up.nodePids.every((pid) => !alive(pid)), { message: 'no node survives its parent' }).toBe(true);
    for (const pid of up.nodePids) expect(alive(pid), `node pid ${pid}`).toBe(false);
  }, 240_000); // a bound for a loaded machine (each `distkv` process starts ts-node), not a pass criterion

  it('--nodes 1 is a one-voter cluster: a leader at once, the admin endpoint and dashboard, --fsync none, its data back after a restart', async () => {
    const base = await freeBasePort();
    const dataDir = join(root, 'one');
    const endpoint = `127.0.0.1:${base}`;
    const up = await startClusterUp(base, dataDir, pids, ['--nodes', '1', '--fsync', 'none']);
    expect(up.output()).toContain(`dashboard http://127.0.0.1:${base + 200}/`);
    await expect
      .poll(async () => (await tryCall(base, 'SET', 'solo', 'yes')) === 'OK', { message: 'SET on the single node' })
      .toBe(true);
    const view = await status([endpoint]);
    expect(view.nodes).toEqual([
      expect.objectContaining({
        id: 'n1',
        role: 'leader',
        leader: 'n1',
        healthy: true,
        http_addr: `http://127.0.0.1:${base + 200}`,
      }),
    ]);
    const response = await fetch(`http://127.0.0.1:${base + 200}/dashboard/state`);
    expect(response.status).toBe(200);
    const state = (await response.json()) as { id: string; status: { role: string } };
    expect(state).toMatchObject({ id: 'n1', status: { role: 'leader' } });
    await stop(up);

    const again = await startClusterUp(base, dataDir, pids, ['--nodes', '1', '--fsync', 'none']);
    await expect.poll(async () => (await tryCall(base, 'GET', 'solo')) === 'yes', { message: 'GET after restart' }).toBe(true);
    await stop(again);
  });

  it('refuses --fsync other than always for a replicated cluster, naming the reason', async () => {
    const r = await run(process.execPath, [
      binPath,
      'cluster',
      'up',
      '--nodes',
      '3',
      '--fsync',
      'none',
      '--data-dir',
      join(root, 'x'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--fsync none applies to --nodes 1 only');
  });

  it('passes --timing and the catch-up tail flags to every node, and refuses a bad value with the flag named', async () => {
    const flags = { nodes: 3, basePort: 7001, dataDir: join(root, 'x'), election: 'raft', fsync: 'always' } as const;
    const args = serverArgs({ ...flags, timing: 'lan', snapshotCatchUpEntries: 0, snapshotCatchUpBytes: 4096 }, 2);
    expect(args.join(' ')).toContain('--timing lan --snapshot-catch-up-entries 0 --snapshot-catch-up-bytes 4096');
    // Left out, nothing is passed: each server's auto timing, which is loopback on 127.0.0.1.
    expect(serverArgs(flags, 2)).not.toContain('--timing');
    for (const [flag, value, message] of [
      ['--snapshot-catch-up-entries', '-1', '--snapshot-catch-up-entries must be an integer from 0 to 10000000'],
      ['--snapshot-catch-up-bytes', '64MiB', '--snapshot-catch-up-bytes must be an integer from 0 to 4503599627370496'],
      ['--timing', 'wan', 'Allowed choices are auto, lan, loopback'],
    ] as const) {
      const r = await run(process.execPath, [binPath, 'cluster', 'up', flag, value, '--data-dir', join(root, 'x')]);
      expect(r.code, flag).toBe(1); // commander's exit code for a bad option value, as for --nodes 0
      expect(r.stderr).toContain(message);
    }
  });
});
