// Goal: the `distkv` binary works as a user runs it: through a node_modules/.bin symlink, `server`, `client -c`, the REPL with piped input, a clear refused-connection error, and signals. Method: real child processes on 127.0.0.1, port 0.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { formatReply, parseAddress, splitCommandLine } from '@distkv/cli';
import { RespErrorReply } from '@distkv/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, kill, linkedBinary, packageDir, run, startServer } from './helpers.js';

const { bin, root } = linkedBinary();
let server: ChildProcess;
let port: number;
let linePort: number;
beforeAll(async () => {
  let line: number | undefined;
  ({ child: server, port, linePort: line } = await startServer(bin, ['--in-memory', '--line-port', '0']));
  linePort = line as number;
}, 90_000);
afterAll(async () => {
  await kill(server);
  rmSync(root, { recursive: true, force: true });
});

describe('distkv --version', () => {
  it("prints the package's version from package.json", async () => {
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
    expect(await run(bin, ['--version'])).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });
});

describe('distkv client', () => {
  it('runs one command with -c and prints the reply', async () => {
    expect(await run(bin, ['client', `127.0.0.1:${port}`, '-c', 'SET hello "big world"'])).toMatchObject({
      code: 0,
      stdout: 'OK\n',
    });
    expect(await run(bin, ['client', `127.0.0.1:${port}`, '-c', 'GET hello'])).toMatchObject({ code: 0, stdout: 'big world\n' });
    expect(await run(bin, ['client', `127.0.0.1:${port}`, '-c', 'INCR hello'])).toMatchObject({
      code: 1,
      stdout: '(error) ERR value is not an integer or out of range\n',
    });
  });

  it("replays the seed's kvstore_client session over the line protocol, on --line-port", async () => {
    const input = 'PUT hello world\nGET hello\nDEL hello\nGET hello\nQUIT\n';
    const result = await run(bin, ['client', `127.0.0.1:${linePort}`, '--line'], { input });
    expect(result.stdout).toBe('> OK\n> world\n> OK\n> NOT_FOUND\n> ');
    expect(result.code).toBe(0);
  });

  it('serves Redis inline commands on --port and the line protocol on --line-port, as nc would send them', async () => {
    const exchange = (to: number, data: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect({ port: to, host: '127.0.0.1' }, () => socket.end(data));
        let received = '';
        socket.on('data', (d: Buffer) => {
          received += d.toString('latin1');
        });
        socket.once('error', reject);
        socket.once('close', () => resolve(received));
      });
    expect(await exchange(port, 'PING\r\n\r\nSET nc "a b"\r\nGET nc\r\nPUT nc x\r\n')).toBe(
      "+PONG\r\n+OK\r\n$3\r\na b\r\n-ERR unknown command 'PUT', with args beginning with: 'nc' 'x' \r\n",
    );
    expect(await exchange(linePort, 'GET nc\nPUT nc c d\nGET nc\nDEL nc\nGET nc\nNOPE\n')).toBe(
      'a b\nOK\nc d\nOK\nNOT_FOUND\nERROR UNKNOWN COMMAND\n',
    );
  });

  it('reads commands from a pipe, with help', async () => {
    const result = await run(bin, ['client', `127.0.0.1:${port}`], { input: 'MSET a 1 b 2\nMGET a b nope\nhelp\nDBSIZE\n' });
    // A single node has no id: the prompt is its address, as redis-cli's.
    const p = `127.0.0.1:${port}> `;
    expect(result.stdout).toContain(`${p}OK\n${p}1) 1\n2) 2\n3) (nil)\n${p}Type a command`);
    expect(result.stdout).toMatch(/> \(integer\) \d+\n127\.0\.0\.1:\d+> $/);
  });

  it('prints replies as JSON with --json, one value per line, errors as {"error"} and exit 1', async () => {
    const input = 'MSET j1 "a b" j2 7\nMGET j1 j2 nope\nINCR j2\nINCR j1\n';
    const result = await run(bin, ['client', `127.0.0.1:${port}`, '--json'], { input });
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(['OK', ['a b', '7', null], 8, { error: 'ERR value is not an integer or out of range' }]);
    expect(result.code).toBe(1);
    expect(await run(bin, ['client', `127.0.0.1:${port}`, '--json', '-c', 'GET j1'])).toMatchObject({
      code: 0,
      stdout: '"a b"\n',
    });
  });

  it('says clearly that the connection was refused', async () => {
    const result = await run(bin, ['client', '127.0.0.1:1', '-c', 'PING']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('Could not connect to distkv at 127.0.0.1:1: connection refused. Is `distkv server` running?\n');
  });
});

describe('distkv server signals', () => {
  it('exits 0 on SIGTERM; a second signal exits at once while a shutdown is stuck', async () => {
    const quiet = await startServer(bin, ['--in-memory']);
    await kill(quiet.child, 'SIGTERM');
    expect({ code: quiet.child.exitCode, logs: quiet.logs() }).toMatchObject({ code: 0 });
    expect(quiet.logs()).toContain('SIGTERM: finishing in-flight requests');

    // A client that never reads keeps the graceful shutdown waiting; the second signal does not wait.
    const stuck = await startServer(bin, ['--in-memory']);
    const { connect } = await import('node:net');
    const socket = connect({ port: stuck.port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${8 * 1024 * 1024}\r\n${'x'.repeat(8 * 1024 * 1024)}\r\n`);
    for (let i = 0; i < 20; i++) socket.write('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exited = exitOf(stuck.child);
    stuck.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    stuck.child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 143, signal: null });
    socket.destroy();
  });
});

describe('helpers', () => {
  it('parses addresses', () => {
    expect(parseAddress('10.0.0.1:7000')).toEqual({ host: '10.0.0.1', port: 7000 });
    expect(parseAddress('7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(parseAddress('localhost')).toEqual({ host: 'localhost', port: 6380 });
    expect(parseAddress(undefined)).toEqual({ host: '127.0.0.1', port: 6380 });
  });

  it('splits command lines with quotes', () => {
    expect(splitCommandLine('SET k "a b\\"c" \'d e\'')).toEqual(['SET', 'k', 'a b"c', 'd e']);
    expect(splitCommandLine('GET "open')).toBeUndefined();
  });

  it('formats replies like the seed client for text and like redis-cli otherwise', () => {
    expect(formatReply(Buffer.from('world'))).toBe('world');
    expect(formatReply(null)).toBe('(nil)');
    expect(formatReply(3)).toBe('(integer) 3');
    expect(formatReply(new RespErrorReply('ERR x'))).toBe('(error) ERR x');
    expect(formatReply([Buffer.from('0'), [Buffer.from('a')]])).toBe('1) 0\n2) 1) a');
    expect(formatReply([])).toBe('(empty array)');
  });

  it('keeps REPL history in DISTKV_HISTORY_FILE (interactive sessions only)', () => {
    const path = join(root, 'history');
    expect(() => readFileSync(path)).toThrow(); // piped sessions above wrote nothing
  });
});
