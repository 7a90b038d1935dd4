// In-process ClusterNodes on 127.0.0.1 (port 0 or free ports) in temp dirs, and a reader of Prometheus text.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { ClusterNode, type ClusterNodeOptions } from '../src/index.js';

const roots: string[] = [];
const nodes: ClusterNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Waits for `cond` with bounded polling (20 ms apart, pollsMax times), never for a fixed time. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, pollsMax = 1500): Promise<void> {
  for (let i = 0; i < pollsMax; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/** `size` voters with elections, each with a client port and an admin endpoint; resolves once all are ready. */
export async function startCluster(
  size: number,
  extra: Partial<ClusterNodeOptions> = {},
): Promise<{ nodes: ClusterNode[]; root: string }> {
  const root = mkdtempSync(join(tmpdir(), 'distkv-cluster-metrics-'));
  roots.push(root);
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const ports = new Map<string, number>();
  for (const id of ids) ports.set(id, await freePort());
  const started = await Promise.all(
    ids.map((id) =>
      ClusterNode.start({
        id,
        peers: new Map(ids.filter((p) => p !== id).map((p) => [p, { host: '127.0.0.1', port: ports.get(p) as number }])),
        peerListen: { host: '127.0.0.1', port: ports.get(id) as number },
        dataDir: join(root, id),
        client: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        ...extra,
      }),
    ),
  );
  nodes.push(...started);
  await until('every node is ready', () => started.every((n) => n.ready()));
  return { nodes: started, root };
}

/** Stops a node now (it is not stopped again after the test). */
export async function stopNode(node: ClusterNode): Promise<void> {
  const i = nodes.indexOf(node);
  if (i >= 0) nodes.splice(i, 1);
  await node.stop();
}

export function url(node: ClusterNode, path: string): string {
  const a = node.admin?.address;
  if (a === undefined) throw new Error('no admin endpoint');
  return `http://127.0.0.1:${a.port}${path}`;
}

export async function scrape(node: ClusterNode): Promise<string> {
  const res = await fetch(url(node, '/metrics'));
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/**
 * The value of one sample in Prometheus text: the line of `name` whose
 * labels include every pair of `labels`; 0 when there is none (a counter
 * that never moved has no labelled sample yet).
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = new Map<string, string>();
    for (const m of (match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1] as string, m[2] as string);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[4]);
  }
  return 0;
}
