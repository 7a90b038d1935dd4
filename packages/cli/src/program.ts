import { DISTKV_VERSION } from '@distkv/net';
import { Command } from 'commander';
import { registerBenchCommand } from './commands/bench.js';
import { registerClientCommand } from './commands/client.js';
import { defaultBasePort, registerClusterCommand } from './commands/cluster.js';
import { registerClusterMembership } from './commands/cluster-members.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerLeaderCommand } from './commands/leader.js';
import { registerMemberCommand } from './commands/member.js';
import { registerServerCommand } from './commands/server.js';
import { registerSnapshotCommand } from './commands/snapshot.js';
import { registerStatusCommand } from './commands/status.js';
import { registerWalCommand } from './commands/wal.js';

/**
 * The `distkv` command line. One file per subcommand under src/commands.
 */
// #region program
export function buildProgram(): Command {
  const program = new Command('distkv')
    .description('distkv: a distributed key-value store, built as a tutorial')
    .version(DISTKV_VERSION) // every @distkv/* package shares one version (changesets `fixed`)
    .showHelpAfterError()
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  distkv cluster up                      # 3 local nodes on ports 7001-7003',
        '  distkv client 127.0.0.1:7001           # a prompt that follows the leader',
        '  distkv status --watch',
        '  distkv member list                     # voters, learners, lag',
        '  distkv bench --clients 50 --ops 100000 --out ./bench-out',
        '  distkv doctor',
        '  distkv wal inspect ./data/n1',
        '  source <(distkv completion bash)',
        '',
        'Every command has --help with examples.',
      ].join('\n'),
    );
  registerServerCommand(program);
  registerClientCommand(program);
  registerClusterMembership(registerClusterCommand(program), { basePort: defaultBasePort, dataDir: './data' });
  registerStatusCommand(program);
  registerLeaderCommand(program);
  registerMemberCommand(program);
  registerSnapshotCommand(program);
  registerBenchCommand(program);
  registerWalCommand(program);
  registerDoctorCommand(program);
  registerCompletionCommand(program);
  return program;
}
// #endregion program
