// Goal: chapter 2's examples/repl.ts is usable in a real terminal: a `> `
// prompt, the typed line echoed, Tab completing a command name, the up
// arrow recalling the last line. Method: run it through script(1), a real
// pseudo-terminal (a pipe would show none of it), type as a person would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasScript, startPty } from '@distkv/core/testing';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'distkv-wal-repl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasScript && process.env.CI !== 'true')('the WAL REPL in a terminal', () => {
  it('prompts, echoes, completes command names and recalls history', { timeout: 60_000 }, async () => {
    const pty = startPty(`node --no-warnings --loader ts-node/esm examples/repl.ts ${dir}`, { cwd: packageDir });
    try {
      await pty.waitFor(/distkv wal repl: data in .*\n> $/);
      let from = pty.output().length;
      pty.keys('PUT greeting hello world\r');
      // The line typed is on the screen after the prompt (echo), then the answer and a new prompt.
      await pty.waitFor(/^PUT greeting hello world\nOK\n> $/, from);
      from = pty.output().length;
      pty.keys('GE');
      await pty.waitFor(/GE$/, from);
      pty.keys('\t'); // one match: Tab completes it
      await pty.waitFor(/GET$/, from);
      pty.keys(' greeting\r');
      await pty.waitFor(/GET greeting\nhello world\n> $/, from);
      from = pty.output().length;
      pty.keys('\x1b[A'); // up: the last line comes back
      await pty.waitFor(/GET greeting$/, from);
      pty.keys('\r');
      await pty.waitFor(/GET greeting\nhello world\n> $/, from);
      from = pty.output().length;
      // Keys go one at a time, as typed: readline takes a Tab that arrives with other keys as a pasted tab.
      pty.keys('S');
      await pty.waitFor(/S$/, from);
      pty.keys('\t');
      await new Promise((resolve) => setTimeout(resolve, 100));
      pty.keys('\t'); // several matches: a second Tab lists them
      await pty.waitFor(/SIZE\s+SNAP\s+SETBATCH/, from);
      await new Promise((resolve) => setTimeout(resolve, 100));
      pty.keys('\x15'); // Ctrl-U clears the line
      await new Promise((resolve) => setTimeout(resolve, 100));
      pty.keys('EXIT\r');
      expect(await pty.exited).toBe(0);
    } finally {
      pty.child.kill('SIGKILL');
    }
  });
});
