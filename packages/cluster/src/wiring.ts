/**
 * What ClusterNode needs to watch itself, kept out of cluster-node.ts: the peer
 * transport (opened here so the monitor can read each peer link's state),
 * the peers' admin addresses for the dashboard, and the monitor's view of
 * the replica.
 */
import {
  defaultReplicationLimits,
  type PeerAddress,
  type PeerSecurity,
  type ReplicationNode,
  TcpTransport,
} from '@distkv/replication';
import { clusterError } from './errors.js';
import type { MonitorSource } from './monitor.js';

/**
 * Opens the peer transport as ReplicationNode.start would (same decode
 * limits: ClusterNode uses the default replication limits; the same faster
 * reconnect when electing), so the cluster keeps a handle on it for
 * `peerStates()`. The replica owns it from then on and closes it on stop.
 */
export function listenPeers(
  listen: PeerAddress,
  electing: boolean,
  security: PeerSecurity = {},
  log: (line: string) => void = () => undefined,
): Promise<TcpTransport> {
  const limits = defaultReplicationLimits;
  return TcpTransport.listen(
    listen,
    { entriesMax: limits.appendEntriesMax, bytesMax: Math.max(limits.entryBytesMax, limits.snapshotChunkBytesMax) },
    electing ? { reconnectDelayMsMax: 250 } : {},
    security, // mutual TLS and/or the cluster secret (see cluster-security.ts)
    log,
  );
}

// #region peer-http
/**
 * Where each peer's admin endpoint is, for the dashboard, as `host:port`.
 * Configured (`peerHttp`) wins. Otherwise the rule of `distkv cluster up`
 * generalised: a peer's admin port sits at the same distance from its peer
 * port as ours does (cluster up: HTTP = peer port + 100). Without our own
 * fixed HTTP and peer ports there is no rule, and the peer is left out
 * (the page can still be given `?nodes=`).
 */
export function peerHttpAddresses(options: {
  peers: ReadonlyMap<string, PeerAddress>;
  peerListen: PeerAddress;
  http?: { host: string; port: number } | undefined;
  peerHttp?: ReadonlyMap<string, string> | undefined;
}): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, address] of options.peerHttp ?? []) {
    if (!options.peers.has(id)) throw clusterError('CLUSTER_CONFIG_INVALID', `peerHttp names ${id}, which is not a peer`);
    if (!/^[^\s/]+:\d{1,5}$/.test(address))
      throw clusterError('CLUSTER_CONFIG_INVALID', `peerHttp ${id}: "${address}" is not host:port`);
    out.set(id, address);
  }
  const http = options.http;
  if (http === undefined || http.port === 0 || options.peerListen.port === 0) return out;
  const offset = http.port - options.peerListen.port;
  for (const [id, peer] of options.peers) {
    const port = peer.port + offset;
    if (!out.has(id) && port >= 1 && port <= 65_535) out.set(id, `${peer.host}:${port}`);
  }
  return out;
}
// #endregion peer-http

/** The monitor's view of a running replica and its transport. */
export function monitorSource(replica: ReplicationNode, transport: TcpTransport): MonitorSource {
  return {
    status: () => {
      const s = replica.status();
      const info = replica.replicationInfo();
      const progress: Array<{ id: string; matchIndex: number; lag: number }> = [];
      if (s.progress !== undefined)
        for (const [id, p] of s.progress) if (id !== s.id) progress.push({ id, matchIndex: p.match, lag: s.lastIndex - p.match });
      return {
        term: s.term,
        role: s.role,
        leader: s.leader,
        commitIndex: s.commit,
        appliedIndex: s.applied,
        lastIndex: s.lastIndex,
        snapshotIndex: Number(info.snapshot_index ?? 0),
        snapshotsInstalled: Number(info.snapshots_installed ?? 0),
        keys: replica.store.size,
        lastContactMs: replica.lastContactMs() ?? null,
        progress,
        ...membershipOf(replica),
      };
    },
    links: () => transport.peerStates().map((l) => ({ id: l.id, state: l.state, queued: l.queued, dropped: l.dropped })),
  };
}

/** Where the configuration in force stands, and this node's place in it: for /status, the metrics and the dashboard. */
export function membershipOf(replica: ReplicationNode): {
  confIndex: number;
  voters: number;
  learners: number;
  membership: 'voter' | 'learner' | 'none';
} {
  const { conf, confIndex, id } = replica.status();
  const membership = conf.voters.includes(id) ? 'voter' : conf.learners.includes(id) ? 'learner' : 'none';
  return { confIndex, voters: conf.voters.length, learners: conf.learners.length, membership };
}
