/**
 * `pnpm chaos [--time 60] [--nodes 5] [--nemesis all] [--seed N] ...`: one
 * chaos run against a real local cluster (see run.ts). Progress goes to
 * stderr; stdout ends with one JSON line. Exit code 1 when the history is
 * not linearizable or an acknowledged write was lost, 2 on bad flags.
 */
import { parseArgs } from 'node:util';
import { NEMESES, type NemesisKind } from './nemesis.js';
import { type ChaosOptions, defaultChaosOptions, runChaos } from './run.js';

const usage = `usage: pnpm chaos [--time s] [--nodes 3|5] [--nemesis ${NEMESES.join('|')}] [--seed n]
  [--election raft|bully] [--replication sync|async] [--read-mode read-index|lease|stale]
  [--clients n] [--keys n] [--membership] [--report dir]
  --membership: membership changes (replace a member by --join, a learner in and out) alongside the nemesis`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(`--${name} must be an integer in ${min}..${max}, got ${value}`);
  return n;
}

function oneOf<T extends string>(name: string, value: string | undefined, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(`--${name} must be one of ${allowed.join(', ')}, got ${value}`);
  return value as T;
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs({
    options: {
      time: { type: 'string' },
      nodes: { type: 'string' },
      nemesis: { type: 'string' },
      seed: { type: 'string' },
      election: { type: 'string' },
      replication: { type: 'string' },
      'read-mode': { type: 'string' },
      clients: { type: 'string' },
      keys: { type: 'string' },
      report: { type: 'string' },
      membership: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const v = parsed.values as Record<string, string | undefined>;
if (parsed.values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const d = defaultChaosOptions;
const options: Partial<ChaosOptions> = {
  timeSec: int('time', v.time, d.timeSec, 1, 3600),
  nodes: int('nodes', v.nodes, d.nodes, 3, 7),
  nemesis: oneOf<NemesisKind>('nemesis', v.nemesis, d.nemesis, NEMESES),
  seed: int('seed', v.seed, Math.floor(Math.random() * 1_000_000), 0, 2 ** 31),
  election: oneOf('election', v.election, d.election, ['raft', 'bully'] as const),
  replication: oneOf('replication', v.replication, d.replication, ['sync', 'async'] as const),
  readMode: oneOf('read-mode', v['read-mode'], d.readMode, ['read-index', 'lease', 'stale'] as const),
  clients: int('clients', v.clients, d.clients, 1, 64),
  keys: int('keys', v.keys, d.keys, 1, 64),
  membership: parsed.values.membership === true,
  log: (line) => process.stderr.write(`chaos: ${line}\n`),
};
if (v.report !== undefined) options.reportDir = v.report;

const result = await runChaos(options);
const { details, ...line } = result;
for (const e of details.events) process.stderr.write(`  nemesis ${e.kind}: ${e.detail}\n`);
for (const c of details.crashes) process.stderr.write(`  CRASH ${c.id} (${c.code ?? c.signal}): ${c.log.slice(-600)}\n`);
for (const l of details.lost) process.stderr.write(`  LOST ${l.key}: acknowledged ${l.acknowledged}, final ${l.final}\n`);
if (details.diskSkipReason !== '') process.stderr.write(`  disk nemesis skipped: ${details.diskSkipReason}\n`);
if (details.finalReadsMissing.length > 0)
  process.stderr.write(`  final reads missing for ${details.finalReadsMissing.length} keys\n`);
if (!details.converged) process.stderr.write('  WARNING: the cluster did not converge after healing\n');
if (details.unknownSenders > 0)
  process.stderr.write(`  WARNING: ${details.unknownSenders} peer connections named no sender (their links took no faults)\n`);
process.stderr.write(`  members at the end: ${details.members.join(', ')}\n`);
if (details.explain !== '') process.stderr.write(`${details.explain}\n`);
process.stderr.write(`report: ${result.report}/index.html\n`);
process.stdout.write(`${JSON.stringify(line)}\n`);
process.exit(result.linearizable === true && result.lost_acknowledged_writes === 0 ? 0 : 1);
