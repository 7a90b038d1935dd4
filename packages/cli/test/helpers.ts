// Runs the real `distkv` binary (bin/distkv.mjs) as a child process, through a node_modules/.bin-style symlink.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort } from '@distkv/net/testing';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A temp directory holding node_modules/.bin/distkv -> bin/distkv.mjs, as a package manager would link it. */
export function linkedBinary(): { bin: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'distkv-cli-'));
  mkdirSync(join(root, 'node_modules', '.bin'), { recursive: true });
  const bin = join(root, 'node_modules', '.bin', 'distkv');
  symlinkSync(join(packageDir, 'bin', 'distkv.mjs'), bin);
  return { bin, root };
}

export function run(
  bin: string,
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: options.cwd ?? tmpdir(), env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(options.input ?? '');
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningServer {
  child: ChildProcess;
  port: number;
  /** The line-protocol port, when the server was given --line-port. */
  linePort: number | undefined;
  logs: () => string;
}

/**
 * Starts `distkv server ... --port 0` and resolves with its port once it
 * prints the listening line. `onSpawn` sees the child at once, so a caller
 * can stop it even when it never starts listening.
 */
export function startServer(
  bin: string,
  args: string[],
  cwd = tmpdir(),
  onSpawn: (child: ChildProcess) => void = () => undefined,
): Promise<RunningServer> {
  const child = spawn(bin, ['server', '--port', '0', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 60 s: ${out}${err}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on [^\s]+:(\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        const line = /line protocol on [^\s]+:(\d+)/.exec(out);
        resolve({ child, port: Number(match[1]), linePort: line === null ? undefined : Number(line[1]), logs: () => out + err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}${err}`));
    });
  });
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = exitOf(child);
  process.kill(child.pid, signal);
  await exited;
}

/** A base port whose client, peer, HTTP and line ports (the `cluster up` rule: base+i, base+100+i, base+200+i, base+300+i) are free now. */
export function freeBasePort(nodes = 3): Promise<number> {
  return reservePort(Array.from({ length: nodes }, (_, i) => [i, 100 + i, 200 + i, 300 + i]).flat());
}

/** Running (a zombie waiting for its reaper, whose parent died, counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface Up {
  child: ChildProcess;
  /** Node pids in node order (n1, n2, ...), from the summary. */
  nodePids: number[];
  output: () => string;
}

/**
 * Starts `cluster up` and resolves once it printed its summary (every node
 * listening). Every pid it learns goes into `pids`, for the caller's afterAll.
 */
export function clusterUp(base: number, dataDir: string, pids: Set<number>, extra: string[] = []): Promise<Up> {
  const child = spawn(
    process.execPath,
    [join(packageDir, 'bin', 'distkv.mjs'), 'cluster', 'up', '--base-port', String(base), '--data-dir', dataDir, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (child.pid !== undefined) pids.add(child.pid);
  let out = '';
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no summary within 60 s: ${out}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ctrl-C stops every node')) {
        clearTimeout(timer);
        const nodePids = [...out.matchAll(/^ {2}n\d+ {2}pid (\d+)/gm)].map((m) => Number(m[1]));
        for (const pid of nodePids) pids.add(pid);
        resolve({ child, nodePids, output: () => out });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster up exited (${code}): ${out}`));
    });
  });
}

/** SIGKILLs every pid still alive (afterAll of tests that start clusters). */
export function killAll(pids: Set<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
