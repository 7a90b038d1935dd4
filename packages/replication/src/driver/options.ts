/**
 * What a ReplicationNode is started with: its options, the limits of its
 * write path and their validation, and how the options become the
 * RaftConfig of its state machine. Everything a node is told about leading
 * and electing (`leader`, `election`, `readMode`, the timing) turns into
 * Raft's config in `raftConfigOf`, one place, so changing what the state
 * machine is told changes this file only.
 */

import type { LogLine, StoreOptions } from '@distkv/core';
import type { RaftConfig, ReadMode, ReplicationLimits, ReplicationMode } from '../config.js';
import type { ElectionFactory } from '../election-seam.js';
import { replicationError } from '../errors.js';
import type { LogIndex, NodeId } from '../types.js';
import type { DurableLogOptions } from './durable-log.js';
import type { PeerSecurity } from './peer-auth.js';
import type { PeerAddress, TcpTransport, TransportLimits } from './transport.js';

export interface ReplicationNodeOptions {
  id: string;

  // Leading and electing: all of it reaches the state machine through raftConfigOf.
  /** Phase 4: the leader, named by configuration (a single voter without `election` leads itself). */
  leader?: string | undefined;
  /** Phase 5, instead of `leader`: who decides leadership, from @distkv/election (`raftElection()`, `bullyElection()`). */
  election?: ElectionFactory | undefined;
  /**
   * How `readBarrier` confirms a read (see ReadMode). Default `read-index`
   * when electing; `stale` with a fixed leader, phase 4's behaviour: every
   * node serves reads from what it has applied.
   */
  readMode?: ReadMode | undefined;
  /**
   * Which timing preset the next three default to when electing:
   * `lan` (electionDefaults), `loopback` (loopbackTimings), or `auto`
   * (default): loopback when `listen` and every peer are loopback addresses.
   * A fixed leader always uses fixedLeaderDefaults.
   */
  timing?: TimingPreset | undefined;
  /** Milliseconds per tick; default from the timing preset. */
  tickMs?: number | undefined;
  /** Leader sends heartbeats every this many ticks; default from the timing preset. */
  heartbeatIntervalTicks?: number | undefined;
  /** Followers campaign after a random [1, 2) multiple of this many silent ticks; default from the timing preset. */
  electionTimeoutTicks?: number | undefined;

  /**
   * Every other voter and its peer address, when the cluster is created.
   * Once the log holds a membership change, the members in the log win;
   * an address given here wins over the log's (a member that moved). With
   * `join`: the members to reach, none of them a voter of this node's yet
   * (none at all on a restart that starts from the node's own log).
   */
  peers: ReadonlyMap<string, PeerAddress>;
  /**
   * This node joins a running cluster (membership, chapter 5): it starts as
   * no member, with no vote, and waits for the leader to add it
   * (`proposeConfChange`); it learns the members from the leader's log or
   * snapshot. Needs an election. On restart the log says who it is.
   */
  join?: boolean;
  /**
   * This node's peer address as the others should dial it (`host:port`),
   * carried into the configuration with its first change. Default: the
   * listen address, unless that is a wildcard (0.0.0.0, ::), which nobody
   * can dial.
   */
  advertise?: string;
  dataDir: string;
  mode: ReplicationMode;
  /** Where to listen for peers, or a transport already listening (tests pick port 0 first). */
  listen: PeerAddress | TcpTransport;
  limits?: Partial<ReplicationLimits>;
  transportLimits?: Partial<TransportLimits>;
  /** Mutual TLS and/or a cluster secret on the peer port (see peer-auth.ts); left out, peers are not authenticated. */
  peerSecurity?: PeerSecurity;
  store?: StoreOptions;
  /** Snapshot and compact once this many entries were applied since the last snapshot. Default 10,000. */
  compactEveryEntries?: number;
  /** Operational messages (fatal errors, snapshot installs). */
  log?: LogLine;
  /** This node's client (RESP) address, `host:port`, told to peers in the hello so `leader_addr` can name it. */
  clientAddress?: string;
  /**
   * When the Raft log counts an entry as persisted (see DurableLogOptions):
   * `always` (default); `interval` or `none` only for a single voter, as
   * anything but `always` lets a restarted voter forget entries it
   * acknowledged to a leader, which can lose committed writes.
   */
  fsync?: DurableLogOptions['fsync'];
  fsyncIntervalMs?: number;
  /** Forwarding and write limits; see ForwardLimits. */
  forwardLimits?: Partial<ForwardLimits>;
}

// #region forward-limits
/** Bounds on the write path that the net server drives (`execute`), validated at start. */
export interface ForwardLimits {
  /** A write not answered within this many ms fails with TIMEOUT (indefinite: it may still apply). */
  writeTimeoutMs: number;
  /** Most writes this node has forwarded to the leader and not yet heard back about; FORWARDS_FULL beyond. */
  forwardsPendingMax: number;
  /** Most forwarded writes the leader serves at once, from all followers together; FORWARDS_FULL beyond. */
  forwardsServingMax: number;
}

export const defaultForwardLimits: Readonly<ForwardLimits> = Object.freeze({
  writeTimeoutMs: 5_000,
  forwardsPendingMax: 10_000,
  forwardsServingMax: 20_000,
});
// #endregion forward-limits

const forwardLimitsMax: Readonly<ForwardLimits> = Object.freeze({
  writeTimeoutMs: 3_600_000,
  forwardsPendingMax: 1_000_000,
  forwardsServingMax: 1_000_000,
});

export function resolveForwardLimits(partial: Partial<ForwardLimits> = {}): ForwardLimits {
  const limits = { ...defaultForwardLimits, ...partial };
  for (const [k, v] of Object.entries(limits)) {
    const max = forwardLimitsMax[k as keyof ForwardLimits];
    if (!Number.isSafeInteger(v) || v < 1 || v > max)
      throw replicationError('CONFIG_INVALID', `${k} must be an integer in 1..${max}, got ${v}`);
  }
  return limits;
}

/** Snapshot every this many applied entries unless told otherwise. */
export const COMPACT_EVERY_ENTRIES_DEFAULT = 10_000;

/** Throws CONFIG_INVALID before anything is opened: a bad option must not leave a half-started node. */
export function validateOptions(options: ReplicationNodeOptions): void {
  resolveForwardLimits(options.forwardLimits);
  const fsync = options.fsync ?? 'always';
  if (fsync !== 'always' && options.peers.size > 0)
    throw replicationError(
      'CONFIG_INVALID',
      `fsync ${fsync} is for a single voter only: a voter that forgets acknowledged entries can lose committed writes`,
    );
  if (options.join === true && options.election === undefined)
    throw replicationError('CONFIG_INVALID', 'a joining node needs an election (phase 5): a fixed leader keeps its members');
  if (options.leader === undefined && options.election === undefined && options.peers.size > 0)
    throw replicationError('CONFIG_INVALID', 'name the leader (phase 4) or give an election (phase 5, @distkv/election)');
  const timing = options.timing ?? 'auto';
  if (timing !== 'auto' && timing !== 'lan' && timing !== 'loopback')
    throw replicationError('CONFIG_INVALID', `timing must be auto, lan or loopback, got ${String(timing)}`);
  const tickMs = options.tickMs;
  if (tickMs !== undefined && (!Number.isSafeInteger(tickMs) || tickMs < 1 || tickMs > TICK_MS_MAX))
    throw replicationError('CONFIG_INVALID', `tickMs must be an integer in [1, ${TICK_MS_MAX}], got ${tickMs}`);
}

/** A tick longer than a minute makes every timeout minutes long: a typo, not a setting. */
export const TICK_MS_MAX = 60_000;

// #region election-defaults
/**
 * Timing when the nodes elect, for nodes on a LAN: a 100 ms tick, a
 * heartbeat every tick, and a follower that hears nothing for a random
 * 2–4 s campaigns. Peers talk TCP, and a lost segment is sent again only
 * after the retransmission timeout (at least 200 ms on Linux, doubling at
 * each further loss), while everything sent after it waits: the timeout
 * covers one heartbeat plus three losses of a segment in a row,
 * 100 + 200 + 400 + 800 = 1,500 ms, with room to spare. Failover takes one
 * election timeout plus a vote round trip. A fixed leader keeps phase 4's
 * 50 ms tick and 1 s timeout.
 */
export const electionDefaults = Object.freeze({ tickMs: 100, heartbeatIntervalTicks: 1, electionTimeoutTicks: 20 });
export const fixedLeaderDefaults = Object.freeze({ tickMs: 50, heartbeatIntervalTicks: 2, electionTimeoutTicks: 20 });
// #endregion election-defaults

// #region loopback-timings
/**
 * Timing when this node and every peer are on loopback (one machine, as
 * `distkv cluster up` runs them): no packet loss to ride out, only event
 * loop stalls, so a 10 ms tick, heartbeats every 30 ms and a random
 * 150–300 ms election timeout; failover well under 300 ms.
 */
export const loopbackTimings = Object.freeze({ tickMs: 10, heartbeatIntervalTicks: 3, electionTimeoutTicks: 15 });

/** Which timing a node elects with: `auto` (default) is `loopback` when it and every peer are on loopback, else `lan`. */
export type TimingPreset = 'auto' | 'lan' | 'loopback';

/** 127.0.0.0/8, ::1 and localhost: addresses that never leave the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** The preset `auto` stands for: loopback only if nothing this node talks to, nor where it listens, is elsewhere. */
export function resolveTimingPreset(preset: TimingPreset, listenHost: string, peers: Iterable<PeerAddress>): 'lan' | 'loopback' {
  if (preset !== 'auto') return preset;
  if (!isLoopbackHost(listenHost)) return 'lan';
  for (const p of peers) if (!isLoopbackHost(p.host)) return 'lan';
  return 'loopback';
}
// #endregion loopback-timings

/** True when nobody elects: the configuration names the leader (phase 4), or a single voter leads itself. */
export function isFixedLeader(options: ReplicationNodeOptions): boolean {
  return options.election === undefined;
}

/** The tick, heartbeat and election timeout this node runs with: the preset's, each overridden by an option given. */
export function timingOf(options: ReplicationNodeOptions): {
  preset: 'fixed-leader' | 'lan' | 'loopback';
  tickMs: number;
  heartbeatIntervalTicks: number;
  electionTimeoutTicks: number;
} {
  const listenHost = 'host' in options.listen ? options.listen.host : options.listen.address.host;
  const name = isFixedLeader(options)
    ? 'fixed-leader'
    : resolveTimingPreset(options.timing ?? 'auto', listenHost, options.peers.values());
  const preset = { 'fixed-leader': fixedLeaderDefaults, lan: electionDefaults, loopback: loopbackTimings }[name];
  return {
    preset: name,
    tickMs: options.tickMs ?? preset.tickMs,
    heartbeatIntervalTicks: options.heartbeatIntervalTicks ?? preset.heartbeatIntervalTicks,
    electionTimeoutTicks: options.electionTimeoutTicks ?? preset.electionTimeoutTicks,
  };
}

/** The state machine's config: who votes, who leads or how they elect, and the timing in ticks. */
export function raftConfigOf(options: ReplicationNodeOptions, applied: LogIndex): RaftConfig {
  const fixed = isFixedLeader(options);
  const timing = timingOf(options);
  const joining = options.join === true;
  return {
    id: options.id as NodeId,
    voters: (joining ? [] : [options.id, ...options.peers.keys()]) as NodeId[],
    ...(joining ? { join: true } : { addresses: configuredAddresses(options) }),
    // Both given: RaftNode refuses the pair (CONFIG_INVALID).
    leader: (options.leader ?? (fixed ? options.id : null)) as NodeId | null,
    applied,
    heartbeatIntervalTicks: timing.heartbeatIntervalTicks,
    electionTimeoutTicks: timing.electionTimeoutTicks,
    readMode: options.readMode ?? (fixed ? 'stale' : 'read-index'),
    ...(options.election !== undefined ? { election: options.election } : {}),
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
  };
}

/** The members' peer addresses as configured (`--peers`, and this node's own unless it listens on a wildcard). */
export function configuredAddresses(options: ReplicationNodeOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, a] of options.peers) out[id] = formatAddress(a);
  const listen = 'host' in options.listen ? options.listen : options.listen.address;
  const own = options.advertise ?? (isWildcardHost(listen.host) ? undefined : formatAddress(listen));
  if (own !== undefined) out[options.id] = own;
  return out;
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** `host:port` or `[v6]:port` as a PeerAddress, or undefined. */
export function parsePeerAddress(s: string): PeerAddress | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

/** Electing, a restarted peer must be reached within an election timeout or so, not 2 s later. */
export function transportLimitsOf(options: ReplicationNodeOptions): Partial<TransportLimits> {
  return { ...(isFixedLeader(options) ? {} : { reconnectDelayMsMax: 250 }), ...options.transportLimits };
}
