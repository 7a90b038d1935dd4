/**
 * @distkv/replication — phase 4 of distkv: Raft log replication as a pure,
 * deterministic state machine, and the simulator that checks it. Phase 5
 * added elections to the same state machine (see @distkv/election).
 * See docs/04-replication.md.
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
} from './config.js';
export {
  describeCommandPayload,
  describeEntry,
  describeMessage,
  describeReady,
  type PayloadFormatter,
} from './describe.js';
export { DurableLog, type DurableLogOptions } from './driver/durable-log.js';
export { FrameBoundary } from './driver/frame-boundary.js';
export {
  defaultForwardLimits,
  type ForwardLimits,
  type ProposeResult,
  ReplicationNode,
  type ReplicationNodeOptions,
} from './driver/node.js';
export { AcceptorHandshake, ConnectorHandshake, type HandshakeStep } from './driver/peer-handshake.js';
export { type PeerSecurity, type ResolvedPeerSecurity, resolvePeerSecurity } from './driver/peer-security.js';
export { defaultTransportLimits, type PeerAddress, TcpTransport, type TransportLimits } from './driver/transport.js';
export { type ReplicationErrorCode, replicationError, replicationErrorCodes } from './errors.js';
export { Progress, type ProgressState } from './progress.js';
export {
  type ElectionPolicy,
  type ProgressStatus,
  type Proposal,
  RaftNode,
  type ReadState,
  type Ready,
  type SoftState,
  type Status,
} from './raft.js';
export { RaftLog } from './raft-log.js';
export { type Rng, seededRng } from './rng.js';
export { type LogStorage, MemoryStorage } from './storage.js';
export * from './testing/index.js';
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
