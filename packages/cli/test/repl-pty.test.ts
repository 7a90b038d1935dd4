// Goal: `distkv client` is usable in a real terminal, in both protocols: the
// prompt it names (`127.0.0.1:<port>> `, `> ` for the line protocol), the
// typed line echoed, Tab completing command names, history across runs
// (the up arrow recalls a line typed in an earlier run, from the history
// file), and Ctrl-D ending the line before it exits. Method: script(1)
// gives the client a real pseudo-terminal (a pipe shows none of this) and
// the test types as a person would, one key at a time.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hasScript, plain, startPty } from '@distkv/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kill, linkedBinary, startServer } from './helpers.js';

const { bin, root } = linkedBinary();
const history = join(root, 'history');
const env = { ...process.env, DISTKV_HISTORY_FILE: history };
let server: ChildProcess;
let port: number;
let linePort: number;
const pause = (ms = 100): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  let line: number | undefined;
  ({ child: server, port, linePort: line } = await startServer(bin, ['--in-memory', '--line-port', '0']));
  linePort = line as number;
}, 90_000);
afterAll(async () => {
  await kill(server);
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!hasScript && process.env.CI !== 'true')('distkv client in a terminal', () => {
  it('RESP: prompts with the address, echoes, completes, keeps history across runs', { timeout: 90_000 }, async () => {
    const prompt = `127.0.0.1:${port}> `;
    const first = startPty(`${bin} client 127.0.0.1:${port}`, { cwd: root, env });
    try {
      await first.waitFor(new RegExp(`^${prompt}$`));
      let from = first.output().length;
      first.keys('SET hello "big world"\r');
      await first.waitFor(new RegExp(`^SET hello "big world"\\nOK\\n${prompt}$`), from);
      from = first.output().length;
      first.keys('IN');
      await first.waitFor(/IN$/, from);
      first.keys('\t');
      await pause();
      first.keys('\t'); // INCR, INCRBY, INCRBYFLOAT, INFO: a second Tab lists them
      await first.waitFor(/INCR\s+INCRBY\s+INCRBYFLOAT\s+INFO/, from);
      await pause();
      first.keys('\x15'); // Ctrl-U clears the line
      await pause();
      first.keys('\x04'); // Ctrl-D at an empty prompt: leave
      expect(await first.exited).toBe(0);
      // The prompt's line was ended, so the shell's prompt would start on a line of its own.
      expect(plain(first.output())).toMatch(new RegExp(`${prompt}\\n$`));
    } finally {
      first.child.kill('SIGKILL');
    }
    expect(readFileSync(history, 'utf8')).toContain('SET hello "big world"\n');

    const second = startPty(`${bin} client 127.0.0.1:${port}`, { cwd: root, env });
    try {
      await second.waitFor(new RegExp(`^${prompt}$`));
      const from = second.output().length;
      second.keys('\x1b[A'); // up: the line typed in the first run
      await second.waitFor(/SET hello "big world"$/, from);
      await pause();
      second.keys('\x15DBS');
      await second.waitFor(/DBS$/, from);
      second.keys('\t'); // one command starts so: Tab completes it
      await second.waitFor(/DBSIZE$/, from);
      second.keys('\r');
      await second.waitFor(new RegExp(`DBSIZE\\n\\(integer\\) 1\\n${prompt}$`), from);
      second.keys('QUIT\r');
      expect(await second.exited).toBe(0);
    } finally {
      second.child.kill('SIGKILL');
    }
  });

  it('line protocol: the seed session with a `> ` prompt', { timeout: 60_000 }, async () => {
    const pty = startPty(`${bin} client 127.0.0.1:${linePort} --line`, { cwd: root, env });
    try {
      await pty.waitFor(/^> $/);
      const from = pty.output().length;
      pty.keys('PUT greeting hello world\r');
      await pty.waitFor(/^PUT greeting hello world\nOK\n> $/, from);
      pty.keys('GET greeting\r');
      await pty.waitFor(/GET greeting\nhello world\n> $/, from);
      pty.keys('QUIT\r');
      expect(await pty.exited).toBe(0);
    } finally {
      pty.child.kill('SIGKILL');
    }
  });
});
