/**
 * `@distkv/cluster`: a full node. `ClusterNode` composes the replicated
 * store, the client server and the admin HTTP endpoint.
 */
export {
  type AdminLimits,
  AdminServer,
  defaultAdminLimits,
  httpStatusOf,
  isReady,
  metricsText,
  type NodeStatus,
  nodeStatus,
} from './admin.js';
export { type ClusterErrorCode, clusterError, clusterErrorCodes } from './errors.js';
export { ClusterNode, type ClusterNodeOptions } from './node.js';
