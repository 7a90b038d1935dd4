/**
 * `@distkv/cluster/testing`: tools for tests of whole nodes in this and
 * later phases — a cluster of ClusterNodes in one process, and a reader of
 * the admin endpoint's Prometheus text. Not part of the node's API: the
 * main entry point does not re-export them.
 */
export { LocalCluster, type LocalNodeOptions } from './local-cluster.js';
export { adminUrl, metricSample, scrapeMetrics } from './metrics-text.js';
