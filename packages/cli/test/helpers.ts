// Runs the real `distkv` binary (bin/distkv.mjs) as a child process, through a node_modules/.bin-style symlink.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
        resolve({ child, port: Number(match[1]), logs: () => out + err });
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
