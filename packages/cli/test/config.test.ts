// Goal: `distkv server` takes its settings from flags > environment (DISTKV_*) > a JSON config file > defaults, validated with zod, and every bad value is reported with the source it came from.
// Method: resolveServerConfig on hand-made sources for the rules; real `distkv server` processes for the precedence end to end (a port only the winning source makes usable) and for the exit code and message.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, effectiveTiming, envName, flagName, resolveServerConfig } from '@distkv/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { kill, linkedBinary, run } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'distkv-config-'));
const { bin, root } = linkedBinary();
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function problems(sources: Parameters<typeof resolveServerConfig>[0]): string[] {
  try {
    resolveServerConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration precedence: flags > env > file > defaults', () => {
  it('names flags and variables from the setting', () => {
    expect(flagName('dataDir')).toBe('--data-dir');
    expect(envName('fsyncIntervalMs')).toBe('DISTKV_FSYNC_INTERVAL_MS');
  });

  it('takes each setting from the strongest source that has it', () => {
    const path = file('all.json', { port: 7001, bind: '127.0.0.2', dataDir: '/from/file', maxClients: 5 });
    const { config, origin } = resolveServerConfig({
      flags: { port: '7003' },
      env: { DISTKV_PORT: '7002', DISTKV_DATA_DIR: '/from/env', DISTKV_IN_MEMORY: 'true', PATH: '/bin' },
      file: path,
    });
    expect(config).toMatchObject({
      port: 7003, // flag over env over file
      dataDir: '/from/env', // env over file
      bind: '127.0.0.2', // file over default
      maxClients: 5,
      inMemory: true,
      fsync: 'always', // default
    });
    expect(origin).toMatchObject({
      port: 'flag --port',
      dataDir: 'environment DISTKV_DATA_DIR',
      bind: `config file ${path}: bind`,
      fsync: 'default',
    });
  });

  it('reports every bad value with its source', () => {
    const path = file('bad.json', { port: 'seven', prot: 1, fsync: 'sometimes' });
    const found = problems({ flags: { maxClients: '0' }, env: { DISTKV_TICK_MS: 'fast', DISTKV_NOPE: '1' }, file: path });
    expect(found).toEqual([
      `config file ${path}: port: must be an integer from 0 to 65535 (got "seven")`,
      expect.stringContaining(`config file ${path}: unknown setting "prot"`),
      `config file ${path}: fsync: must be one of always, interval, none (got "sometimes")`,
      'environment DISTKV_TICK_MS: must be an integer from 1 to 60000 (got "fast")',
      expect.stringContaining('environment DISTKV_NOPE: not a distkv setting'),
      'flag --max-clients: must be an integer from 1 to 2147483647 (got 0)',
    ]);
  });

  it('checks rules between settings, naming where each came from', () => {
    expect(problems({ flags: { peers: 'n2=127.0.0.1:7102' }, env: { DISTKV_FSYNC: 'none' } })).toEqual([
      '--peers (from flag --peers) needs --id (this node)',
      '--peers (from flag --peers) needs --peer-port',
      "--fsync (from environment DISTKV_FSYNC): none applies to a single node only; a replica's Raft log always fsyncs",
    ]);
    // --peers none: a one-voter cluster, no peer port needed, and --fsync may be relaxed as for a single server.
    const { config: alone } = resolveServerConfig({ flags: { peers: 'none', id: 'n1', fsync: 'none' }, env: {} });
    expect(alone).toMatchObject({ id: 'n1', fsync: 'none' });
    expect(alone.peers?.size).toBe(0);
    expect(problems({ flags: { peers: 'none' }, env: {} })).toEqual(['--peers (from flag --peers) needs --id (this node)']);
    expect(problems({ flags: { peers: 'n2=nohost' }, env: {} })).toEqual([
      'flag --peers: "n2=nohost" is not id=host:port (got "n2=nohost")',
    ]);
    // Leader, election and read mode together: @distkv/election's electionConfig decides, the CLI names the source.
    const replica = { peers: 'n2=127.0.0.1:7102', id: 'n1', peerPort: '7101' };
    expect(problems({ flags: { ...replica, leader: 'n1' }, env: { DISTKV_READ_MODE: 'lease' } })).toEqual([
      '--read-mode (from environment DISTKV_READ_MODE): lease reads need check-quorum, which needs elections',
    ]);
    expect(problems({ flags: { ...replica, election: 'bully', readMode: 'lease' }, env: {} })).toEqual([
      '--read-mode (from flag --read-mode): lease reads are not safe under bully: nothing stops a higher node from taking over',
    ]);
    expect(resolveServerConfig({ flags: { ...replica, readMode: 'lease' }, env: {} }).config.readMode).toBe('lease');
    expect(problems({ flags: {}, env: {}, file: file('array.json', [1]) })[0]).toContain('must hold a JSON object');
    expect(problems({ flags: {}, env: {}, file: file('broken.json', '{"port": ') })[0]).toContain(
      `config file ${join(dir, 'broken.json')}:`,
    );
  });
});

describe('--line-port (issue 20)', () => {
  it('is off by default, takes a port, and refuses one the client, peer or admin port already uses', () => {
    expect(resolveServerConfig({ flags: {}, env: {} }).config.linePort).toBeUndefined();
    expect(resolveServerConfig({ flags: { linePort: '12345' }, env: {} }).config.linePort).toBe(12345);
    expect(resolveServerConfig({ flags: { linePort: '0' }, env: {} }).config.linePort).toBe(0);
    expect(problems({ flags: { linePort: '6380' }, env: {} })).toEqual([
      '--line-port (from flag --line-port) is also --port (from default): the line protocol needs a port of its own',
    ]);
    const replica = { peers: 'n2=127.0.0.1:7102', id: 'n1', peerPort: '7101', httpPort: '7201' };
    expect(problems({ flags: { ...replica }, env: { DISTKV_LINE_PORT: '7201' } })).toEqual([
      '--line-port (from environment DISTKV_LINE_PORT) is also --http-port (from flag --http-port): the line protocol needs a port of its own',
    ]);
    expect(problems({ flags: { linePort: '70000' }, env: {} })[0]).toMatch(/^flag --line-port: /);
  });
});

describe('election timing and the catch-up tail (issue 17)', () => {
  const replica = { peers: 'n2=127.0.0.1:7102,n3=127.0.0.1:7103', id: 'n1', peerPort: '7101' };

  it('picks loopback timing when this node and every peer are on loopback, lan otherwise, and a flag overrides a value', () => {
    const timing = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
      effectiveTiming(resolveServerConfig({ flags, env }).config);
    expect(timing(replica)).toEqual({ preset: 'loopback', tickMs: 10, heartbeatTicks: 3, electionTicks: 15 });
    const lan = { preset: 'lan', tickMs: 100, heartbeatTicks: 1, electionTicks: 20 };
    expect(timing({ ...replica, peers: 'n2=10.0.0.2:7102,n3=127.0.0.1:7103' })).toEqual(lan);
    expect(timing({ ...replica, bind: '0.0.0.0', unsafeNoAuth: true })).toEqual(lan);
    expect(timing({ ...replica, timing: 'lan' })).toEqual(lan);
    expect(timing({ ...replica, peers: 'n2=10.0.0.2:7102', timing: 'loopback' }).preset).toBe('loopback');
    expect(timing({ ...replica, tickMs: '50', electionTicks: '12' }, { DISTKV_TIMING: 'lan' })).toEqual({
      preset: 'lan',
      tickMs: 50,
      heartbeatTicks: 1,
      electionTicks: 12,
    });
  });

  it('refuses timing flags that cannot work, naming the flag and its source', () => {
    expect(problems({ flags: { ...replica, timing: 'wan' }, env: {} })).toEqual([
      'flag --timing: must be one of auto, lan, loopback (got "wan")',
    ]);
    expect(problems({ flags: { ...replica, tickMs: '0' }, env: {} })).toEqual([
      'flag --tick-ms: must be an integer from 1 to 60000 (got 0)',
    ]);
    expect(problems({ flags: { ...replica, heartbeatTicks: '5', electionTicks: '5' }, env: {} })).toEqual([
      '--election-ticks (from flag --election-ticks): the election timeout (5 ticks) must exceed the heartbeat interval (5 ticks, --heartbeat-ticks (from flag --heartbeat-ticks)), or followers campaign between heartbeats',
    ]);
    // With the loopback preset's 3-tick heartbeat, an election timeout of 3 ticks given alone is refused too.
    expect(problems({ flags: { ...replica }, env: { DISTKV_ELECTION_TICKS: '3' } })[0]).toContain(
      '--election-ticks (from environment DISTKV_ELECTION_TICKS): the election timeout (3 ticks) must exceed the heartbeat interval (3 ticks',
    );
    expect(problems({ flags: { ...replica, leader: 'n1', electionTicks: '30' }, env: {} })).toEqual([
      '--election-ticks (from flag --election-ticks): election timing does not apply to a fixed leader (--leader); use --tick-ms',
    ]);
    expect(problems({ flags: { tickMs: '20' }, env: {} })).toEqual([
      '--tick-ms (from flag --tick-ms) needs --peers or --join (a replicated node)',
    ]);
  });

  it('takes --join (client or admin endpoints) instead of --peers, with the rules of a replica', () => {
    const join = { join: '127.0.0.1:7001, 127.0.0.1:7202', id: 'n4', peerPort: '7104' };
    const { config } = resolveServerConfig({ flags: join, env: { DISTKV_ADVERTISE_PEER: '10.0.0.4:7104' } });
    expect(config).toMatchObject({
      id: 'n4',
      peerPort: 7104,
      advertisePeer: '10.0.0.4:7104',
      join: [
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7202 },
      ],
    });
    expect(config.peers).toBeUndefined();
    expect(effectiveTiming(config).preset).toBe('loopback'); // the hosts it joins through stand for its peers
    expect(problems({ flags: { ...join, peers: 'n1=127.0.0.1:7101' }, env: {} })).toEqual([
      '--join (from flag --join) and --peers (from flag --peers) are mutually exclusive: --peers seeds a new cluster, --join joins a running one',
    ]);
    expect(problems({ flags: { peers: 'n2=127.0.0.1:7102', id: 'n1', peerPort: '7101', learner: true }, env: {} })).toEqual([
      '--learner (from flag --learner) needs --join: a node that seeds a cluster with --peers is a voter',
    ]);
    expect(problems({ flags: { join: '127.0.0.1:7001' }, env: { DISTKV_FSYNC: 'none' } })).toEqual([
      '--join (from flag --join) needs --id (this node)',
      '--join (from flag --join) needs --peer-port',
      "--fsync (from environment DISTKV_FSYNC): none applies to a single node only; a replica's Raft log always fsyncs",
    ]);
    expect(problems({ flags: { ...join, leader: 'n1', election: 'bully' }, env: {} })).toEqual([
      '--leader (from flag --leader): a joining node needs elections, not a fixed leader',
      '--election (from flag --election): membership changes need raft elections',
    ]);
    expect(problems({ flags: { ...join, bind: '0.0.0.0', unsafeNoAuth: true }, env: {} })).toEqual([
      '--join (from flag --join) with --bind 0.0.0.0 needs --advertise-peer: nobody can dial a wildcard address',
    ]);
    expect(problems({ flags: { ...join, join: '127.0.0.1' }, env: {} })).toEqual([
      'flag --join: "127.0.0.1" is not host:port (a client or admin endpoint of a member) (got "127.0.0.1")',
    ]);
    expect(problems({ flags: { advertisePeer: '127.0.0.1:7104' }, env: {} })).toEqual([
      '--advertise-peer (from flag --advertise-peer) needs --peers or --join (a replicated node)',
    ]);
    expect(problems({ flags: { ...join, advertisePeer: 'nohost' }, env: {} })).toEqual([
      'flag --advertise-peer: "nohost" is not host:port (got "nohost")',
    ]);
  });

  it('parses --snapshot-catch-up-entries and --snapshot-catch-up-bytes (0 turns the tail off) and refuses a bad value', () => {
    const { config } = resolveServerConfig({
      flags: { ...replica, snapshotCatchUpEntries: '0' },
      env: { DISTKV_SNAPSHOT_CATCH_UP_BYTES: '1048576' },
    });
    expect(config).toMatchObject({ snapshotCatchUpEntries: 0, snapshotCatchUpBytes: 1_048_576 });
    expect(problems({ flags: { ...replica, snapshotCatchUpEntries: '-1', snapshotCatchUpBytes: '1MiB' }, env: {} })).toEqual([
      'flag --snapshot-catch-up-entries: must be an integer from 0 to 10000000 (got -1)',
      'flag --snapshot-catch-up-bytes: must be an integer from 0 to 4503599627370496 (got "1MiB")',
    ]);
    expect(problems({ flags: { snapshotCatchUpEntries: '10' }, env: {} })).toEqual([
      '--snapshot-catch-up-entries (from flag --snapshot-catch-up-entries) needs --peers or --join (a replicated node)',
    ]);
  });
});

/** `distkv server <args>` with `env`; resolves with the port of its listening line, or rejects with its output. */
function listen(args: string[], env: NodeJS.ProcessEnv): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(bin, ['server', ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on [^\s]+:(\d+)/.exec(out);
      if (match !== null) resolve({ port: Number(match[1]), stop: () => kill(child, 'SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('distkv server with a config file and DISTKV_*', () => {
  it('env beats the file and a flag beats env (a port held by the test fails whoever chose it)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const held = (taken.address() as AddressInfo).port;
    try {
      const path = file('server.json', { port: held, inMemory: true });
      await expect(listen(['--config', path], {})).rejects.toThrow(/EADDRINUSE/);
      const envWins = await listen(['--config', path], { DISTKV_PORT: '0' });
      expect(envWins.port).not.toBe(held);
      await envWins.stop();
      const flagWins = await listen(['--config', path, '--port', '0'], { DISTKV_PORT: String(held) });
      expect(flagWins.port).not.toBe(held);
      await flagWins.stop();
    } finally {
      taken.close();
    }
  });

  it('exits 2 with every bad value and its source', async () => {
    const path = file('quiet.json', { inMemory: true, quiet: 'yes' });
    const bad = await run(bin, ['server', '--config', path, '--port', 'zero'], { env: { DISTKV_FSYNC: 'sometimes' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      [
        'distkv server: invalid configuration:',
        `  config file ${path}: quiet: must be true or false (got "yes")`,
        '  environment DISTKV_FSYNC: must be one of always, interval, none (got "sometimes")',
        '  flag --port: must be an integer from 0 to 65535 (got "zero")',
        '',
      ].join('\n'),
    );
  });
});
