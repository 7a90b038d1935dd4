/**
 * `@distkv/core/testing`: tools for tests and simulators in this and later
 * phases. Not part of the store's API (the main entry point does not
 * re-export them).
 */
export { splitAt } from './chunks.js';
export { throwsDistkvError } from './errors.js';
export { hasScript, plain, startPty } from './pty.js';
export { mulberry32, type TestRng } from './rng.js';
export { firstFailingRun } from './seeds.js';
export { waitUntil } from './wait.js';
