/**
 * `@distkv/cluster`: a full node. `ClusterNode` composes the replicated
 * store, the client server and the admin HTTP endpoint.
 */
export {
  type AdminLimits,
  type AdminObservability,
  type AdminSecurity,
  AdminServer,
  DASHBOARD_EVENTS_MAX,
  type DashboardState,
  defaultAdminLimits,
  httpStatusOf,
  isReady,
  type NodeStatus,
  nodeStatus,
} from './admin.js';
export { ClusterNode, type ClusterNodeOptions } from './cluster-node.js';
export {
  type ClusterSecurityOptions,
  checkExposure,
  defaultHttpLimits,
  HttpGuard,
  type HttpLimits,
} from './cluster-security.js';
export { DASHBOARD_FETCH_TIMEOUT_MS, DASHBOARD_HTML, DASHBOARD_POLL_MS } from './dashboard.js';
export { type ClusterErrorCode, clusterError, clusterErrorCodes } from './errors.js';
export { EventRing, type NodeEvent, type NodeEventKind } from './events.js';
export { type MetricsSource, NodeMetrics } from './metrics.js';
export { defaultMonitorLimits, type MonitorLimits, type MonitorSource, NodeMonitor } from './monitor.js';
export { LATENCY_BOUNDS_MS, OpsSeries, type SeriesPoint } from './series.js';
export { peerHttpAddresses } from './wiring.js';
