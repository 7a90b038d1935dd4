import { Command } from 'commander';
import { registerClientCommand } from './commands/client.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerServerCommand } from './commands/server.js';
import { registerStatusCommand } from './commands/status.js';

/**
 * The `distkv` command line. One file per subcommand under src/commands;
 * later phases register theirs here (cluster up, status, bench, wal ...).
 */
// #region program
export function buildProgram(): Command {
  const program = new Command('distkv')
    .description('distkv: a distributed key-value store, built as a tutorial')
    .version('0.3.0')
    .showHelpAfterError();
  registerServerCommand(program);
  registerClientCommand(program);
  registerClusterCommand(program);
  registerStatusCommand(program);
  return program;
}
// #endregion program
