/**
 * @distkv/core — phase 1 of distkv: an in-memory, byte-ordered key-value
 * store whose changes are commands as data. See docs/01-core.md.
 */
export { AssertionError, assert } from './assert.js';
export {
  type BytesInput,
  binaryToUtf8,
  compareBytes,
  fromBinaryString,
  prefixEnd,
  toBinaryString,
  toBuffer,
} from './bytes.js';
export { COMMAND_FORMAT_VERSION, decodeCommand, encodeCommand } from './codec.js';
export {
  type Command,
  type CommandOp,
  type CommandResult,
  commands,
  isSessionNumber,
  type PutCondition,
  type SessionInnerOp,
} from './command.js';
export { crc32c } from './crc32c.js';
export {
  type CoreErrorCode,
  coreErrorCodes,
  DistkvError,
  type DistkvErrorCode,
  type DistkvErrorRegistry,
  defineErrors,
  type ErrorContract,
  errorContract,
  isDistkvError,
  meaningsOf,
  registerErrors,
  registeredErrors,
} from './errors.js';
export { type DefinedLimits, defineLimits, type LimitSpec, type LimitsOf } from './limit-spec.js';
export { defaultStoreLimits, resolveLimits, type StoreLimits, storeLimitTable } from './limits.js';
export type { LogLevel, LogLine } from './log.js';
export type { SessionTable } from './session.js';
export {
  type EntrySink,
  type RestoreResult,
  SNAPSHOT_VERSION,
  SNAPSHOT_VERSIONS_READ,
  SnapshotDecoder,
  type SnapshotOptions,
  SnapshotStream,
  type SnapshotView,
} from './snapshot.js';
export { type ScanOptions, Store, type StoreOptions } from './store.js';
export type { ArenaTable } from './table.js';
