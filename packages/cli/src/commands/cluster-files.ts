/**
 * The files by which `distkv cluster add-node/remove-node` and `distkv
 * cluster up` share what each knows of a local cluster's nodes (see
 * cluster-members.ts), and stopping a node's process by its pid.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What add-node leaves in the new node's data directory (and `cluster up` reads). */
export interface AddedNode {
  id: string;
  pid: number;
  /** The `distkv server` arguments it runs with. */
  args: string[];
}

export const ADDED_NODE_FILE = 'added-node.json';
export const REMOVED_FILE = 'removed';
export const NODES_MAX = 99;

/** `n<i>` directories in the data directory, by number. */
export function nodeDirs(dataDir: string): number[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^n\d{1,2}$/.test(d.name))
    .map((d) => Number(d.name.slice(1)))
    .sort((a, b) => a - b);
}

export function readAddedNode(dir: string): AddedNode | undefined {
  try {
    const value = JSON.parse(readFileSync(join(dir, ADDED_NODE_FILE), 'utf8')) as AddedNode;
    return typeof value.id === 'string' && Number.isSafeInteger(value.pid) && Array.isArray(value.args) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isRemoved(dir: string): boolean {
  return existsSync(join(dir, REMOVED_FILE));
}

/** The pid runs a distkv server on `dataDir` (not a pid reused by something else since). */
export function runsNode(pid: number, dataDir: string): boolean {
  try {
    process.kill(pid, 0);
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.includes('server') && args.includes(dataDir);
  } catch {
    return false;
  }
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z'; // a zombie waits for its parent: it has exited
  } catch {
    return true;
  }
}

export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!gone(pid)) {
    if (Date.now() >= end) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, then after 10 s SIGKILL: how `cluster up` stops a node. Returns how it went. */
export async function stopPid(pid: number): Promise<'exited' | 'SIGTERM' | 'SIGKILL'> {
  if (gone(pid)) return 'exited';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'exited';
  }
  if (await waitGone(pid, 10_000)) return 'SIGTERM';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  await waitGone(pid, 5_000);
  return 'SIGKILL';
}
