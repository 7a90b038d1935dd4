/** Simulation tools that phase 5 reuses: the cluster, its disks and network, the seeded scenario runner. */
export {
  type ClusterOptions,
  type InFlight,
  InvariantViolation,
  restoreStore,
  SimCluster,
  SimNode,
  snapshotStore,
} from './cluster.js';
export { type DiskState, type DiskWrite, SimDisk } from './disk.js';
export {
  LossyTcpLinks,
  type LossyTcpOptions,
  runTimed,
  TCP_RTO_MAX_MS,
  TCP_RTO_MIN_MS,
  type TimedRunOptions,
  type TimedRunResult,
} from './lossy-tcp.js';
export { type ManualElection, manualElection } from './manual-election.js';
export { intFlag, simMain } from './sim-main.js';
export { formatFailure, replayCommand, runScenario, runSeeds, type ScenarioOptions, type ScenarioResult } from './simulator.js';
export { runTranscript, type TranscriptExtension } from './transcript.js';
