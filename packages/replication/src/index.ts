/**
 * @distkv/replication — phase 4 of distkv: Raft log replication with a
 * leader fixed by configuration, as a pure, deterministic state machine;
 * its driver (WAL, TCP, timers); the simulator that checks it; and the
 * seam an election plugs into (`RaftHandle`, `ElectionPolicy`), which
 * phase 5's @distkv/election fills. See docs/04-replication.md.
 */
export { type DecodeLimits, decodeMessage, encodeMessage, MESSAGE_FORMAT_VERSION } from './codec.js';
export {
  defaultReplicationLimits,
  type RaftConfig,
  type ReadMode,
  type ReplicationLimits,
  type ReplicationMode,
  type ResolvedConfig,
  resolveConfig,
  resolveLimits,
} from './config.js';
export {
  describeCommandPayload,
  describeEntry,
  describeMessage,
  describeReady,
  type PayloadFormatter,
} from './describe.js';
export { DurableLog, type DurableLogOptions, readSnapshotFile as readBackup } from './driver/durable-log.js';
export { FrameBoundary } from './driver/frame-boundary.js';
export { type MemberInfo, type RemovedInfo, ReplicationNode } from './driver/node.js';
export {
  defaultForwardLimits,
  electionDefaults,
  type ForwardLimits,
  fixedLeaderDefaults,
  formatAddress,
  isLoopbackHost,
  loopbackTimings,
  parsePeerAddress,
  type ReplicationNodeOptions,
  resolveTimingPreset,
  TICK_MS_MAX,
  type TimingPreset,
  timingOf,
} from './driver/options.js';
export { RefusalLog } from './driver/peer-auth.js';
export { AcceptorHandshake, ConnectorHandshake, type HandshakeStep } from './driver/peer-handshake.js';
export { type PeerSecurity, type ResolvedPeerSecurity, resolvePeerSecurity } from './driver/peer-security.js';
export type { ProposeResult } from './driver/ready-pump.js';
export { defaultTransportLimits, type PeerAddress, TcpTransport, type TransportLimits } from './driver/transport.js';
export type {
  ElectionFactory,
  ElectionMessage,
  ElectionPolicy,
  FollowReason,
  OutgoingElectionMessage,
  RaftHandle,
} from './election-seam.js';
export { type ReplicationErrorCode, replicationError, replicationErrorCodes } from './errors.js';
export {
  applyConfChange,
  CONF_ENTRY_TAG,
  type ConfChange,
  type ConfEntry,
  type ConfState,
  confChangeProblem,
  confState,
  confStateProblem,
  decodeConfEntry,
  decodeConfState,
  describeConf,
  describeConfChange,
  encodeConfEntry,
  encodeConfState,
  isConfPayload,
  isMember,
} from './membership.js';
export { Progress, type ProgressState } from './progress.js';
export {
  type ProgressStatus,
  type Proposal,
  RAFT_EVENTS_MAX,
  type RaftEvent,
  RaftNode,
  type ReadState,
  type Ready,
  type SoftState,
  type Status,
} from './raft.js';
export { RaftLog } from './raft-log.js';
export { type Rng, seededRng } from './rng.js';
export { catchUpStart, type LogStorage, MemoryStorage } from './storage.js';
export {
  type Entry,
  type HardState,
  type LogIndex,
  logIndex,
  type Message,
  type MessageType,
  type MsgApp,
  type MsgAppResp,
  type MsgHeartbeat,
  type MsgHeartbeatResp,
  type MsgPolicy,
  type MsgSnap,
  type MsgSnapResp,
  type MsgTimeoutNow,
  type MsgVote,
  type MsgVoteResp,
  type NodeId,
  nodeId,
  type Role,
  type Snapshot,
  type SnapshotMeta,
  type Term,
  term,
} from './types.js';
