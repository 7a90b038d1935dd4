// Goal: `distkv server` takes its settings from flags > environment (DISTKV_*) > a JSON config file > defaults, validated with zod, and every bad value is reported with the source it came from.
// Method: resolveServerConfig on hand-made sources for the rules; real `distkv server` processes for the precedence end to end (a port only the winning source makes usable) and for the exit code and message.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, envName, flagName, resolveServerConfig } from '@distkv/cli';
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
      'environment DISTKV_TICK_MS: must be an integer from 1 to 2147483647 (got "fast")',
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
