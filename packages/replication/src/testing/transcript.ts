/**
 * Transcript tests in the style of etcd's raft `testdata/*.txt`: a file is a
 * sequence of commands, each followed by `----` and the output it must
 * produce. `runTranscript` executes the commands against a `SimCluster` and
 * returns the file as it should be, so a test compares it with the file and
 * `REWRITE=1` writes it back.
 *
 * Commands (ids are node ids):
 *   create ids=1,2,3 [leader=1] [heartbeat=1] [limit=value ...] [unsafe-commit-previous-term] [read-mode=lease|stale]
 *   transfer-leader <from> <to>                  read-index <id> <read-id>
 *   write-log <id> term=<t> <term>/<index> ...   (a down node's durable log, as a previous leader left it)
 *   propose <id> <key>=<value>                   tick <id> [count]
 *   process-ready [id ...]                       deliver-msgs [id ...]
 *   drop <from>-><to>                            reorder (reverse the in-flight messages)
 *   partition 1 | 2 3                            heal
 *   crash <id>                                   restart <id>
 *   compact <id>                                 stabilize
 *   status <id>                                  log <id>
 *   digests
 *   add-node <id>                                (a new, empty node that is not yet a member)
 *   conf-change <leader> add-learner|promote|remove <id> [auto]
 *   conf <id>                                    (the members in force on a node)
 *
 * A later phase adds words and commands through a `TranscriptExtension`
 * (`@distkv/election` adds `create ... elect` and `campaign <id>`).
 */
import { assert, commands, encodeCommand, isDistkvError } from '@distkv/core';
import type { ReplicationLimits } from '../config.js';
import { describeEntry, describeMessage, describeReady } from '../describe.js';
import { type ConfChange, describeConf } from '../membership.js';
import { seededRng } from '../rng.js';
import type { Entry, LogIndex, NodeId, Term } from '../types.js';
import { type ClusterOptions, InvariantViolation, SimCluster } from './cluster.js';

// #region transcript-extension
/** What a later phase adds to the transcript language. */
export interface TranscriptExtension {
  /** Cluster options from the words of `create` (for example `elect`), merged over the defaults. */
  clusterOptions?(args: readonly string[]): Partial<ClusterOptions>;
  /** A command of its own: the output lines, or undefined when the command is not its. */
  run?(cluster: SimCluster, command: string, args: readonly string[]): string[] | undefined;
}
// #endregion transcript-extension

const limitNames = new Set([
  'appendEntriesMax',
  'appendBytesMax',
  'inflightAppendsMax',
  'snapshotChunkBytesMax',
  'snapshotBytesMax',
  'entryBytesMax',
  'uncommittedBytesMax',
  'snapshotCatchUpEntries',
  'snapshotCatchUpBytes',
  'learnerCatchUpEntriesMax',
]);

class Session {
  cluster: SimCluster | undefined;
  readonly extension: TranscriptExtension;

  constructor(extension: TranscriptExtension) {
    this.extension = extension;
  }

  get c(): SimCluster {
    assert(this.cluster !== undefined, 'create a cluster first');
    return this.cluster;
  }

  run(command: string, args: string[]): string[] {
    const out: string[] = [];
    const c = (): SimCluster => this.c;
    const ids = (): NodeId[] => (args.length > 0 ? (args as NodeId[]) : [...c().ids]);
    switch (command) {
      case 'create': {
        const kv = new Map(args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]));
        const limits: Partial<ReplicationLimits> = {};
        for (const [k, v] of kv) if (limitNames.has(k)) limits[k as keyof ReplicationLimits] = Number(v);
        const leader = kv.get('leader');
        const readMode = kv.get('read-mode');
        this.cluster = new SimCluster({
          ids: (kv.get('ids') ?? '1,2,3').split(','),
          ...(leader !== undefined ? { leader } : {}),
          ...(readMode === 'lease' || readMode === 'stale' ? { readMode } : {}),
          heartbeatIntervalTicks: Number(kv.get('heartbeat') ?? 1),
          electionTimeoutTicks: 10,
          limits,
          unsafe: {
            commitPreviousTermEntries: args.includes('unsafe-commit-previous-term'),
            ...(args.includes('unsafe-conf-change-before-term-commit') ? { confChangeBeforeTermCommit: true } : {}),
          },
          rng: seededRng(0),
          ...this.extension.clusterOptions?.(args),
        });
        break;
      }
      case 'write-log': {
        const [id, termArg, ...ents] = args;
        const n = c().node(id as string);
        assert(!n.up, 'write-log needs a crashed node');
        const entries: Entry[] = ents.map((s) => {
          const [t, i] = s.split('/').map(Number);
          return { term: t as Term, index: i as LogIndex, payload: encodeCommand(commands.put(`t${t}i${i}`, 'x')) };
        });
        n.disk.synced = {
          hardState: { term: Number(termArg?.split('=')[1]) as Term, vote: null, commit: 0 as LogIndex },
          snapshot: n.disk.synced.snapshot,
          entries,
        };
        out.push(...entries.map((e) => describeEntry(e)));
        break;
      }
      case 'propose': {
        const [id, kv = 'x=x'] = args;
        const [k, v = k] = kv.split('=');
        try {
          const p = c().propose(id as NodeId, encodeCommand(commands.put(k as string, v as string)));
          out.push(`${p.term}/${p.index}`);
        } catch (err) {
          if (!isDistkvError(err)) throw err;
          out.push(`error: ${err.message}`);
        }
        break;
      }
      case 'transfer-leader':
      case 'read-index': {
        const [id, arg] = args;
        try {
          if (command === 'read-index')
            c()
              .raft(id as string)
              .readIndex(arg as string);
          else
            c()
              .raft(id as string)
              .transferLeadership(arg as NodeId);
        } catch (err) {
          if (!isDistkvError(err)) throw err;
          out.push(`error: ${err.message}`);
        }
        break;
      }
      case 'tick': {
        const [id, count = '1'] = args;
        for (let i = 0; i < Number(count); i++) c().tick(id as NodeId);
        break;
      }
      case 'process-ready':
        for (const id of ids()) {
          if (!c().node(id).up) continue;
          const rd = c().processReady(id);
          if (rd === undefined) continue;
          out.push(...describeReady(rd).map((l) => `${id}: ${l}`));
        }
        break;
      case 'deliver-msgs': {
        const targets = new Set(ids());
        const pending = c().network.filter((f) => targets.has(f.message.to));
        for (const f of pending) {
          const pos = c().network.indexOf(f);
          const { message, arrived } = c().deliver(pos);
          out.push(`${describeMessage(message)}${arrived ? '' : ' (lost)'}`);
        }
        break;
      }
      case 'drop': {
        const link = args[0] as string;
        for (let i = c().network.length - 1; i >= 0; i--) {
          const m = c().network[i]?.message;
          if (m !== undefined && `${m.from}->${m.to}` === link) out.unshift(`dropped ${describeMessage(c().drop(i))}`);
        }
        break;
      }
      case 'reorder':
        c().network.reverse();
        break;
      case 'partition': {
        const groups: NodeId[][] = [[]];
        for (const a of args) {
          if (a === '|') groups.push([]);
          else groups[groups.length - 1]?.push(a as NodeId);
        }
        c().partition(groups);
        break;
      }
      case 'heal':
        c().heal();
        break;
      case 'crash':
        c().crash(args[0] as NodeId);
        break;
      case 'restart':
        c().restart(args[0] as NodeId);
        break;
      case 'compact': {
        const at = c().compact(args[0] as NodeId);
        out.push(at === undefined ? 'nothing to compact' : `compacted through ${at}`);
        break;
      }
      case 'stabilize':
        c().settle(100, (l) => out.push(l));
        break;
      case 'status': {
        const s = c()
          .raft(args[0] as string)
          .status();
        // Electing clusters also show the vote (phase 4 transcripts keep their format).
        const vote = c().electing ? ` vote:${c().raft(args[0] as string).vote ?? 'none'}` : '';
        out.push(
          `${s.id} ${s.role} term:${s.term}${vote} leader:${s.leader ?? 'none'} log:[${s.firstIndex},${s.lastIndex}] commit:${s.commit} applied:${s.applied}`,
        );
        if (s.progress !== undefined) {
          for (const [id, p] of s.progress)
            out.push(`  ${id}: ${p.state} match:${p.match} next:${p.next} inflight:${p.inflights}`);
        }
        break;
      }
      case 'log': {
        const n = c().node(args[0] as string);
        const r = n.raft;
        assert(r !== undefined, 'log of a running node');
        const first = r.log.firstIndex();
        const snap = r.log.snapshot().meta;
        out.push(`snapshot ${snap.term}/${snap.index}`);
        if (first <= snap.index) out.push(`catch-up tail from ${first}`);
        for (const e of r.log.slice(
          first,
          (r.log.lastIndex() + 1) as LogIndex,
          Number.MAX_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER,
        )) {
          out.push(describeEntry(e));
        }
        break;
      }
      case 'add-node':
        c().addNode(args[0] as string);
        break;
      case 'conf-change': {
        const [id, type, node, auto] = args as [NodeId, string, NodeId, string | undefined];
        const change: ConfChange =
          type === 'add-learner' ? { type, node, autoPromote: auto === 'auto' } : { type: type as 'promote' | 'remove', node };
        try {
          const p = c().raft(id).proposeConfChange(change);
          out.push(`${p.term}/${p.index}`);
        } catch (err) {
          if (!isDistkvError(err)) throw err;
          out.push(`error: ${err.message}`);
        }
        break;
      }
      case 'conf': {
        const s = c()
          .raft(args[0] as string)
          .status();
        out.push(`${s.id} ${describeConf(s.conf)} (index ${s.confIndex})`);
        break;
      }
      case 'digests':
        for (const n of c().nodes.values())
          out.push(`${n.id}: applied:${n.appliedIndex} digest:${n.store.digest()}${n.up ? '' : ' (down)'}`);
        break;
      default: {
        const extended = this.extension.run?.(c(), command, args);
        if (extended === undefined) throw new Error(`unknown transcript command: ${command}`);
        out.push(...extended);
      }
    }
    return out;
  }
}

/** Runs a transcript and returns it with every command's output as the code produces it now. */
export function runTranscript(text: string, extension: TranscriptExtension = {}): string {
  const lines = text.split('\n');
  const out: string[] = [];
  const session = new Session(extension);
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    i++;
    if (line.trim() === '' || line.startsWith('#')) {
      out.push(line);
      continue;
    }
    out.push(line);
    assert(lines[i] === '----', `line ${i + 1}: a command is followed by ----`);
    i++;
    // Skip the old expected output: up to a blank line or the end.
    while (i < lines.length && (lines[i] as string).trim() !== '') i++;
    const [command, ...args] = line.trim().split(/\s+/);
    let result: string[];
    try {
      result = session.run(command as string, args);
    } catch (err) {
      // A transcript may show the checker catching a deliberately broken variant.
      if (!(err instanceof InvariantViolation)) throw err;
      result = [`invariant violated: ${err.message}`];
    }
    out.push('----', ...(result.length > 0 ? result : ['ok']));
  }
  return out.join('\n');
}
