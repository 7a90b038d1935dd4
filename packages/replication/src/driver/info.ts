/**
 * What a node says about itself: the `INFO replication` section (served
 * over RESP by the net server) and the last-contact age `distkv status`
 * shows. Read-only: it is built from a view of the node's state, at the
 * moment it is asked for.
 */

import type { ReplicationMode } from '../config.js';
import type { Status } from '../raft.js';
import type { LogIndex, NodeId } from '../types.js';

/** The parts of the address book INFO reads. */
export interface AddressView {
  clientAddress(id: string): string | undefined;
  httpAddress(id: string): string | undefined;
  sinceHeardMs(id: string): number | undefined;
}

export interface InfoView {
  readonly status: Status;
  readonly voters: readonly NodeId[];
  /** Non-voting members (membership, chapter 5). */
  readonly learners: readonly NodeId[];
  readonly mode: ReplicationMode;
  readonly addresses: AddressView;
  readonly snapshotIndex: LogIndex;
  readonly snapshotsInstalled: number;
  readonly forwardsPending: number;
}

// #region info
/**
 * The `INFO replication` fields, in order. `leader_addr` is the leader's
 * client address, learnt from its hello (or our own when we lead).
 * `last_contact_ms` is how long ago this node last heard its leader (a
 * follower), or a majority of the voters (the leader); empty when it
 * has not. One `member<i>` line per member, voters first, tells what each
 * one is and where, so asking any node is enough to find the others
 * (`distkv status`). `conf_role` is this node's own place: voter,
 * learner, or none (joining, or removed); `conf_index` the index of the
 * configuration in force (0: the one it started with).
 */
export function infoFields(v: InfoView): Array<[string, string | number]> {
  const s = v.status;
  const contact = lastContactMs(s, v.voters, v.addresses);
  const fields: Array<[string, string | number]> = [
    ['role', s.role],
    ['node_id', s.id],
    ['leader_id', s.leader ?? ''],
    ['leader_addr', s.leader === null ? '' : (v.addresses.clientAddress(s.leader) ?? '')],
    ['replication_mode', v.mode],
    ['term', s.term],
    ['commit_index', s.commit],
    ['applied_index', s.applied],
    ['first_index', s.firstIndex],
    ['last_index', s.lastIndex],
    ['snapshot_index', v.snapshotIndex],
    ['snapshots_installed', v.snapshotsInstalled],
    ['forwards_pending', v.forwardsPending],
    ['http_addr', v.addresses.httpAddress(s.id) ?? ''],
    ['last_contact_ms', contact ?? ''],
    ['conf_role', v.voters.includes(s.id) ? 'voter' : v.learners.includes(s.id) ? 'learner' : 'none'],
    ['conf_index', s.confIndex],
    ['voters', v.voters.length],
    ['learners', v.learners.length],
  ];
  if (s.progress !== undefined) {
    let i = 0;
    for (const [id, p] of s.progress) {
      if (id === s.id) continue;
      fields.push([`follower${i++}`, `id=${id},state=${p.state},match_index=${p.match},lag=${s.lastIndex - p.match}`]);
    }
  }
  [...v.voters, ...v.learners].forEach((id, i) => {
    const heard = id === s.id ? 0 : v.addresses.sinceHeardMs(id);
    const parts = [
      `id=${id}`,
      `role=${i < v.voters.length ? 'voter' : 'learner'}`,
      `client_addr=${v.addresses.clientAddress(id) ?? ''}`,
      `http_addr=${v.addresses.httpAddress(id) ?? ''}`,
      `last_contact_ms=${heard ?? ''}`,
    ];
    fields.push([`member${i}`, parts.join(',')]);
  });
  return fields;
}

/**
 * The "last heartbeat" of `distkv status`. A follower: ms since its
 * leader's last message. The leader: ms since it last heard a majority
 * (itself counted at 0), the age check-quorum watches. Otherwise, and
 * when it never heard them: undefined.
 */
export function lastContactMs(s: Status, voters: readonly NodeId[], addresses: AddressView): number | undefined {
  if (s.leader === null) return undefined;
  if (s.role !== 'leader') return s.leader === s.id ? undefined : addresses.sinceHeardMs(s.leader);
  const ages = voters.map((id) => (id === s.id ? 0 : addresses.sinceHeardMs(id)));
  const known = ages.filter((a): a is number => a !== undefined).sort((a, b) => a - b);
  const quorum = Math.floor(voters.length / 2) + 1;
  return known[quorum - 1];
}

/** The same fields as text, one `field:value` per line as Redis prints INFO. */
export function infoText(fields: ReadonlyArray<readonly [string, string | number]>): string {
  return `${fields.map(([k, v]) => `${k}:${v}`).join('\r\n')}\r\n`;
}
// #endregion info
