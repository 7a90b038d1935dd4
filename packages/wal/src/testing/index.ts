/**
 * `@distkv/wal/testing`: tools for tests in this and later phases (a file
 * system that fails on purpose). Not part of the WAL's API: the main entry
 * point does not re-export them.
 */
export { type Fault, type FaultOp, FaultyFileSystem } from './faulty-fs.js';
