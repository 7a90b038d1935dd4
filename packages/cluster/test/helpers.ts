// In-process ClusterNodes for these tests: the kit's LocalCluster, destroyed after each test, and its metrics readers.
import { afterEach, expect } from 'vitest';
import type { ClusterNode } from '../src/index.js';
import { LocalCluster, type LocalNodeOptions } from '../src/testing/index.js';

export { adminUrl as url, metricSample as sample, scrapeMetrics as scrape } from '../src/testing/index.js';

const clusters: LocalCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.destroy();
});

/** A LocalCluster destroyed after the test, nothing started yet. */
export async function localCluster(size: number, options: LocalNodeOptions = {}): Promise<LocalCluster> {
  const cluster = await LocalCluster.create(size, options);
  clusters.push(cluster);
  return cluster;
}

/** `size` voters with elections, each with a client port and an admin endpoint; resolves once all are ready. */
export async function startCluster(
  size: number,
  options: LocalNodeOptions = {},
): Promise<{ nodes: ClusterNode[]; cluster: LocalCluster }> {
  const cluster = await localCluster(size, options);
  const nodes = await cluster.startAll();
  await expect.poll(() => cluster.ready(), { message: 'every node is ready' }).toBe(true);
  return { nodes, cluster };
}
