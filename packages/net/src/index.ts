/**
 * @distkv/net — phase 3 of distkv: the store on the network. One port
 * speaks RESP2 (redis-cli, redis-benchmark, ioredis) and the seed's line
 * protocol; peers use length-prefixed frames. See docs/03-net.md.
 */
export type { KvBackend } from './backend.js';
export {
  Client,
  type ClientOptions,
  type LineReply,
  type ReconnectOptions,
  type SessionOptions,
  type SessionStats,
} from './client.js';
export {
  type ClientPortSecurityOptions,
  checkClientExposure,
  defaultSecurityLimits,
  isLoopbackHost,
  type Permission,
  parseBasicAuth,
  parseUserSpec,
  readTlsMaterial,
  resolveSecurityLimits,
  type SecurityLimits,
  securityLimitTable,
  type TlsMaterial,
  type UserSpec,
  UserTable,
} from './client-port-security.js';
export type { ClientProtocol, RequestSample } from './connection.js';
export { type NetErrorCode, netErrorCodes, ServerError } from './errors.js';
export {
  encodeFrame,
  FRAME_BYTES_HARD_MAX,
  FrameDecoder,
  FramedConnection,
  type FramedConnectionOptions,
} from './framed.js';
export { parseInfo } from './info.js';
export { type InlineLimits, nextInline, splitInline } from './inline-parser.js';
export { defaultServerLimits, resolveServerLimits, type ServerLimits, serverLimitTable } from './limits.js';
export { LineParser } from './line-parser.js';
export { encodeRequest, RespErrorReply, RespReplyDecoder, type RespValue } from './resp-client-codec.js';
export {
  type CommandSpec,
  commandTable,
  type Handler,
  type Outcome,
  type ServerContext,
  type SessionState,
} from './resp-commands.js';
export { ProtocolViolation, type RequestParserLimits, RespRequestParser } from './resp-parser.js';
export type { ScanCursors } from './scan-cursors.js';
export { Server, type ServerOptions } from './server.js';
export { DISTKV_VERSION } from './version.js';
