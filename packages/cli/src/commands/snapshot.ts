/**
 * `distkv snapshot save | status | restore`: an online backup of a running
 * cluster and a new cluster seeded from it (membership, chapter 5; etcd's
 * `etcdctl snapshot save` and `etcdutl snapshot restore`). `save` asks one
 * node's admin endpoint for a snapshot of everything it applied
 * (`GET /v1/snapshot`), checks it and writes it atomically; `status`
 * prints what a file holds; `restore` makes an empty data directory the
 * data of one node of a new cluster, with the members given. Every node of
 * the new cluster is restored from the same file. A directory that holds
 * anything is refused: a member of a live cluster is replaced, never
 * restored from an old copy.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { confState, DurableLog, formatAddress, type NodeId, readBackup, type Snapshot } from '@distkv/replication';
import { DataDirLock } from '@distkv/wal';
import { type Command, Option } from 'commander';
import { parseHostPort, parsePeers } from '../config.js';
import { commandGroup } from './arguments.js';
import { adminFetch, findMembers, MembersError, parseAuth, useAdminAuth } from './members-api.js';
import { defaultEndpoints } from './status.js';

/** What a backup file holds, as `status` prints it. */
function describe(bytes: Buffer, snapshot: Snapshot): Record<string, string | number> {
  const conf = snapshot.meta.conf;
  return {
    index: snapshot.meta.index,
    term: snapshot.meta.term,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    voters: conf === undefined ? '' : [...conf.voters].join(','),
    learners: conf === undefined ? '' : [...conf.learners].join(','),
  };
}

/** Writes `bytes` to `file` through a temporary file and a rename, synced, so a crash leaves the old file or the new one. */
async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

// #region snapshot-save
async function save(file: string, flags: { endpoints: string; auth?: string }): Promise<string> {
  useAdminAuth(flags.auth);
  const { from } = await findMembers(flags.endpoints);
  const answer = await adminFetch(`${from}/v1/snapshot`, { signal: AbortSignal.timeout(600_000) });
  if (!answer.ok) {
    const body = (await answer.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new MembersError(`${from} refused: ${body.error ?? `HTTP ${answer.status}`}: ${body.message ?? ''}`, body.error);
  }
  const bytes = Buffer.from(await answer.arrayBuffer());
  const d = describe(bytes, readBackup(bytes)); // checked (magic, length, checksum, members) before it is kept
  await writeDurably(resolve(file), bytes);
  return `saved the snapshot at index ${d.index} (term ${d.term}, ${d.bytes} bytes, sha256 ${d.sha256}) of ${from} to ${file}`;
}
// #endregion snapshot-save

// #region snapshot-restore
interface RestoreFlags {
  dataDir: string;
  id: string;
  peers: string;
  advertisePeer?: string;
}

async function restore(file: string, flags: RestoreFlags): Promise<string> {
  const peers = parsePeers(flags.peers);
  if (peers.has(flags.id)) throw new Error(`--peers lists this node (${flags.id}) too; list only the others`);
  const backup = readBackup(await readFile(file));
  const addresses: Record<string, string> = {};
  for (const [id, a] of peers) addresses[id] = formatAddress(a);
  if (flags.advertisePeer !== undefined) addresses[flags.id] = parseHostPort(flags.advertisePeer);
  const voters = [flags.id, ...peers.keys()] as NodeId[];
  const conf = confState(voters, [], [], addresses);
  const dir = resolve(flags.dataDir);
  const lock = DataDirLock.acquire(dir);
  try {
    await DurableLog.seed(dir, { meta: { index: backup.meta.index, term: backup.meta.term, conf }, data: backup.data });
  } finally {
    lock.release();
  }
  const peerFlag = `--peers ${flags.peers}`;
  return [
    `restored the snapshot at index ${backup.meta.index} (term ${backup.meta.term}) into ${dir} as ${flags.id}, one of the voters ${voters.join(',')}`,
    `start it with: distkv server --id ${flags.id} ${peerFlag} --data-dir ${flags.dataDir} --peer-port <its port>`,
  ].join('\n');
}
// #endregion snapshot-restore

function fail(name: string, err: unknown): void {
  if (!(err instanceof Error)) throw err; // MembersError and DistkvError are Errors too
  process.stderr.write(`distkv snapshot ${name}: ${(err as Error).message}\n`);
  process.exitCode = 1;
}

export function registerSnapshotCommand(program: Command): void {
  const snapshot = commandGroup(
    program,
    'snapshot',
    "backups: save a live node's snapshot, show what a file holds, seed a new cluster from one",
    [
      'distkv snapshot save backup.snap',
      'distkv snapshot status backup.snap',
      'distkv snapshot restore backup.snap --data-dir data/n1 --id n1 --peers n2=127.0.0.1:7102,n3=127.0.0.1:7103',
    ],
  );
  snapshot
    .command('save')
    .description(
      'take a consistent snapshot of a running node (everything it applied, at a committed index) through its admin endpoint, check it, write it to <file>',
    )
    .argument('<file>', 'where to write it (through a temporary file and a rename)')
    .option(
      '--endpoints <list>',
      'host:port[,host:port...] client or admin addresses; the first node that answers is asked',
      defaultEndpoints.join(','),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  distkv snapshot save backup.snap',
        '  distkv snapshot save /backups/n1.snap --endpoints 127.0.0.1:7201',
      ].join('\n'),
    )
    .addOption(
      new Option(
        '--auth <user:password>',
        'HTTP Basic credentials for nodes started with --user or --requirepass (any user: a backup holds every key)',
      ).argParser(parseAuth),
    )
    .action(async (file: string, flags: { endpoints: string; auth?: string }) => {
      try {
        process.stdout.write(`${await save(file, flags)}\n`);
      } catch (err) {
        fail('save', err);
      }
    });
  snapshot
    .command('status')
    .description('check a snapshot file (its checksum) and print its index, term, size, sha256 and members')
    .argument('<file>')
    .option('--json', 'print them as one JSON object')
    .addHelpText(
      'after',
      ['', 'Examples:', '  distkv snapshot status backup.snap', '  distkv snapshot status backup.snap --json'].join('\n'),
    )
    .action(async (file: string, flags: { json?: boolean }) => {
      try {
        const bytes = await readFile(file);
        const d = describe(bytes, readBackup(bytes));
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(d)}\n`
            : `${Object.entries(d)
                .map(([k, v]) => `${k}: ${v}`)
                .join('\n')}\n`,
        );
      } catch (err) {
        fail('status', err);
      }
    });
  snapshot
    .command('restore')
    .description(
      'make the empty --data-dir one node of a NEW cluster seeded from <file>, with the voters --id and --peers; restore every node of the new cluster from the same file, then start them',
    )
    .argument('<file>')
    .requiredOption('--data-dir <dir>', 'a directory that does not exist or is empty')
    .requiredOption('--id <id>', "this node's id in the new cluster")
    .requiredOption('--peers <list>', "the new cluster's other voters, id=host:port[,...] (their peer addresses)")
    .option('--advertise-peer <host:port>', "this node's own peer address, kept in the new configuration")
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  distkv snapshot restore backup.snap --data-dir data/n1 --id n1 --peers n2=127.0.0.1:7102,n3=127.0.0.1:7103',
        '  distkv snapshot restore backup.snap --data-dir data/n2 --id n2 --peers n1=127.0.0.1:7101,n3=127.0.0.1:7103',
      ].join('\n'),
    )
    .action(async (file: string, flags: RestoreFlags) => {
      try {
        process.stdout.write(`${await restore(file, flags)}\n`);
      } catch (err) {
        fail('restore', err);
      }
    });
}
