// Drives an interactive command the way a person at a terminal does: through
// a real pseudo-terminal, made by script(1) from util-linux, so that the
// program sees a TTY on stdin and stdout (readline turns on its prompt,
// echo, history and completion only then; a pipe shows none of them).
// `render` replays what the program wrote as a terminal would show it
// (carriage returns, cursor moves and erases applied), so a transcript can
// be compared line by line with the one a chapter prints.
import { spawn, spawnSync } from 'node:child_process';

/** Is script(1) here? The pty tests and doc blocks need it (util-linux; `apt-get install bsdutils`). */
export function hasScript() {
  return spawnSync('/bin/sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;
}

const WIDTH = 200;

/**
 * The screen a terminal WIDTH columns wide shows after `raw`, as lines; the
 * last is the line the cursor is on (not trimmed), and `col` is the cursor's column.
 */
export function render(raw) {
  const lines = [];
  let line = [];
  let col = 0;
  const put = (ch) => {
    while (line.length < col) line.push(' ');
    line[col++] = ch;
  };
  for (let i = 0; i < raw.length; ) {
    const ch = raw[i];
    if (ch === '\x1b') {
      const csi = /^\x1b\[([0-9;?]*)([@-~])/.exec(raw.slice(i, i + 32));
      if (csi !== null) {
        const n = Number.parseInt(csi[1] || '0', 10) || 0;
        switch (csi[2]) {
          case 'G':
            col = Math.max(0, (n || 1) - 1);
            break;
          case 'C':
            col = Math.min(WIDTH - 1, col + (n || 1));
            break;
          case 'D':
            col = Math.max(0, col - (n || 1));
            break;
          case 'K':
            if (n === 0) line.length = Math.min(line.length, col);
            else if (n === 1) for (let c = 0; c < col && c < line.length; c++) line[c] = ' ';
            else line = [];
            break;
          case 'J':
            if (n === 0) line.length = Math.min(line.length, col);
            break;
          default:
          // colours, modes: nothing on the screen changes
        }
        i += csi[0].length;
        continue;
      }
      const osc = /^\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/.exec(raw.slice(i, i + 256));
      i += osc === null ? 2 : osc[0].length;
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      lines.push(line.join('').trimEnd());
      line = [];
      col = 0;
    } else if (ch === '\b') col = Math.max(0, col - 1);
    else if (ch >= ' ') put(ch);
    i++;
  }
  lines.push(line.join(''));
  return Object.assign(lines, { col });
}

const PROMPT_AT_END = /> $/;

/**
 * Runs `command` (a bash command line) in a pseudo-terminal. Once a prompt
 * (a line ending in "> ") is on the screen it sends `keys` (raw chunks such
 * as "GE\t" or "\x1b[A", one per quiet moment), then types each of `inputs`
 * when a prompt is up, then, if the program is still running, Ctrl-D. Resolves with the rendered screen
 * lines (trimmed, a last empty line dropped), the raw output and the exit code.
 */
export function runInPty(command, { cwd, env = process.env, inputs = [], timeoutMs = 60_000, keys = [] } = {}) {
  return new Promise((done) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd,
      env: { ...env, SHELL: '/bin/bash', TERM: 'xterm', COLUMNS: '200', LINES: '50' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let raw = '';
    let typed = 0;
    let waitingFrom = 0;
    let finished = false;
    const pending = [...inputs];
    const screenLine = () => {
      const lines = render(raw.slice(waitingFrom));
      return lines[lines.length - 1] ?? '';
    };
    const keysLeft = [...keys];
    let prompted = false;
    const step = () => {
      if (finished) return;
      // Raw keys (Tab, arrows) go one chunk per quiet moment once the first prompt was up.
      if (prompted && keysLeft.length > 0) {
        waitingFrom = raw.length;
        child.stdin.write(keysLeft.shift());
        return;
      }
      if (!PROMPT_AT_END.test(screenLine())) return;
      prompted = true;
      // A prompt is up: type the next line, or leave with Ctrl-D.
      waitingFrom = raw.length;
      if (keysLeft.length > 0) child.stdin.write(keysLeft.shift());
      else if (pending.length > 0) {
        typed++;
        child.stdin.write(`${pending.shift()}\r`);
      } else child.stdin.write('\x04');
    };
    let quiet;
    child.stdout.on('data', (d) => {
      const text = d.toString('utf8');
      // A line editor (redis-cli's linenoise) asks where the cursor is and waits: answer as a terminal does.
      for (let at = text.indexOf('\x1b[6n'); at >= 0; at = text.indexOf('\x1b[6n', at + 1)) {
        const screen = render(raw + text.slice(0, at));
        child.stdin.write(`\x1b[${screen.length};${screen.col + 1}R`);
      }
      raw += text;
      // Type only once the program has been quiet for a moment: a prompt may be redrawn.
      clearTimeout(quiet);
      quiet = setTimeout(step, 60);
    });
    child.stderr.on('data', (d) => {
      raw += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      finished = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      const lines = render(raw).map((l) => l.trimEnd());
      while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      done({ lines, raw, code: code ?? -1, signal, typed, timedOut: signal === 'SIGKILL' });
    });
  });
}
