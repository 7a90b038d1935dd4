/**
 * @distkv/wal — phase 2 of distkv: a checksummed, segmented write-ahead log
 * with group commit, atomic snapshots and crash recovery, and DurableStore,
 * the phase-1 store made durable. See docs/02-wal.md.
 */
export { DurableStore, type DurableStoreOptions } from './durable-store.js';
export { type WalErrorCode, walErrorCodes } from './errors.js';
export { nodeFileSystem, type WalFile, type WalFileSystem } from './fs.js';
export { defaultWalLimits, resolveWalLimits, type WalLimits, walLimitTable } from './limits.js';
export { DataDirLock, DataDirLockedError, LOCK_FILE } from './lock.js';
export { observeWal, WAL_OBSERVERS_MAX, type WalObserver } from './observe.js';
export { ENTRY_HEADER_BYTES, RECORD_HEADER_BYTES, RecordType, WAL_FORMAT_VERSION } from './record.js';
export type { ScanProblem } from './recovery.js';
export { type RepairResult, repair } from './repair.js';
export { segmentName } from './segment.js';
export type { HardState } from './state.js';
export { type AppendAck, type Durability, type FsyncPolicy, Wal, type WalEntry, type WalOptions } from './wal.js';
