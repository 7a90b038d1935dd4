import { type Command, InvalidArgumentError, Option } from 'commander';
import { adminFetch, parseAuth, useAdminAuth } from './members-api.js';
import { clusterStatus, defaultEndpoints, parseEndpoints } from './status.js';

interface TransferFlags {
  endpoints: string;
  auth?: string;
  timeoutMs: number;
  json?: boolean;
}

/** What a failed transfer prints: the node's registered code and message, or the reason no node could be asked. */
class TransferFailed extends Error {}

// #region leader-transfer
/**
 * `distkv leader transfer <id>`: finds the leader the way `status` does
 * (INFO over RESP from the endpoints, then every voter they name), asks its
 * admin endpoint (`POST /v1/leader/transfer`, so the node needs
 * `--http-port`, as `cluster up` gives every node) to hand leadership to
 * <id>, and prints the new leader and how long the hand-over took. Exit 0
 * when <id> leads, 1 when the node refused or timed out (its code says why).
 */
async function transfer(to: string, flags: TransferFlags): Promise<{ leader: string; from: string; tookMs: number }> {
  useAdminAuth(flags.auth);
  const rows = await clusterStatus(parseEndpoints(flags.endpoints));
  const leader = rows.find((r) => r.role === 'leader');
  if (leader === undefined) throw new TransferFailed('no node answered as leader; try again once one is elected');
  if (!rows.some((r) => r.id === to))
    throw new TransferFailed(`${to} is not a voter of this cluster (${rows.map((r) => r.id).join(', ')})`);
  if (leader.id === to) return { leader: to, from: to, tookMs: 0 };
  if (leader.http_addr === null)
    throw new TransferFailed(`the leader ${leader.id} has no admin endpoint (start it with --http-port)`);
  const answer = await adminFetch(`${leader.http_addr}/v1/leader/transfer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to, timeoutMs: flags.timeoutMs }),
    signal: AbortSignal.timeout(flags.timeoutMs + 5_000),
  });
  const body = (await answer.json()) as { leader?: string; tookMs?: number; error?: string; message?: string };
  if (!answer.ok) throw new TransferFailed(`${leader.id} refused: ${body.error ?? answer.status}: ${body.message ?? ''}`);
  return { leader: body.leader ?? to, from: leader.id, tookMs: body.tookMs ?? 0 };
}
// #endregion leader-transfer

export function registerLeaderCommand(program: Command): void {
  const leader = program
    .command('leader')
    .description('leadership: hand it to another voter')
    .addHelpText('after', ['', 'Examples:', '  distkv leader transfer n2'].join('\n'));
  leader
    .command('transfer')
    .description('hand leadership to the voter <id> (thesis §3.10) and wait until it leads')
    .argument('<id>', 'the voter that should lead, e.g. n2')
    .option('--endpoints <list>', 'host:port[,host:port...] client addresses to find the leader from', defaultEndpoints.join(','))
    .addOption(
      new Option('--timeout-ms <ms>', 'give up after this long').default(5000).argParser((text: string) => {
        const value = Number(text);
        if (!Number.isSafeInteger(value) || value < 1 || value > 600_000)
          throw new InvalidArgumentError('--timeout-ms must be an integer from 1 to 600000');
        return value;
      }),
    )
    .option('--json', 'print {"leader", "from", "took_ms"}')
    .addOption(
      new Option(
        '--auth <user:password>',
        'HTTP Basic credentials of a read-write user, for nodes started with --user or --requirepass',
      ).argParser(parseAuth),
    )
    .addHelpText(
      'after',
      ['', 'Examples:', '  distkv leader transfer n2', '  distkv leader transfer n3 --endpoints 127.0.0.1:7001 --json'].join(
        '\n',
      ),
    )
    .action(async (to: string, flags: TransferFlags) => {
      try {
        const r = await transfer(to, flags);
        if (flags.json) process.stdout.write(`${JSON.stringify({ leader: r.leader, from: r.from, took_ms: r.tookMs })}\n`);
        else if (r.from === r.leader) process.stdout.write(`${r.leader} already leads\n`);
        else process.stdout.write(`${r.leader} leads now (was ${r.from}), after ${r.tookMs} ms\n`);
      } catch (err) {
        process.stderr.write(`distkv leader transfer: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
