import type { ClusterNode } from '../cluster-node.js';

/** `http://127.0.0.1:<admin port><path>` of a node started with an admin endpoint. */
export function adminUrl(node: ClusterNode, path: string): string {
  const address = node.admin?.address;
  if (address === undefined) throw new Error(`${node.id} has no admin endpoint`);
  return `http://127.0.0.1:${address.port}${path}`;
}

/** The node's Prometheus text from GET /metrics. */
export async function scrapeMetrics(node: ClusterNode): Promise<string> {
  const res = await fetch(adminUrl(node, '/metrics'));
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/**
 * The value of one sample in Prometheus text: the line of `name` whose
 * labels include every pair of `labels`; 0 when there is none (a counter
 * that never moved has no labelled sample yet).
 */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number {
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
