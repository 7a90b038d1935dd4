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

/** The Raft side of a node's status before anything has happened: a follower of term 0 that has heard nobody. */
export const quietStatus = {
  term: 0,
  role: 'follower',
  leader: null,
  commitIndex: 0,
  appliedIndex: 0,
  lastIndex: 0,
  snapshotIndex: 0,
  keys: 0,
  lastContactMs: null,
  progress: [],
  confIndex: 0,
  voters: 1,
  learners: 0,
  membership: 'voter' as const,
};

/** One voter, ready: for the tests that need a single node's ports. */
export async function startNode(options: LocalNodeOptions = {}): Promise<ClusterNode> {
  const {
    nodes: [node],
  } = await startCluster(1, options);
  if (node === undefined) throw new Error('no node');
  return node;
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
