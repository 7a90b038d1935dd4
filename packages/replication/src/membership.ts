/**
 * Who belongs to the cluster, kept in the log (thesis §4.1): a change of
 * members is an entry like any other, and each node uses the latest
 * configuration in its log, committed or not, from the moment it appends
 * it. One voter is added or removed per entry (single-server changes,
 * thesis §4.2): any majority of the old voters and any majority of the new
 * ones then share a node, so two leaders of one term cannot be elected by
 * disjoint majorities, and no joint configuration is needed.
 *
 * A learner receives the log but does not vote and is not counted for
 * commit, ReadIndex or check-quorum: a new node catches up as a learner
 * first, so adding it never makes the cluster wait for a node that holds
 * nothing (etcd's learners, thesis §4.2.1).
 *
 * Pure data and pure functions: RaftNode decides when a change may be
 * proposed; this file says what a change is, how it is encoded in an
 * entry, and what configuration it produces.
 */
import type { NodeId } from './types.js';

// #region conf-state
/** The members in force: voters, and learners (a subset of which are promoted once caught up). */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Learners the leader promotes to voters by itself once they are caught up (a node that joined). */
  readonly autoPromote: readonly NodeId[];
  /**
   * Where members' peers reach them (`host:port`), as the change that added
   * each one said; a member started from `--peers` may have none here. The
   * state machine only carries it: the driver dials these.
   */
  readonly addresses: Readonly<Record<string, string>>;
  /**
   * Ids removed from the cluster, oldest first (the latest REMOVED_IDS_KEPT):
   * never added again, so a node that missed its removal and comes back
   * cannot pass for the new node of the same name, and members tell such a
   * node that it is out (the driver's peer handshake).
   */
  readonly removed: readonly NodeId[];
}

/** One step of a membership change. */
export type ConfChange =
  /** A new node, as a learner; `autoPromote`: promote it once it is caught up; `address`: its peer address. */
  | { readonly type: 'add-learner'; readonly node: NodeId; readonly autoPromote: boolean; readonly address?: string }
  /** A learner becomes a voter. */
  | { readonly type: 'promote'; readonly node: NodeId }
  /** A voter or learner leaves. */
  | { readonly type: 'remove'; readonly node: NodeId };
// #endregion conf-state

export function confState(
  voters: readonly NodeId[],
  learners: readonly NodeId[] = [],
  autoPromote: readonly NodeId[] = [],
  addresses: Readonly<Record<string, string>> = {},
  removed: readonly NodeId[] = [],
): ConfState {
  return {
    voters: [...voters],
    learners: [...learners],
    autoPromote: [...autoPromote],
    addresses: { ...addresses },
    removed: [...removed],
  };
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

export function sameConf(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && [...x].sort().join('\0') === [...y].sort().join('\0');
  const addresses = (c: ConfState) => Object.entries(c.addresses).map(([id, address]) => `${id}=${address}`);
  return (
    same(a.voters, b.voters) &&
    same(a.learners, b.learners) &&
    same(a.autoPromote, b.autoPromote) &&
    same(addresses(a), addresses(b)) &&
    same(a.removed, b.removed)
  );
}

export function describeConf(conf: ConfState): string {
  const learners = conf.learners.map((l) => (conf.autoPromote.includes(l) ? `${l}*` : l));
  return `voters=${conf.voters.join(',') || '-'} learners=${learners.join(',') || '-'}`;
}

// #region validate-conf-change
/**
 * Why `change` cannot apply to `conf`, or undefined if it can. The leader
 * checks before it proposes; every node applies only changes that pass,
 * so a change that became invalid (it cannot, with one change at a time,
 * but a peer's log is input) is a no-op everywhere alike.
 */
export function confChangeProblem(conf: ConfState, change: ConfChange, votersMax: number): string | undefined {
  const { node } = change;
  switch (change.type) {
    case 'add-learner':
      if (isMember(conf, node)) return `${node} is already a ${conf.voters.includes(node) ? 'voter' : 'learner'}`;
      if (conf.removed.includes(node))
        return `${node} was removed from this cluster, and an id is never used again: give the new node another id`;
      if (conf.voters.length + conf.learners.length >= votersMax * 2) return `the cluster already has ${votersMax * 2} members`;
      return undefined;
    case 'promote':
      if (!conf.learners.includes(node)) return `${node} is not a learner`;
      if (conf.voters.length >= votersMax) return `the cluster already has limits.votersMax = ${votersMax} voters`;
      return undefined;
    case 'remove':
      if (!isMember(conf, node)) return `${node} is not a member`;
      if (conf.voters.length === 1 && conf.voters[0] === node) return `${node} is the last voter`;
      return undefined;
  }
}
// #endregion validate-conf-change

export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const { node } = change;
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== node);
  switch (change.type) {
    case 'add-learner':
      return confState(
        conf.voters,
        [...conf.learners, node],
        change.autoPromote ? [...conf.autoPromote, node] : conf.autoPromote,
        change.address === undefined ? conf.addresses : { ...conf.addresses, [node]: change.address },
        conf.removed,
      );
    case 'promote':
      return confState([...conf.voters, node], without(conf.learners), without(conf.autoPromote), conf.addresses, conf.removed);
    case 'remove': {
      const { [node]: _gone, ...addresses } = conf.addresses;
      const removed = [...conf.removed, node].slice(-REMOVED_IDS_KEPT);
      return confState(without(conf.voters), without(conf.learners), without(conf.autoPromote), addresses, removed);
    }
  }
}

/** Why `conf` cannot be a configuration, or undefined: what a peer or a file says is checked before it is used. */
export function confStateProblem(conf: ConfState): string | undefined {
  if (conf.voters.length === 0) return 'no voter';
  if (new Set([...conf.voters, ...conf.learners]).size !== conf.voters.length + conf.learners.length) return 'an id repeats';
  if (!conf.autoPromote.every((l) => conf.learners.includes(l))) return 'only a learner is promoted by itself';
  if (!Object.keys(conf.addresses).every((id) => isMember(conf, id as NodeId))) return 'an address of a non-member';
  if (conf.removed.some((id) => isMember(conf, id))) return 'a removed id is a member';
  if (new Set(conf.removed).size !== conf.removed.length) return 'a removed id repeats';
  return undefined;
}

// #region conf-entry
/**
 * A configuration entry's payload: the tag byte 0xC0, a format version,
 * the change, and the whole configuration it produces. Every member could
 * compute that configuration from the one before, but a node that joins
 * has no "before": its log may start after the entries that made the
 * cluster what it is, so the entry says it outright (etcd bootstraps its
 * first members as entries for the same reason). An application's
 * payloads never start with 0xC0 (`@distkv/core`'s commands start with
 * their format version, 1), and `propose` refuses any that does, so no
 * client can forge a membership change through a write.
 */
export const CONF_ENTRY_TAG = 0xc0;
const CONF_ENTRY_VERSION = 1;
const typeCodes = { 'add-learner': 1, promote: 2, remove: 3 } as const;
/** Most bytes of a node id in a configuration entry. */
export const NODE_ID_BYTES_MAX = 255;
/** Most ids in one list of a configuration entry. */
export const CONF_IDS_MAX = 255;
/** Most bytes of a peer address (`host:port`) in a configuration. */
export const ADDRESS_BYTES_MAX = 255;
/** Removed ids a configuration remembers (the latest); an id removed longer ago could be added again. */
export const REMOVED_IDS_KEPT = CONF_IDS_MAX;

export interface ConfEntry {
  readonly change: ConfChange;
  /** The members once the change is in force. */
  readonly conf: ConfState;
}
// #endregion conf-entry

export function isConfPayload(payload: Uint8Array): boolean {
  return payload.byteLength > 0 && payload[0] === CONF_ENTRY_TAG;
}

function shortString(s: string, what: string, max: number): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.byteLength === 0 || b.byteLength > max) throw new RangeError(`${what} of ${b.byteLength} bytes (1..${max})`);
  return Buffer.concat([Buffer.of(b.byteLength), b]);
}

/**
 * A configuration as bytes: the voters, the learners and those promoted by
 * themselves, each a count and its ids, then the addresses as id and
 * address pairs, then the removed ids. The same bytes in a configuration entry, in a snapshot
 * sent to a follower and in the snapshot file.
 */
export function encodeConfState(conf: ConfState): Buffer {
  const parts: Buffer[] = [];
  const addresses = Object.entries(conf.addresses);
  for (const ids of [conf.voters, conf.learners, conf.autoPromote, addresses, conf.removed]) {
    if (ids.length > CONF_IDS_MAX) throw new RangeError(`${ids.length} ids in one list (at most ${CONF_IDS_MAX})`);
  }
  for (const ids of [conf.voters, conf.learners, conf.autoPromote]) {
    parts.push(Buffer.of(ids.length));
    for (const id of ids) parts.push(shortString(id, 'a node id', NODE_ID_BYTES_MAX));
  }
  parts.push(Buffer.of(addresses.length));
  for (const [id, address] of addresses) {
    parts.push(shortString(id, 'a node id', NODE_ID_BYTES_MAX), shortString(address, 'an address', ADDRESS_BYTES_MAX));
  }
  parts.push(Buffer.of(conf.removed.length));
  for (const id of conf.removed) parts.push(shortString(id, 'a node id', NODE_ID_BYTES_MAX));
  return Buffer.concat(parts);
}

/**
 * Reads what encodeConfState wrote, from `start` to `end` (default: the end
 * of `b`); undefined for bytes that are not a valid configuration.
 */
export function decodeConfState(b: Buffer, start: number, end = b.byteLength): { conf: ConfState; end: number } | undefined {
  let at = start;
  const str = (): string | undefined => {
    const n = b[at];
    if (n === undefined || n === 0 || at + 1 + n > end) return undefined;
    const s = b.toString('utf8', at + 1, at + 1 + n);
    at += 1 + n;
    return s;
  };
  const list = (): NodeId[] | undefined => {
    const count = at < end ? b[at] : undefined;
    if (count === undefined) return undefined;
    at++;
    const out: NodeId[] = [];
    for (let i = 0; i < count; i++) {
      const one = str();
      if (one === undefined) return undefined;
      out.push(one as NodeId);
    }
    return out;
  };
  const voters = list();
  const learners = list();
  const autoPromote = list();
  const pairs = at < end ? b[at] : undefined;
  if (voters === undefined || learners === undefined || autoPromote === undefined || pairs === undefined) return undefined;
  at++;
  const addresses: Record<string, string> = {};
  for (let i = 0; i < pairs; i++) {
    const id = str();
    const address = str();
    if (id === undefined || address === undefined || id in addresses) return undefined;
    addresses[id] = address;
  }
  const removed = list();
  if (removed === undefined) return undefined;
  const conf = confState(voters, learners, autoPromote, addresses, removed);
  return confStateProblem(conf) === undefined ? { conf, end: at } : undefined;
}

export function encodeConfEntry({ change, conf }: ConfEntry): Uint8Array {
  const flags = change.type === 'add-learner' && change.autoPromote ? 1 : 0;
  const node = shortString(change.node, 'a node id', NODE_ID_BYTES_MAX);
  return new Uint8Array(
    Buffer.concat([Buffer.of(CONF_ENTRY_TAG, CONF_ENTRY_VERSION, typeCodes[change.type], flags), node, encodeConfState(conf)]),
  );
}

/**
 * The change and configuration a configuration entry holds, or undefined
 * when its bytes are not one this version knows: then it is a no-op on
 * every node alike (the same bytes decode the same way everywhere).
 */
export function decodeConfEntry(payload: Uint8Array): ConfEntry | undefined {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (b.byteLength < 5 || b[0] !== CONF_ENTRY_TAG || b[1] !== CONF_ENTRY_VERSION) return undefined;
  const n = b[4] as number;
  if (n === 0 || 5 + n > b.byteLength) return undefined;
  const node = b.toString('utf8', 5, 5 + n) as NodeId;
  const decoded = decodeConfState(b, 5 + n);
  if (decoded === undefined || decoded.end !== b.byteLength) return undefined;
  const { conf } = decoded;
  switch (b[2]) {
    case typeCodes['add-learner']: {
      const address = conf.addresses[node];
      const autoPromote = ((b[3] as number) & 1) === 1;
      return { change: { type: 'add-learner', node, autoPromote, ...(address === undefined ? {} : { address }) }, conf };
    }
    case typeCodes.promote:
      return { change: { type: 'promote', node }, conf };
    case typeCodes.remove:
      return { change: { type: 'remove', node }, conf };
    default:
      return undefined;
  }
}

export function describeConfChange(change: ConfChange): string {
  return change.type === 'add-learner' && change.autoPromote
    ? `add-learner ${change.node} auto-promote`
    : `${change.type} ${change.node}`;
}
