/**
 * @distkv/cli — the `distkv` command. Its public API is small: the program
 * (for tests and for embedding), the REPL's helpers, the server's
 * configuration resolver and the bench report's shape.
 */

// The lock lives in @distkv/wal, the layer that opens the directory; re-exported for code that took it from here.
export { DataDirLock, DataDirLockedError, LOCK_FILE } from '@distkv/wal';
export { type BenchOptions, type BenchReport, runBench } from './commands/bench.js';
export { parseAddress } from './commands/client.js';
export { bashCompletion, zshCompletion } from './commands/completion.js';
export { inspectWal, type WalReport } from './commands/wal.js';
export {
  ConfigError,
  type ConfigSources,
  effectiveTiming,
  envName,
  flagName,
  resolveServerConfig,
  type ServerConfig,
  type SettingName,
  type Settings,
  serverSettings,
} from './config.js';
export { type CliErrorCode, cliErrorCodes } from './errors.js';
export { formatReply, splitCommandLine } from './format.js';
export { buildProgram } from './program.js';
export { replyToJson } from './repl.js';
