// Goal: membership from the command line, on real processes: a dead node is replaced (`member remove`, then
// `server --join`, promoted to voter by itself) with every acknowledged write readable from the new node; `member add`
// of an address where nothing answers fails with MEMBER_UNREACHABLE and changes nothing; a removed node's process
// exits 0 with the removal line; `cluster add-node` / `cluster remove-node` grow and shrink a `cluster up` cluster;
// `snapshot save` backs up a live node and `snapshot restore` seeds a new cluster from it.
// Method: 3 `distkv server` processes with admin ports (the harness), extra nodes spawned here on reserved ports,
// the real binary for every command; waits are bounded polls (vitest.config.ts); only pids started here are signalled.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@distkv/net';
import { reservePort } from '@distkv/net/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { alive, exitOf, freeBasePort, kill, killAll, packageDir, run, clusterUp as startClusterUp } from './helpers.js';
import { type ProcessCluster, processCluster, waitLeader, write } from './process-cluster.js';

const binPath = join(packageDir, 'bin', 'distkv.mjs');

let cluster: ProcessCluster | undefined;
const extra: ChildProcess[] = [];
afterEach(async () => {
  for (const child of extra.splice(0)) await kill(child);
  await cluster?.destroy();
  cluster = undefined;
});

interface MembersJson {
  leader: string | null;
  term: number;
  confIndex: number;
  // biome-ignore format: one member per line
  members: Array<{ id: string; role: 'voter' | 'learner'; autoPromote: boolean; peerAddress: string | null; match: number | null; lag: number | null }>;
}

function distkv(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [binPath, ...args]);
}

/** `member list --json`, or undefined while it fails (an election, a node starting). */
async function members(endpoints: string): Promise<MembersJson | undefined> {
  const r = await distkv('member', 'list', '--endpoints', endpoints, '--json');
  return r.code === 0 ? (JSON.parse(r.stdout) as MembersJson) : undefined;
}

const voters = (m: MembersJson | undefined): string[] =>
  (m?.members ?? [])
    .filter((x) => x.role === 'voter')
    .map((x) => x.id)
    .sort();

/** The environment of a spawned server: none of the test runner's ts-node or DISTKV_* settings. */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TS_NODE_') && !k.startsWith('DISTKV_')));
}

interface Spawned {
  child: ChildProcess;
  logs: () => string;
  /** Resolves with the client port once the listening line is printed; rejects if the process exits first. */
  listening: Promise<number>;
}

/** `distkv server <args>`, tracked for afterEach; resolves its `listening` promise from the listening line. */
function spawnServer(args: string[]): Spawned {
  const child = spawn(process.execPath, [binPath, 'server', ...args], { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  extra.push(child);
  let out = '';
  const append = (d: Buffer): void => {
    out += d.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', () => {
      const match = /listening on [^\s]+:(\d+)/.exec(out);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}) before listening: ${out}`)));
  });
  listening.catch(() => undefined);
  return { child, logs: () => out, listening };
}

/** GET key from a node (linearizable: a follower confirms with the leader first); null when absent or on an error. */
async function get(port: number, key: string): Promise<unknown> {
  let client: Client | undefined;
  try {
    client = await Client.connect({ port, reconnect: { attemptsMax: 1 }, timeoutMs: 3_000 });
    const value = await client.call('GET', key);
    return value === null ? null : String(value);
  } catch {
    return null;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

/** Runs a membership change until the member list shows it done (a change answered TIMEOUT may have committed anyway). */
async function changeUntil(args: string[], endpoints: string, done: (m: MembersJson) => boolean): Promise<void> {
  await expect
    .poll(
      async () => {
        const r = await distkv(...args, '--endpoints', endpoints);
        if (r.code === 0) return true;
        const m = await members(endpoints);
        return m !== undefined && done(m);
      },
      { message: args.join(' ') },
    )
    .toBe(true);
}

/** Three nodes with admin ports, a leader, and `count` keys `<prefix>-<i>` written through it (each its own value). */
async function clusterWithWrites(prefix: string, count: number): Promise<{ c: ProcessCluster; leader: string; keys: string[] }> {
  cluster = await processCluster(3, [], { http: true });
  const c = cluster;
  await c.startAll();
  const leader = await waitLeader(c);
  const keys = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const key of keys) await write(c, leader, key);
  return { c, leader, keys };
}

describe('distkv member', () => {
  it('replaces a dead node: member remove n2, server --join n4, n4 becomes a voter and has every acknowledged write', async () => {
    const { c, keys: before } = await clusterWithWrites('before', 20);

    await c.kill('n2');
    const endpoints = `127.0.0.1:${c.httpPort('n1')},127.0.0.1:${c.port('n3')}`; // an admin and a client endpoint
    await waitLeader(c, ['n1', 'n3']);
    await changeUntil(['member', 'remove', 'n2'], endpoints, (m) => !m.members.some((x) => x.id === 'n2'));
    expect(voters(await members(endpoints))).toEqual(['n1', 'n3']);

    const [peerPort, httpPort] = [await reservePort(), await reservePort()];
    const n4Dir = join(c.root, 'n4');
    mkdirSync(n4Dir, { recursive: true });
    // biome-ignore format: one flag per pair reads better
    const n4 = spawnServer(['--id', 'n4', '--port', '0', '--peer-port', String(peerPort), '--http-port', String(httpPort),
      '--data-dir', n4Dir, '--join', `127.0.0.1:${c.port('n1')},127.0.0.1:${c.httpPort('n3')}`, '--write-timeout-ms', '1500']);
    const n4Port = await n4.listening;
    expect(n4.logs()).toMatch(/added by n[13] as a learner at index \d+/);

    await expect
      .poll(async () => voters(await members(endpoints)), { message: 'n4 promoted to voter' })
      .toEqual(['n1', 'n3', 'n4']);
    const after = Array.from({ length: 20 }, (_, i) => `after-${i}`);
    for (const key of after) await write(c, 'n1', key);
    for (const key of [...before, ...after]) await expect.poll(() => get(n4Port, key), { message: `${key} on n4` }).toBe(key);

    const final = (await members(`127.0.0.1:${httpPort}`)) as MembersJson;
    expect(voters(final)).toEqual(['n1', 'n3', 'n4']);
    expect(final.members.filter((m) => m.role === 'learner')).toEqual([]);
    expect(final.members.find((m) => m.id === 'n4')?.peerAddress).toBe(`127.0.0.1:${peerPort}`);
    expect(n4.child.exitCode).toBeNull();
    expect(c.crashes()).toEqual([]);

    // The whole cluster goes down; n4 comes back first, with its --join endpoints all dead: it does not wait
    // for them (every node of a restarted cluster would wait for another), it starts from its own log.
    await kill(n4.child);
    for (const id of ['n1', 'n3']) await c.kill(id);
    // biome-ignore format: one flag per pair reads better
    const again = spawnServer(['--id', 'n4', '--port', '0', '--peer-port', String(peerPort), '--http-port', String(httpPort),
      '--data-dir', n4Dir, '--join', `127.0.0.1:${c.port('n1')},127.0.0.1:${c.httpPort('n3')}`]);
    await again.listening;
    expect(again.logs()).toMatch(/starting from the members in this node's log/);
    expect(again.logs()).toMatch(/a member by its log \(configuration index \d+\)/);
  });

  it('grows 3 → 5 by --join and shrinks 5 → 3 by member remove, one change at a time, under a write load that loses nothing', async () => {
    cluster = await processCluster(3, [], { http: true });
    const c = cluster;
    await c.startAll();
    await waitLeader(c);
    const endpoints = (): string =>
      c
        .running()
        .map((id) => `127.0.0.1:${c.httpPort(id)}`)
        .join(',');

    // The load: unique keys, one writer per node it started on, each SET acknowledged or not (never retried).
    const acknowledged: string[] = [];
    let phase = 'three';
    const perPhase = new Map<string, number>();
    let writing = true;
    const writer = async (lane: number): Promise<void> => {
      let client: Client | undefined;
      for (let i = 0; writing && i < 100_000; i++) {
        const key = `load-${lane}-${i}`;
        const at = phase;
        try {
          client ??= await Client.connect({
            port: c.port(c.running()[lane % c.running().length] as string),
            reconnect: { attemptsMax: 1 },
            timeoutMs: 3_000,
          });
          if ((await client.call('SET', key, key)) === 'OK') {
            acknowledged.push(key);
            perPhase.set(at, (perPhase.get(at) ?? 0) + 1);
          }
        } catch {
          void client?.close().catch(() => undefined);
          client = undefined;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await client?.close().catch(() => undefined);
    };
    const writers = [0, 1].map((lane) => writer(lane));
    const progressed = async (at: string): Promise<void> => {
      await expect.poll(() => perPhase.get(at) ?? 0, { message: `writes acknowledged while ${at}` }).toBeGreaterThan(20);
    };
    await progressed('three');

    for (const id of ['n4', 'n5']) {
      phase = `adding ${id}`;
      await c.addNode(id);
      await c.start(id);
      expect(c.logs(id)).toMatch(/added by n\d as a learner at index \d+/);
      await expect
        .poll(async () => voters(await members(endpoints())).includes(id), { message: `${id} promoted to voter` })
        .toBe(true);
      await progressed(phase);
    }
    expect(voters(await members(endpoints()))).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);

    // Shrink by two of the first three, the leader among them if it is one: each leaves, learns it and exits 0.
    const leader = await waitLeader(c);
    const leaving = [leader, ...['n1', 'n2', 'n3'].filter((id) => id !== leader)].slice(0, 2);
    c.expectExit = (id) => leaving.includes(id);
    for (const id of leaving) {
      phase = `removing ${id}`;
      const exited = c.exited(id);
      const rest = c.ids.filter((x) => x !== id && !leaving.slice(0, leaving.indexOf(id)).includes(x));
      const restEndpoints = rest.map((x) => `127.0.0.1:${c.httpPort(x)}`).join(',');
      await changeUntil(['member', 'remove', id], restEndpoints, (m) => !m.members.some((x) => x.id === id));
      expect(await exited).toMatchObject({ code: 0 });
      await c.retire(id);
      await progressed(phase);
    }
    const remaining = c.ids;
    expect(remaining).toHaveLength(3);
    expect(voters(await members(endpoints()))).toEqual([...remaining].sort());

    writing = false;
    await Promise.all(writers);
    // Nothing acknowledged is lost: every key, read (linearizable) from each remaining node.
    expect(acknowledged.length).toBeGreaterThan(100);
    await expect.poll(() => c.converged(remaining), { message: 'the three remaining nodes applied the same log' }).toBe(true);
    for (const id of remaining) {
      const client = await c.client(id, 10_000);
      try {
        const missing: string[] = [];
        for (let from = 0; from < acknowledged.length; from += 500) {
          const keys = acknowledged.slice(from, from + 500);
          const values = (await client.call('MGET', ...keys)) as unknown[];
          missing.push(...keys.filter((key, i) => values[i] === null || String(values[i]) !== key));
        }
        expect(missing, `acknowledged keys missing on ${id}`).toEqual([]);
      } finally {
        await client.close();
      }
    }
    expect(c.crashes()).toEqual([]);
  });

  it('server --join --learner stays a learner once caught up, until member promote makes it a voter', async () => {
    const { c, leader } = await clusterWithWrites('before', 20);
    await c.addNode('n4', { flags: ['--learner'] });
    await c.start('n4');
    expect(c.logs('n4')).toMatch(/as a learner at index \d+ \(a learner until `distkv member promote`\)/);
    const endpoints = `127.0.0.1:${c.httpPort('n1')},127.0.0.1:${c.httpPort('n2')},127.0.0.1:${c.httpPort('n3')}`;
    const n4 = async () => (await members(endpoints))?.members.find((m) => m.id === 'n4');
    // Caught up (the leader counts no entry behind), after more writes too: and still a learner.
    await write(c, leader, 'after-join');
    await expect.poll(async () => (await n4())?.lag, { message: 'n4 caught up' }).toBe(0);
    expect(await n4()).toMatchObject({ role: 'learner', autoPromote: false });
    expect(voters(await members(endpoints))).toEqual(['n1', 'n2', 'n3']);
    expect(await get(c.port('n4'), 'after-join')).toBe('after-join');

    await changeUntil(['member', 'promote', 'n4'], endpoints, (m) => voters(m).includes('n4'));
    expect(voters(await members(endpoints))).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(c.crashes()).toEqual([]);
  });

  it('member add with a peer address where no node answers fails with MEMBER_UNREACHABLE and changes nothing', async () => {
    cluster = await processCluster(3, [], { http: true });
    const c = cluster;
    await c.startAll();
    await waitLeader(c);
    const endpoints = `127.0.0.1:${c.port('n2')}`;
    const before = await members(endpoints);
    expect(before?.members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
    const nobody = await reservePort(); // reserved and closed: nothing listens there

    const r = await distkv('member', 'add', 'n4', `127.0.0.1:${nobody}`, '--endpoints', endpoints);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^distkv member add: n\d refused: MEMBER_UNREACHABLE: /);

    const table = await distkv('member', 'list', '--endpoints', endpoints);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^leader n\d, term \d+, configuration index \d+: 3 voters, 0 learners \(as http:\/\/127\.0\.0\.1:\d+ sees it\)\n/,
    );
    expect(table.stdout).toMatch(/\nID +ROLE +SELF +PEER +CLIENT +ADMIN +MATCH +LAG +LAST CONTACT\n/);
    for (const id of ['n1', 'n2', 'n3'])
      expect(table.stdout).toMatch(
        new RegExp(
          `\\n${id} +voter.* 127\\.0\\.0\\.1:${c.peerPort(id)} +127\\.0\\.0\\.1:${c.port(id)} +127\\.0\\.0\\.1:${c.httpPort(id)} `,
        ),
      );
    const promote = await distkv('member', 'promote', 'n1', '--endpoints', endpoints);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toMatch(/^distkv member promote: n\d refused: [A-Z_]+: /);

    const after = await members(endpoints);
    expect(after?.members.map((m) => ({ id: m.id, role: m.role }))).toEqual(
      before?.members.map((m) => ({ id: m.id, role: m.role })),
    );
    expect(after?.confIndex).toBe(before?.confIndex);
    // A malformed address is refused before any node is asked.
    const bad = await distkv('member', 'add', 'n4', 'nohost', '--endpoints', endpoints);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('"nohost" is not host:port');
  });

  it('a removed leader keeps serving until its removal commits, then its process exits 0 with the removal line', async () => {
    cluster = await processCluster(3, [], { http: true });
    const c = cluster;
    await c.startAll();
    const leader = await waitLeader(c);
    await write(c, leader, 'k', 'v');
    c.expectExit = (id) => id === leader;
    const exited = c.exited(leader);
    const others = c.ids.filter((id) => id !== leader);
    const endpoints = others.map((id) => `127.0.0.1:${c.httpPort(id)}`).join(',');

    const r = await distkv('member', 'remove', leader, '--endpoints', endpoints);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${leader} removed \\(index \\d+\\); voters now ${others.join(',')}\\n$`));
    expect(await exited).toMatchObject({ code: 0 });
    expect(c.logs(leader)).toMatch(new RegExp(`membership: ${leader} was removed from the cluster \\(index \\d+\\); stopping`));
    const next = await waitLeader(c, others);
    expect(others).toContain(next);
    await write(c, next, 'after-removal', 'yes');
    expect(voters(await members(endpoints))).toEqual(others);
  });

  it('a removed follower leaves the configuration, the cluster serves writes, and its process learns it and exits 0', async () => {
    cluster = await processCluster(3, [], { http: true });
    const c = cluster;
    await c.startAll();
    const leader = await waitLeader(c);
    const follower = c.ids.find((id) => id !== leader) as string;
    c.expectExit = (id) => id === follower;
    const exited = c.exited(follower);
    const others = c.ids.filter((id) => id !== follower);

    const r = await distkv('member', 'remove', follower, '--endpoints', `127.0.0.1:${c.port(leader)}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const endpoints = others.map((id) => `127.0.0.1:${c.httpPort(id)}`).join(',');
    expect(voters(await members(endpoints))).toEqual(others);
    await write(c, leader, 'after-removal', 'yes');
    const other = others.find((id) => id !== leader) as string;
    await expect.poll(() => get(c.port(other), 'after-removal'), { message: 'read on the other voter' }).toBe('yes');
    // The leader stopped sending to it, so it did not apply its removal: a member it dialed said so.
    expect(await exited).toMatchObject({ code: 0 });
    expect(c.logs(follower)).toMatch(
      new RegExp(`membership: ${follower} was removed from the cluster \\(n\\d said so\\); stopping`),
    );
    expect(c.crashes()).toEqual([]);
  });

  it('server --join refuses --peers with it, and a join to no live member exits non-zero', async () => {
    const both = await distkv(
      'server',
      '--id',
      'n4',
      '--peer-port',
      '7104',
      '--join',
      '127.0.0.1:7001',
      '--peers',
      'n1=127.0.0.1:7101',
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--join (from flag --join) and --peers (from flag --peers) are mutually exclusive');
    const [nobody, peerPort] = [await reservePort(), await reservePort()];
    const dir = mkdtempSync(join(tmpdir(), 'distkv-join-'));
    try {
      // biome-ignore format: one flag per pair reads better
      const lonely = spawnServer(['--id', 'n4', '--port', '0', '--peer-port', String(peerPort), '--data-dir', dir,
        '--join', `127.0.0.1:${nobody}`]);
      expect(await exitOf(lonely.child)).toMatchObject({ code: 1 });
      expect(lonely.logs()).toContain(`distkv server: --join 127.0.0.1:${nobody}: no node answered`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('distkv cluster add-node / remove-node', () => {
  const root = mkdtempSync(join(tmpdir(), 'distkv-cluster-members-'));
  const pids = new Set<number>();
  afterAll(() => {
    killAll(pids);
    rmSync(root, { recursive: true, force: true });
  });

  it('add-node starts n4 joined to the cluster up cluster; remove-node removes it and stops its process', async () => {
    const base = await freeBasePort(4);
    const dataDir = join(root, 'data');
    const up = await startClusterUp(base, dataDir, pids);
    const local = ['--base-port', String(base), '--data-dir', dataDir];
    const endpoints = `127.0.0.1:${base}`;
    await expect.poll(async () => (await members(endpoints))?.leader ?? null, { message: 'a leader' }).not.toBeNull();

    const added = await distkv('cluster', 'add-node', ...local, '--json');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const n4 = JSON.parse(added.stdout) as { id: string; pid: number; client: number };
    pids.add(n4.pid);
    expect(n4).toMatchObject({ id: 'n4', client: base + 3 });
    await expect
      .poll(async () => voters(await members(endpoints)), { message: 'n4 promoted to voter' })
      .toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(await get(n4.client, 'missing')).toBeNull();

    // cluster up's SIGTERM stops n4 too (not its child), and cluster up run again starts it again, as a member.
    if (up.child.pid !== undefined) process.kill(up.child.pid, 'SIGTERM');
    expect(await exitOf(up.child)).toMatchObject({ code: 0 });
    expect(up.output()).toContain(`distkv cluster: stopping n4 (pid ${n4.pid}, started by distkv cluster add-node)`);
    await expect.poll(() => alive(n4.pid), { message: 'n4 stopped with the cluster' }).toBe(false);
    const again = await startClusterUp(base, dataDir, pids);
    expect(again.nodePids).toHaveLength(4);
    expect(again.output()).toContain('4 nodes (1 added by cluster add-node)');
    expect(again.output()).toMatch(/listening on 127\.0\.0\.1:\d+ .*a member by its log/);
    await expect
      .poll(async () => voters(await members(endpoints)), { message: 'n1-n4 voters after the restart' })
      .toEqual(['n1', 'n2', 'n3', 'n4']);

    const removed = await distkv('cluster', 'remove-node', 'n4', ...local);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(
      /^n4 removed \(index \d+\); voters now n1,n2,n3; its process \(pid \d+\) (exited|was stopped)/,
    );
    expect(alive(again.nodePids[3] as number)).toBe(false);
    expect(voters(await members(endpoints))).toEqual(['n1', 'n2', 'n3']);
    expect(again.nodePids.slice(0, 3).every(alive)).toBe(true);

    // One of cluster up's own nodes: removed, stopped, and not started again by the next cluster up.
    const gone = await distkv('cluster', 'remove-node', 'n3', ...local);
    expect(gone.stderr).toBe('');
    expect(gone.code).toBe(0);
    expect(gone.stdout).toMatch(/^n3 removed \(index \d+\); voters now n1,n2; its process/);
    expect(alive(again.nodePids[2] as number)).toBe(false);
    if (again.child.pid !== undefined) process.kill(again.child.pid, 'SIGTERM');
    expect(await exitOf(again.child)).toMatchObject({ code: 0 });
    const third = await startClusterUp(base, dataDir, pids);
    expect(third.output()).toContain('distkv cluster: n3 was removed from the cluster (distkv cluster remove-node): not started');
    expect(third.nodePids).toHaveLength(2);
    await expect
      .poll(async () => voters(await members(endpoints)), { message: 'n1,n2 voters after the second restart' })
      .toEqual(['n1', 'n2']);
    if (third.child.pid !== undefined) process.kill(third.child.pid, 'SIGTERM');
    expect(await exitOf(third.child)).toMatchObject({ code: 0 });
  });
});

describe('membership and backups with --user set', () => {
  it('changes need a read-write user (--auth), a backup any user; without credentials they are refused, nothing changes', async () => {
    const pw = 'opsops-secret-123';
    // Two --user flags: each adds users (the second once replaced the first).
    cluster = await processCluster(3, ['--user', `ops:rw:${pw}`, '--user', `viewer:ro:${pw}`], { http: true });
    const c = cluster;
    await c.startAll();
    const admin = c.ids.map((id) => `127.0.0.1:${c.httpPort(id)}`).join(',');
    // GET /v1/members on loopback needs no credentials (as /status): wait for a leader there.
    await expect.poll(async () => (await members(admin))?.leader ?? null, { message: 'a leader' }).not.toBeNull();
    const open = await distkv('member', 'remove', 'n3', '--endpoints', admin);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/refused: NOAUTH: authentication required/);
    const readOnly = await distkv('member', 'remove', 'n3', '--endpoints', admin, '--auth', `viewer:${pw}`);
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/refused: NOPERM/);
    expect(voters(await members(admin))).toEqual(['n1', 'n2', 'n3']);
    const root = mkdtempSync(join(tmpdir(), 'distkv-auth-'));
    try {
      const file = join(root, 'backup.snap');
      const noBackup = await distkv('snapshot', 'save', file, '--endpoints', admin);
      expect(noBackup.stderr).toMatch(/NOAUTH/);
      const backup = await distkv('snapshot', 'save', file, '--endpoints', admin, '--auth', `viewer:${pw}`);
      expect(backup.stderr).toBe('');
      expect(backup.code).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    c.expectExit = (id) => id === 'n3';
    // A read-write user may (sent again if it timed out on a loaded machine: it may have committed anyway).
    await changeUntil(['member', 'remove', 'n3', '--auth', `ops:${pw}`], admin, (m) => !m.members.some((x) => x.id === 'n3'));
    await expect.poll(async () => voters(await members(admin)), { message: 'n3 removed' }).toEqual(['n1', 'n2']);
  });
});

describe('distkv snapshot', () => {
  it('saves a live follower, checks the file, and restores it as a new three-node cluster that has every write', async () => {
    const { c, leader, keys } = await clusterWithWrites('saved', 30);
    const follower = c.ids.find((id) => id !== leader) as string;
    await expect.poll(() => get(c.port(follower), 'saved-29'), { message: 'the follower applied the writes' }).toBe('saved-29');

    const root = mkdtempSync(join(tmpdir(), 'distkv-snapshot-'));
    try {
      const file = join(root, 'backup.snap');
      const saved = await distkv('snapshot', 'save', file, '--endpoints', `127.0.0.1:${c.httpPort(follower)}`);
      expect(saved.stderr).toBe('');
      expect(saved.code).toBe(0);
      expect(saved.stdout).toMatch(
        /^saved the snapshot at index \d+ \(term \d+, \d+ bytes, sha256 [0-9a-f]{64}\) of http:\/\/127\.0\.0\.1:\d+ to /,
      );
      const status = await distkv('snapshot', 'status', file, '--json');
      expect(status.code).toBe(0);
      const meta = JSON.parse(status.stdout) as { index: number; term: number; voters: string };
      expect(meta.index).toBeGreaterThanOrEqual(keys.length);
      expect(meta.voters.split(',').sort()).toEqual(['n1', 'n2', 'n3']);

      // A new cluster, m1..m3, on ports of its own: every node restored from the one file, then started.
      const ids = ['m1', 'm2', 'm3'];
      const peerPorts = new Map<string, number>();
      for (const id of ids) peerPorts.set(id, await reservePort());
      const peersOf = (id: string): string =>
        ids
          .filter((p) => p !== id)
          .map((p) => `${p}=127.0.0.1:${peerPorts.get(p)}`)
          .join(',');
      for (const id of ids) {
        const r = await distkv('snapshot', 'restore', file, '--data-dir', join(root, id), '--id', id, '--peers', peersOf(id));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`as ${id}, one of the voters ${id},`);
      }
      // Restoring into a directory that holds data is refused, naming the safe procedure.
      const again = await distkv(
        'snapshot',
        'restore',
        file,
        '--data-dir',
        join(root, 'm1'),
        '--id',
        'm1',
        '--peers',
        peersOf('m1'),
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/DATA_DIR_NOT_EMPTY.*distkv member remove/);
      // A file with one byte flipped is refused by its checksum.
      const broken = join(root, 'broken.snap');
      const bytes = readFileSync(file);
      bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 1;
      writeFileSync(broken, bytes);
      expect((await distkv('snapshot', 'status', broken)).stderr).toMatch(/checksum mismatch/);

      const servers = ids.map((id) =>
        // biome-ignore format: one flag per pair reads better
        spawnServer(['--id', id, '--port', '0', '--peer-port', String(peerPorts.get(id)), '--peers', peersOf(id),
          '--data-dir', join(root, id)]),
      );
      const ports = await Promise.all(servers.map((s) => s.listening));
      for (const key of keys)
        await expect.poll(() => get(ports[0] as number, key), { message: `${key} in the restored cluster` }).toBe(key);
      for (const s of servers) await kill(s.child);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
