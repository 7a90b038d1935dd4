/**
 * `@distkv/cli/testing`: the process-cluster harness, a cluster of real
 * `distkv server` processes for this package's tests and the repository's
 * chaos runs. Not part of the command's API: the main entry point does not
 * re-export it.
 */
export {
  type AddNodeOptions,
  DISTKV_BIN,
  NODE_LOG_BYTES_MAX,
  type NodeExit,
  ProcessCluster,
  type ProcessClusterOptions,
} from './process-cluster.js';
