/**
 * `@distkv/net/testing`: tools for tests and examples in this and later
 * phases — a backend without a disk, a throwaway PKI, the one helper that
 * picks a port a child process must be told in advance, and the system
 * tools some tests need (a skip outside CI, a failure in CI). Not part of
 * the network layer's API: the main entry point does not re-export them.
 */
export { MemoryBackend } from './memory-backend.js';
export { reservePort } from './ports.js';
export { makeTestPki, type TestPki } from './tls-certs.js';
export { CHROMIUM_PATH, hasCommand, missingTool, type SystemTool, systemTools } from './tools.js';
