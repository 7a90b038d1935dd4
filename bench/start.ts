// `pnpm bench start`: how long `distkv server` takes from exec to listening,
// and what an idle server holds, for each way of running it. A restarted
// voter is part of availability (after a second failure the cluster needs
// it for quorum), and every CLI command pays the same start. Method: each
// way is started RUNS times in turns (`server --in-memory --port 0`), timed
// from spawn to its "listening" line, its RSS read from /proc after 1 s
// idle; then `distkv status` against the last server, timed to its exit.
// Ways: the launcher's type-stripping hooks with a warm cache (what a
// checkout runs), the same with the cache cleared before each start, ts-node
// (DISTKV_LOADER=ts-node, the loader the launcher used before), and the
// compiled dist/ (after `tsc -b`, through scripts/dist-loader.mjs, as the doc
// tests run it). Medians count. Prints a table, then one JSON line.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { printJsonLine, printTable } from './lib.js';

const RUNS = 5;
const root = process.cwd();
const launcher = join(root, 'packages', 'cli', 'bin', 'distkv.mjs');
const cacheDir = join(root, 'packages', 'cli', 'node_modules', '.cache', 'distkv-ts');
const distArgv = ['--import', join(root, 'scripts', 'dist-loader.mjs'), join(root, 'packages', 'cli', 'dist', 'main.js')];

interface Way {
  name: string;
  argv: string[];
  env: Record<string, string>;
  before?: () => void;
}
const ways: Way[] = [
  { name: 'source, warm cache', argv: [launcher], env: {} },
  { name: 'source, cold cache', argv: [launcher], env: {}, before: () => rmSync(cacheDir, { recursive: true, force: true }) },
  { name: 'source, ts-node', argv: [launcher], env: { DISTKV_LOADER: 'ts-node' } },
  { name: 'dist/ (compiled)', argv: distArgv, env: {} },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Starts a server; resolves with ms to "listening", its port, and the child (still running). */
function start(way: Way): Promise<{ ms: number; port: number; child: ChildProcess }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...way.argv, 'server', '--in-memory', '--port', '0', '--bind', '127.0.0.1'], {
    env: { ...process.env, ...way.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((done, fail) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${way.name}: no listening line within 60 s: ${out}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        done({ ms: performance.now() - t0, port: Number(m[1]), child });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${way.name}: exited (${code}) before listening: ${out}`));
    });
  });
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kb / 1024);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}

execFileSync('npx', ['tsc', '-b', 'packages/cli'], { cwd: root, stdio: 'inherit' }); // dist/ up to date
await stop((await start(ways[0] as Way)).child); // fills the cache for the warm runs

const starts = new Map<string, number[]>(ways.map((w) => [w.name, []]));
const rss = new Map<string, number[]>(ways.map((w) => [w.name, []]));
const statusMs: number[] = [];
for (let run = 0; run < RUNS; run++) {
  for (const way of ways) {
    way.before?.();
    const { ms, port, child } = await start(way);
    await new Promise((r) => setTimeout(r, 1000));
    starts.get(way.name)?.push(ms);
    rss.get(way.name)?.push(rssMb(child.pid as number));
    if (way === ways[0]) {
      const t0 = performance.now();
      execFileSync(process.execPath, [launcher, 'status', '--endpoints', `127.0.0.1:${port}`], { stdio: 'ignore' });
      statusMs.push(performance.now() - t0);
    }
    await stop(child);
  }
}

const key = (name: string): string =>
  (name.split(',')[1] ?? name)
    .trim()
    .replace(/[^a-z]+/g, '_')
    .replace(/_$/, '');
const figures: Record<string, number> = {};
const rows: Array<[string, string]> = [];
for (const way of ways) {
  const ms = Math.round(median(starts.get(way.name) ?? []));
  const mb = median(rss.get(way.name) ?? []);
  rows.push([way.name, `listening after ${ms} ms, ${mb} MB RSS idle`]);
  figures[`${key(way.name)}_start_ms`] = ms;
  figures[`${key(way.name)}_rss_mb`] = mb;
}
figures.status_ms = Math.round(median(statusMs));
rows.push(['distkv status (warm cache)', `${figures.status_ms} ms`]);
printTable(`distkv server --in-memory, median of ${RUNS} in turns`, rows);
printJsonLine(figures);
