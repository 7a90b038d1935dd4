/**
 * @distkv/cli — the `distkv` command. Its public API is small: the program
 * (for tests and for embedding) and the REPL's helpers.
 */

export { parseAddress } from './commands/client.js';
export { formatReply, splitCommandLine } from './format.js';
export { buildProgram } from './program.js';
