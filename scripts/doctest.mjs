#!/usr/bin/env node
// Docs stay true, part two (part one, quotes, is scripts/check-docs.mjs).
//
// 1. Every ```ts block in docs/ that is not a quote of real code is written
//    to a temp directory inside the repository and type-checked with tsc
//    against the workspace packages, with the repository's strict settings.
//    A block that is deliberately a fragment says so: ```ts no-check.
// 2. Every shell session marked ```sh runnable is run, and its output must
//    match the lines under each command:
//
//      ```sh runnable server
//      $ distkv client 127.0.0.1:6380 -c "SET a 1"
//      OK
//      ```
//
//    `server` starts a fresh `distkv server --in-memory --port 0` for the
//    block and points every `127.0.0.1:6380` in it at that server. A line
//    `...` in the expected output matches any number of lines. `flags`
//    compares only the set of --flags a --help output lists, so that a
//    reworded help text does not fail CI but a flag added or gone does.
//    Safe and bounded: only the commands in ALLOWED run, only loopback
//    addresses may appear, each command has COMMAND_MS to finish, and every
//    server the runner starts is stopped by its pid.
//
// 3. In the tutorial chapters (TUTORIAL), every shell block runs, exactly
//    as a reader types it, from the repository root: a reader is asked to
//    run each one. Lines starting `$ ` are commands, the lines under one
//    are its output as the chapter shows it (`...` matches any lines;
//    <pid>, <port>, <n>, <ms> and <path> match a value that varies); a
//    command with nothing under it must only succeed. A block without
//    `$ ` lines is a list of commands whose output is not shown.
//
//      ```sh background   servers, one per `$ ` line: each started, its
//                         output awaited, all left running for the
//                         chapter's later blocks (until the next background
//                         block); `--port 6380` becomes a free port and
//                         every 6380 after it follows, and so does the
//                         seed's `--line-port 12345` (every 12345 after it)
//      ```sh exit=1       every command of the block must exit with that
//                         status (a simulator run that finds a failure)
//      ```sh pty          run in a pseudo-terminal (script(1)); an output
//                         line starting with a prompt (`> `,
//                         `127.0.0.1:6380> `) is typed, the rest compared
//                         with what the terminal shows
//      <!-- doctest: skip: reason -->   on the line before the fence: not
//                         run, and the reason is printed with the counts
//
//    Fixed ports a chapter's cluster uses (7000-8999: 7001, 7101, 8001, …)
//    are moved by one offset per chapter run into a range nothing else on
//    the machine uses by default, in commands and
//    back in what is compared, so the chapter shows the ports a reader types.
//
//    A `npx vitest run` (a chapter's test command) runs as `npx vitest
//    list`: the same directory, files and filters, every test collected,
//    none run twice (CI's test step runs them); DISTKV_DOCTEST_RUN_TESTS=1
//    runs them too. Paths a reader would use for data (`./data`, `/tmp/distkv-…`) become
//    a temporary directory, and the history files go there too.
//
// `node scripts/doctest.mjs [--write] [--only ts|sh] [docs/file.md ...]`;
// --write replaces the expected output of the files named with what the
// commands printed (review the diff!).
import { execFile, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorkspace } from './build-workspace.mjs';
import { hasScript, render, runInPty } from './pty.mjs';

const FENCE = /^```(\w+)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
const QUOTE_BEFORE = /<!-- quote: [^\n]+ -->\n$/;
/** The commands a runnable session may use. */
export const ALLOWED = new Set(['distkv', 'echo']);
export const COMMAND_MS = 60_000;
const SERVER_START_MS = 60_000;
const DEFAULT_ADDRESS = '127.0.0.1:6380';
/** The seed's port, where the docs show the line protocol (`--line-port 12345`). */
const DEFAULT_LINE_ADDRESS = '127.0.0.1:12345';

function* markdownFiles(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.') || name === 'public') continue;
    if (statSync(path).isDirectory()) yield* markdownFiles(path);
    else if (name.endsWith('.md')) yield path;
  }
}

/** The fenced blocks of a Markdown text, with their language, attributes and 1-based line. */
export function fencedBlocks(text) {
  const blocks = [];
  for (const m of text.matchAll(FENCE)) {
    const before = text.slice(0, m.index);
    blocks.push({
      lang: m[1],
      attrs: m[2].trim().split(/\s+/).filter(Boolean),
      body: m[3],
      line: before.split('\n').length,
      quoted: QUOTE_BEFORE.test(before),
      start: m.index,
      end: m.index + m[0].length,
    });
  }
  return blocks;
}

/** The ```ts blocks that must type-check: not quotes (those are real code already), not marked no-check. */
export function checkedTsBlocks(text) {
  return fencedBlocks(text).filter(
    (b) => (b.lang === 'ts' || b.lang === 'typescript') && !b.quoted && !b.attrs.includes('no-check'),
  );
}

/** Type-checks every unquoted ```ts block of the files; returns problems as "file:line: message". */
export async function typecheckTsBlocks(root, files) {
  // Inside the repository, so that `@distkv/*` and @types/node resolve as they do for the packages.
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'distkv-doctest-ts-'));
  const origin = new Map();
  let count = 0;
  for (const file of files) {
    for (const block of checkedTsBlocks(readFileSync(file, 'utf8'))) {
      const name = `block${++count}.ts`;
      origin.set(name, { file: relative(root, file), line: block.line + 1 });
      // A block without import/export would be a script sharing one global scope with the others.
      const isModule = /^\s*(import|export)\s/m.test(block.body);
      writeFileSync(join(dir, name), isModule ? block.body : `${block.body}\nexport {};\n`);
    }
  }
  if (count === 0) {
    rmSync(dir, { recursive: true, force: true });
    return { problems: [], blocks: 0 };
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(dir, join(root, 'tsconfig.base.json')),
      compilerOptions: { noEmit: true, declaration: false, declarationMap: false, sourceMap: false },
      include: ['*.ts'],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const output = await new Promise((done) => {
    execFile(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) =>
      done(err === null ? '' : `${stdout}${stderr}`.trim() || String(err)),
    );
  });
  const problems = [];
  for (const line of output.split('\n').filter(Boolean)) {
    const m = /^(?:.*[\\/])?(block\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
    const from = m === null ? undefined : origin.get(m[1]);
    if (m !== null && from !== undefined) problems.push(`${from.file}:${from.line + Number(m[2]) - 1}: ${m[4]}`);
    else if (!line.startsWith(' ')) problems.push(`tsc: ${line}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return { problems, blocks: count };
}

/** A runnable session: [{ command, expected: string[] }]. */
export function parseSession(body) {
  const steps = [];
  for (const line of body.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
    else if (steps.length > 0) steps[steps.length - 1].expected.push(line);
    else if (line.trim() !== '') throw new Error(`output "${line}" before any "$ " command`);
  }
  return steps;
}

/** Why a command may not run in a doc test, or undefined if it may. */
export function refusal(command) {
  const first = command.trim().split(/\s+/)[0] ?? '';
  if (!ALLOWED.has(first)) return `only ${[...ALLOWED].join(', ')} may run in a doc test, not "${first}"`;
  if (/[;&|`<>]|\$\(/.test(command.replace(/"[^"]*"|'[^']*'/g, '""')))
    return 'one plain command per line: no ;, &, |, redirections or substitutions';
  for (const m of command.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3})\b/g)) {
    if (!m[1].startsWith('127.')) return `only loopback addresses, not ${m[1]}`;
  }
  return undefined;
}

/** Does `actual` match `expected`, where an expected line "..." matches any run of lines? */
export function outputMatches(expected, actual) {
  const match = (i, j) => {
    if (i === expected.length) return j === actual.length;
    if (expected[i] === '...') {
      for (let k = j; k <= actual.length; k++) if (match(i + 1, k)) return true;
      return false;
    }
    return j < actual.length && expected[i] === actual[j] && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/** The --flags that lines of a --help output start with, sorted. */
export function helpFlags(lines) {
  const flags = new Set();
  for (const line of lines) {
    const m = /^\s+(?:-\w, )?(--[\w-]+)/.exec(line);
    if (m !== null) flags.add(m[1]);
  }
  return [...flags].sort();
}

function outputLines(text) {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function runCommand(command, env, cwd) {
  return new Promise((done) => {
    execFile(
      '/bin/bash',
      ['-c', `${command} 2>&1`],
      { env, cwd, timeout: COMMAND_MS, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 },
      (err, stdout) => done({ stdout, timedOut: err?.killed === true, code: err?.code ?? 0 }),
    );
  });
}

/** `distkv` as compiled by `tsc -b` (see scripts/dist-loader.mjs): the same source, ten times faster to start. */
function distkvArgv(root) {
  return ['--import', join(root, 'scripts', 'dist-loader.mjs'), join(root, 'packages', 'cli', 'dist', 'main.js')];
}

/** Builds the packages (`tsc -b`, a no-op when up to date) so that `distkvArgv` runs the current source. */
async function build(root) {
  try {
    await buildWorkspace(root);
  } catch (err) {
    throw new Error(`the doc tests run distkv from dist/, and ${err.message}`);
  }
}

/** Starts an in-memory server on a free loopback port; resolves with its address and a stop function. */
function startServer(root) {
  const child = spawn(
    process.execPath,
    [...distkvArgv(root), 'server', '--in-memory', '--port', '0', '--line-port', '0', '--bind', '127.0.0.1', '--quiet'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stop = () =>
    new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  return new Promise((done, fail) => {
    let out = '';
    const timer = setTimeout(() => {
      void stop();
      fail(new Error(`the doc-test server did not start within ${SERVER_START_MS} ms: ${out}`));
    }, SERVER_START_MS);
    const onData = (d) => {
      out += d.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(out);
      const line = /line protocol on (127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null && line !== null) {
        clearTimeout(timer);
        done({ address: m[1], lineAddress: line[1], stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the doc-test server exited (${code}) before listening: ${out}`));
    });
  });
}

/** A directory with a `distkv` that runs this checkout's command, first on PATH. */
function shimDir(root) {
  const dir = join(root, 'node_modules', '.cache', 'distkv-doctest-bin');
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'distkv');
  const argv = distkvArgv(root)
    .map((a) => `"${a}"`)
    .join(' ');
  // Written aside and renamed: another run may be executing the shim right now.
  const aside = `${shim}.${process.pid}`;
  writeFileSync(aside, `#!/bin/sh\nexec "${process.execPath}" ${argv} "$@"\n`, { mode: 0o755 });
  renameSync(aside, shim);
  return dir;
}

/** Runs one runnable block; returns its problems and the block text with the actual output (for --write). */
async function runSession(root, file, block, env, write) {
  const where = `${relative(root, file)}:${block.line}`;
  const problems = [];
  let steps;
  try {
    steps = parseSession(block.body);
  } catch (err) {
    return { problems: [`${where}: ${err.message}`], body: block.body };
  }
  for (const step of steps) {
    const why = refusal(step.command);
    if (why !== undefined) return { problems: [`${where}: $ ${step.command}: ${why}`], body: block.body };
  }
  const server = block.attrs.includes('server') ? await startServer(root) : undefined;
  const cwd = join(root, 'node_modules', '.cache', 'distkv-doctest-cwd');
  mkdirSync(cwd, { recursive: true });
  const written = [];
  try {
    for (const step of steps) {
      const command =
        server === undefined
          ? step.command
          : step.command.replaceAll(DEFAULT_ADDRESS, server.address).replaceAll(DEFAULT_LINE_ADDRESS, server.lineAddress);
      const result = await runCommand(command, env, cwd);
      const actual = outputLines(result.stdout);
      const matches = block.attrs.includes('flags')
        ? helpFlags(step.expected).join(' ') === helpFlags(actual).join(' ')
        : outputMatches(step.expected, actual);
      if (result.timedOut) problems.push(`${where}: $ ${step.command}: no exit within ${COMMAND_MS} ms`);
      else if (!matches && block.attrs.includes('flags')) {
        const [was, now] = [helpFlags(step.expected), helpFlags(actual)];
        const added = now.filter((f) => !was.includes(f));
        const gone = was.filter((f) => !now.includes(f));
        problems.push(
          `${where}: $ ${step.command}: flags added ${added.join(' ') || '(none)'}, gone ${gone.join(' ') || '(none)'}\n  (describe them, then: node scripts/doctest.mjs --write ${relative(root, file)})`,
        );
      } else if (!matches) {
        problems.push(
          `${where}: $ ${step.command}\n  expected:\n    ${step.expected.join('\n    ')}\n  printed:\n    ${actual.join('\n    ')}\n  (if the new output is right: node scripts/doctest.mjs --write ${relative(root, file)})`,
        );
      }
      const shown =
        server === undefined
          ? actual
          : actual.map((l) => l.replaceAll(server.address, DEFAULT_ADDRESS).replaceAll(server.lineAddress, DEFAULT_LINE_ADDRESS));
      written.push(`$ ${step.command}`, ...(matches && !(write && block.attrs.includes('flags')) ? step.expected : shown));
    }
  } finally {
    await server?.stop();
  }
  return { problems, body: `${written.join('\n')}\n` };
}

/** Runs every runnable session of the files (two at a time); with write, rewrites the expected output in `only`. */
export async function runSessions(root, files, { write = false, only = [] } = {}) {
  await build(root);
  const env = { ...process.env, PATH: `${shimDir(root)}:${process.env.PATH ?? ''}`, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.NODE_OPTIONS;
  const jobs = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const block of fencedBlocks(text)) {
      if (block.attrs.includes('runnable')) jobs.push({ file, block });
    }
  }
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const { file, block } = jobs[i];
      results[i] = await runSession(root, file, block, env, write);
    }
  };
  await Promise.all([worker(), worker()]);
  if (write) {
    for (const file of new Set(jobs.map((j) => j.file))) {
      if (only.length > 0 && !only.includes(file)) continue;
      let text = readFileSync(file, 'utf8');
      // Back to front, so earlier offsets stay valid.
      for (let i = jobs.length - 1; i >= 0; i--) {
        const { file: f, block } = jobs[i];
        if (f !== file) continue;
        const open = text.slice(block.start).split('\n')[0];
        text = `${text.slice(0, block.start)}${open}\n${results[i].body}\`\`\`${text.slice(block.end)}`;
      }
      writeFileSync(file, text);
    }
  }
  return { problems: results.flatMap((r) => r.problems), sessions: jobs.length };
}

/** The chapters whose every shell block runs in CI, as written: the whole tutorial. */
export const TUTORIAL = [
  'docs/01-core.md',
  'docs/02-wal.md',
  'docs/03-net.md',
  'docs/04-replication.md',
  'docs/05-election.md',
  'docs/06-cluster.md',
  'docs/07-resilience.md',
  'docs/08-cli.md',
];
const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);
const SKIP_BEFORE = /<!-- doctest: skip: ([^\n]+?) -->\n$/;
const PROMPT_LINE = /^((?:[\w.-]+ )?[\w.:]*> )(.*)$/;
const TUTORIAL_STEP_MS = 180_000;
const PLACEHOLDERS = { pid: '\\d+', port: '\\d+', n: '[\\d,.]+', ms: '[\\d.]+ ?(?:ms|s)', path: '\\S+' };

/** The shell blocks of a tutorial chapter, each with the reason it is skipped (or undefined). */
export function tutorialBlocks(text) {
  return fencedBlocks(text)
    .filter((b) => SHELL_LANGS.has(b.lang))
    .map((b) => ({ ...b, skip: SKIP_BEFORE.exec(text.slice(0, b.start))?.[1] }));
}

/** A tutorial block's steps: `$ ` sessions as parseSession, else one command per line with no output shown. */
export function parseTutorialBlock(body) {
  const lines = body.replace(/\n$/, '').split('\n');
  if (!lines.some((l) => l.startsWith('$ '))) {
    return lines.filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).map((command) => ({ command, expected: [] }));
  }
  return parseSession(body);
}

/** Does an expected line, with its placeholders, match the line printed? */
export function lineMatches(expected, actual) {
  if (!/<(?:pid|port|n|ms|path)>/.test(expected)) return expected === actual;
  const source = expected
    .split(/(<(?:pid|port|n|ms|path)>)/)
    .map((part) => {
      const name = /^<(\w+)>$/.exec(part)?.[1];
      return name !== undefined && name in PLACEHOLDERS ? PLACEHOLDERS[name] : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`).test(actual);
}

function tutorialMatches(expected, actual) {
  const match = (i, j) => {
    if (i === expected.length) return j === actual.length;
    if (expected[i] === '...') {
      for (let k = j; k <= actual.length; k++) if (match(i + 1, k)) return true;
      return false;
    }
    return j < actual.length && lineMatches(expected[i], actual[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/**
 * The environment of a reader's shell: this process's, without what a
 * package manager running us adds (npm_* and pnpm_* settings, which make a
 * nested npx print "Unknown env config" warnings no reader sees) and
 * without NODE_OPTIONS.
 */
function readerEnv() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm|pnpm)_/i.test(k) && k !== 'NODE_OPTIONS'));
  return env;
}

/** The state one chapter's blocks share: a temp directory, the server a background block started. */
function tutorialContext(root) {
  const tmp = mkdtempSync(join(tmpdir(), 'distkv-tutorial-'));
  const env = {
    ...readerEnv(),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    DISTKV_HISTORY_FILE: join(tmp, 'distkv_history'),
    REDISCLI_HISTFILE: join(tmp, 'rediscli_history'),
  };
  delete env.NODE_OPTIONS;
  // 7000-8999 moved to 10000-29999, a multiple of 1000 apart: ports keep their last three digits.
  const shift = 3000 + 1000 * Math.floor(Math.random() * 20);
  return { root, tmp, env, background: [], port: undefined, linePort: undefined, shift };
}

const FIXED_PORT = /(127\.0\.0\.1:|localhost:|-p |--port |--peer-port |--http-port |--base-port )([78]\d{3})\b/g;

/** The command as run: data paths into the temp directory, port 6380 to the running server's. */
function tutorialCommand(ctx, command, { starting = false } = {}) {
  let c = command.replace(/(^|\s)\.\/data\b/g, `$1${ctx.tmp}/data`).replace(/\/tmp\/(distkv-[\w-]+)/g, `${ctx.tmp}/$1`);
  if (starting) c = c.replace(/--port 6380\b/g, '--port 0').replace(/--line-port 12345\b/g, '--line-port 0');
  else {
    if (ctx.port !== undefined) c = c.replace(/(127\.0\.0\.1:|-p |--port )6380\b/g, `$1${ctx.port}`);
    if (ctx.linePort !== undefined) c = c.replace(/(127\.0\.0\.1:)12345\b/g, `$1${ctx.linePort}`);
  }
  return c.replace(FIXED_PORT, (_, before, port) => `${before}${Number(port) + ctx.shift}`);
}

/** Printed lines as the chapter would show them: the temp directory and the server's port put back. */
function tutorialShown(ctx, lines) {
  return lines.map((l) => {
    let shown = l.replaceAll(`${ctx.tmp}/distkv-`, '/tmp/distkv-').replaceAll(`${ctx.tmp}/data`, './data');
    if (ctx.port !== undefined) shown = shown.replace(new RegExp(`(127\\.0\\.0\\.1:|-p |--port )${ctx.port}\\b`, 'g'), '$16380');
    if (ctx.linePort !== undefined) shown = shown.replace(new RegExp(`(127\\.0\\.0\\.1:)${ctx.linePort}\\b`, 'g'), '$112345');
    return shown.replace(/(127\.0\.0\.1:|localhost:|port |-p )(\d{5})\b/g, (all, before, port) => {
      const p = Number(port) - ctx.shift;
      return p >= 7000 && p < 9000 ? `${before}${p}` : all;
    });
  });
}

function stopBackground(ctx) {
  const all = ctx.background;
  ctx.background = [];
  ctx.port = undefined;
  ctx.linePort = undefined;
  return Promise.all(all.map(stopOne));
}

function stopOne(bg) {
  return new Promise((done) => {
    if (bg.child.exitCode !== null || bg.child.signalCode !== null) return done();
    const force = setTimeout(() => {
      try {
        process.kill(-bg.child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5_000);
    bg.child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    try {
      process.kill(-bg.child.pid, 'SIGTERM'); // its process group: npx, pnpm and node under it
    } catch {
      done();
    }
  });
}

/** Starts a background block's command and waits for the output the chapter shows. */
function startBackground(ctx, step) {
  const child = spawn('/bin/bash', ['-c', `exec ${tutorialCommand(ctx, step.command, { starting: true })} 2>&1`], {
    cwd: ctx.root,
    env: ctx.env,
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  ctx.background.push({ child });
  let out = '';
  return new Promise((done) => {
    const finish = (problem) => {
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume(); // drained from now on: a server that logs on must not block on a full pipe
      done(problem);
    };
    const timer = setTimeout(
      () => finish(`no ${JSON.stringify(step.expected)} within ${SERVER_START_MS} ms; printed:\n    ${out}`),
      SERVER_START_MS,
    );
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null && /--port 6380\b/.test(step.command)) ctx.port = Number(m[1]);
      const line = /line protocol on 127\.0\.0\.1:(\d+)/.exec(out);
      if (line !== null && /--line-port 12345\b/.test(step.command)) ctx.linePort = Number(line[1]);
      const lines = render(out)
        .map((l) => l.trimEnd())
        .filter((l, i, all) => l !== '' || i < all.length - 1);
      if (tutorialMatches(step.expected, tutorialShown(ctx, lines))) finish(undefined);
    });
    child.once('exit', (code) => finish(`exited (${code}) before printing what the chapter shows; printed:\n    ${out}`));
  });
}

/** Runs one block of a tutorial chapter in its chapter's context; returns its problems. */
async function runTutorialBlock(ctx, file, block) {
  const where = `${relative(ctx.root, file)}:${block.line}`;
  let steps;
  try {
    steps = parseTutorialBlock(block.body);
  } catch (err) {
    return [`${where}: ${err.message}`];
  }
  const problems = [];
  if (block.attrs.includes('background')) await stopBackground(ctx);
  const exitAttr = block.attrs.find((a) => a.startsWith('exit='));
  const exitExpected = exitAttr === undefined ? 0 : Number(exitAttr.slice('exit='.length));
  for (const step of steps) {
    if (block.attrs.includes('background')) {
      const problem = await startBackground(ctx, step);
      if (problem !== undefined) problems.push(`${where}: $ ${step.command}: ${problem}`);
      continue;
    }
    let command = tutorialCommand(ctx, step.command);
    // The package suites run in CI's test step already: here `vitest list` checks the same command (directory,
    // files, filters) and collects the same tests without running them again. DISTKV_DOCTEST_RUN_TESTS=1 runs them.
    if (process.env.DISTKV_DOCTEST_RUN_TESTS !== '1') command = command.replace(/\bnpx vitest run\b/g, 'npx vitest list');
    let actual;
    let code;
    let timedOut;
    if (block.attrs.includes('pty')) {
      const inputs = step.expected
        .map((l) => PROMPT_LINE.exec(l)?.[2])
        .filter((l) => l !== undefined)
        .map((l) => tutorialCommand(ctx, l));
      const result = await runInPty(command, { cwd: ctx.root, env: ctx.env, inputs, timeoutMs: 60_000 });
      ({ code, timedOut } = result);
      actual = tutorialShown(ctx, result.lines);
    } else {
      const result = await new Promise((done) => {
        execFile(
          '/bin/bash',
          ['-c', `${command} 2>&1`],
          { env: ctx.env, cwd: ctx.root, timeout: TUTORIAL_STEP_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
          (err, stdout) => done({ stdout, timedOut: err?.killed === true, code: err?.code ?? 0 }),
        );
      });
      ({ code, timedOut } = result);
      actual = tutorialShown(ctx, outputLines(result.stdout));
    }
    if (timedOut) problems.push(`${where}: $ ${step.command}: no exit within ${TUTORIAL_STEP_MS} ms`);
    else if (code !== exitExpected)
      problems.push(
        `${where}: $ ${step.command}: exit ${code}, not ${exitExpected}; printed:\n    ${actual.slice(-30).join('\n    ')}`,
      );
    else if (step.expected.length > 0 && !tutorialMatches(step.expected, actual)) {
      problems.push(
        `${where}: $ ${step.command}\n  expected:\n    ${step.expected.join('\n    ')}\n  printed:\n    ${actual.join('\n    ')}`,
      );
    }
  }
  return problems;
}

/**
 * Runs every shell block of the tutorial chapters among `files`, in order,
 * one chapter at a time (a chapter's blocks build on each other: a server
 * started by one is used by the next). Returns problems, and the counts.
 */
export async function runTutorial(root, files) {
  const chapters = files.filter((f) => TUTORIAL.includes(relative(root, f)));
  if (chapters.length > 0) await build(root);
  const problems = [];
  const skipped = [];
  let run = 0;
  const pty = hasScript();
  for (const file of chapters) {
    const ctx = tutorialContext(root);
    try {
      for (const block of tutorialBlocks(readFileSync(file, 'utf8'))) {
        const where = `${relative(root, file)}:${block.line}`;
        let skip = block.skip;
        if (skip === undefined && block.attrs.includes('pty') && !pty) {
          skip = 'script(1) is not installed (apt-get install bsdutils)';
          if (process.env.CI === 'true') problems.push(`${where}: ${skip}, and under CI=true a pty block must run`);
        }
        if (skip === undefined && /(^|\n)\$ redis-cli\b/.test(block.body) && !hasCommand('redis-cli')) {
          skip = 'redis-cli is not installed (apt-get install redis-tools)';
          if (process.env.CI === 'true') problems.push(`${where}: ${skip}, and under CI=true it must run`);
        }
        if (skip !== undefined) {
          skipped.push({ where, reason: skip });
          continue;
        }
        run++;
        problems.push(...(await runTutorialBlock(ctx, file, block)));
      }
    } finally {
      await stopBackground(ctx);
      rmSync(ctx.tmp, { recursive: true, force: true });
    }
  }
  return { problems, run, skipped, chapters: chapters.length };
}

function hasCommand(name) {
  return spawnSync('/bin/sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export function docFiles(root) {
  return existsSync(join(root, 'docs')) ? [...markdownFiles(join(root, 'docs'))] : [];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const onlyKind = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const named = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--only').map((a) => resolve(process.cwd(), a));
  const files = named.length > 0 ? named : docFiles(root);
  const problems = [];
  if (onlyKind !== 'sh') {
    const ts = await typecheckTsBlocks(root, files);
    problems.push(...ts.problems);
    console.log(`doctest: ${ts.blocks} TypeScript blocks type-checked`);
  }
  if (onlyKind !== 'ts') {
    const sh = await runSessions(root, files, { write, only: named });
    problems.push(...sh.problems);
    console.log(`doctest: ${sh.sessions} runnable sessions run${write ? ' (expected output rewritten)' : ''}`);
    const tutorial = await runTutorial(root, files);
    problems.push(...tutorial.problems);
    console.log(
      `doctest: ${tutorial.chapters} tutorial chapters: ${tutorial.run + tutorial.skipped.length} shell blocks, ${tutorial.run} run, ${tutorial.skipped.length} marked skip`,
    );
    for (const { where, reason } of tutorial.skipped) console.log(`doctest:   skipped ${where}: ${reason}`);
  }
  for (const p of problems) console.error(`doctest: ${p}`);
  process.exit(problems.length > 0 ? 1 : 0);
}
