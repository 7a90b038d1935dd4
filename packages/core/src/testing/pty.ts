// A program in a real pseudo-terminal, made by script(1) (util-linux), so
// that it sees a TTY the way it does for a person typing: readline's
// prompt, echo, history and completion only exist then, and a pipe shows
// none of them. The REPL tests of wal (chapter 2's example) and cli
// (`distkv client`) use it. (The doc-test runner's scripts/pty.mjs does the
// same for the chapters' blocks; packages may not import from scripts/.)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

export const hasScript = spawnSync('/bin/sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;

/** What the terminal shows, roughly: escape sequences dropped, line ends normalised. */
export function plain(raw: string): string {
  return raw
    .replace(/\x1b\[[0-9;?]*[@-~]/g, '')
    .replace(/\r+\n/g, '\n')
    .replace(/[^\n]*\r/g, '');
}

export interface Pty {
  child: ChildProcess;
  /** Everything written to the terminal so far. */
  output(): string;
  /** Sends raw keys (`\t`, `\x1b[A` for up, `\r` for Enter). */
  keys(text: string): void;
  /** Resolves when plain(output) after `from` matches; rejects after ms. */
  waitFor(pattern: RegExp, from?: number, ms?: number): Promise<void>;
  exited: Promise<number | null>;
}

export function startPty(command: string, options: { cwd: string; env?: NodeJS.ProcessEnv }): Pty {
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    cwd: options.cwd,
    env: { ...(options.env ?? process.env), SHELL: '/bin/bash', TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    raw += d.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    output: () => raw,
    keys: (text) => {
      child.stdin?.write(text);
    },
    waitFor: (pattern, from = 0, ms = 60_000) =>
      new Promise((done, fail) => {
        const check = (): void => {
          if (pattern.test(plain(raw.slice(from)))) {
            waiters.delete(check);
            clearTimeout(timer);
            done();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`no ${pattern} on the terminal within ${ms} ms; it shows:\n${plain(raw.slice(from))}`));
        }, ms);
        waiters.add(check);
        check();
      }),
    exited,
  };
}
