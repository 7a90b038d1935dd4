/**
 * `@distkv/net/testing`: tools for tests and examples in this and later
 * phases — a backend without a disk, a throwaway PKI, and the one helper
 * that picks a port a child process must be told in advance. Not part of
 * the network layer's API: the main entry point does not re-export them.
 */
export { MemoryBackend } from './memory-backend.js';
export { reservePort } from './ports.js';
export { makeTestPki, type TestPki } from './tls-certs.js';
