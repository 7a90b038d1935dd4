// Goal: /metrics of a running node moves with what happens to it — requests by command and result, latency, fsyncs and WAL batches, Raft indexes, elections, leader changes, peer connections — and nodes in one process keep separate registries.
// Method: in-process ClusterNodes on 127.0.0.1 (port 0, temp dirs) driven by the RESP Client; scrape before and after, compare exact counts; every wait is a bounded poll on a condition, never a sleep.
import { Client } from '@distkv/net';
import { describe, expect, it } from 'vitest';
import { sample, scrape, startCluster, startNode } from './helpers.js';

describe('/metrics on a running node', () => {
  it('counts client requests by command and result, their latency, fsyncs, WAL batches and Raft indexes', async () => {
    const node = await startNode();
    const before = await scrape(node);
    const c = await Client.connect({ port: node.server.address.port });
    try {
      for (let i = 0; i < 5; i++) await c.call('SET', `k${i}`, 'v');
      for (let i = 0; i < 3; i++) await c.call('GET', `k${i}`);
      await expect(c.call('INCR', 'k0')).rejects.toThrow(); // 'v' is not an integer: an error reply
    } finally {
      await c.close();
    }
    const after = await scrape(node);
    const delta = (name: string, labels: Record<string, string> = {}): number =>
      sample(after, name, labels) - sample(before, name, labels);

    expect(delta('distkv_client_requests_total', { command: 'set', result: 'ok' })).toBe(5);
    expect(delta('distkv_client_requests_total', { command: 'get', result: 'ok' })).toBe(3);
    expect(delta('distkv_client_requests_total', { command: 'incr', result: 'error' })).toBe(1);
    expect(delta('distkv_client_request_duration_seconds_count', { result: 'ok' })).toBe(8);
    expect(delta('distkv_client_request_duration_seconds_count', { result: 'error' })).toBe(1);
    expect(delta('distkv_client_request_duration_seconds_sum', { result: 'ok' })).toBeGreaterThan(0);
    // Each SET is one entry (the failed INCR too: it is logged, then fails when applied), one batch at a time here.
    expect(delta('distkv_wal_batch_entries_sum')).toBeGreaterThanOrEqual(5);
    expect(delta('distkv_wal_batch_entries_count')).toBeGreaterThanOrEqual(1);
    expect(delta('distkv_wal_written_bytes_total')).toBeGreaterThan(0);
    expect(delta('distkv_wal_fsync_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('distkv_raft_commit_index')).toBeGreaterThanOrEqual(5);
    expect(sample(after, 'distkv_raft_applied_index')).toBe(node.status().appliedIndex);
    expect(sample(after, 'distkv_raft_is_leader', { node: 'n1' })).toBe(1);
    expect(sample(after, 'distkv_raft_term', { node: 'n1' })).toBe(node.status().term);
    expect(sample(after, 'distkv_store_keys')).toBe(5);
    expect(delta('distkv_http_requests_total')).toBe(1); // the first scrape
    // The process's default metrics come along, once.
    expect(after).toMatch(/^process_cpu_user_seconds_total \S+$/m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);
    expect(after.match(/^# TYPE process_cpu_user_seconds_total /gm)?.length).toBe(1);
  });

  it('three voters: peers connected, each node its own registry; a stopped leader shows as an election, a leader change and a lost peer', async () => {
    const { nodes, cluster } = await startCluster(3);
    // Every node reports each of its two peers as connected (heartbeats and votes keep the links busy).
    for (const n of nodes) {
      await expect
        .poll(
          async () => {
            const text = await scrape(n);
            return nodes.filter((p) => p !== n).every((p) => sample(text, 'distkv_peer_connected', { peer: p.id }) === 1);
          },
          { message: `${n.id} sees both peers connected` },
        )
        .toBe(true);
    }
    // Separate registries: each scrape names only its own node.
    for (const n of nodes) {
      const text = await scrape(n);
      const named = new Set([...text.matchAll(/node="([^"]+)"/g)].map((m) => m[1]));
      expect([...named]).toEqual([n.id]);
    }
    let leader = nodes.find((n) => n.status().role === 'leader');
    await expect
      .poll(
        () => {
          leader = nodes.find((n) => n.status().role === 'leader');
          return leader !== undefined;
        },
        { message: 'a leader' },
      )
      .toBe(true);
    if (leader === undefined) throw new Error('no leader');
    const old = leader;
    const survivors = nodes.filter((n) => n !== old);
    const before = new Map<string, string>();
    for (const n of survivors) before.set(n.id, await scrape(n));
    await cluster.stop(old.id);
    await expect
      .poll(() => survivors.some((n) => n.status().role === 'leader' && n.status().leader === n.id), {
        message: 'a new leader among the survivors',
      })
      .toBe(true);
    for (const n of survivors) {
      await expect
        .poll(
          async () => {
            const text = await scrape(n);
            const was = before.get(n.id) as string;
            const newLeader = n.status().leader;
            return (
              newLeader !== null &&
              newLeader !== old.id &&
              sample(text, 'distkv_raft_elections_observed_total') > sample(was, 'distkv_raft_elections_observed_total') &&
              sample(text, 'distkv_raft_leader_changes_observed_total') >
                sample(was, 'distkv_raft_leader_changes_observed_total') &&
              sample(text, 'distkv_peer_connected', { peer: old.id }) === 0
            );
          },
          { message: `${n.id} counts the election and the leader change and sees ${old.id} gone` },
        )
        .toBe(true);
      const kinds = n.monitor.events.list().map((e) => e.kind);
      expect(kinds).toContain('election');
      expect(kinds).toContain('leader');
      expect(n.monitor.events.list().some((e) => e.kind === 'peer' && e.message.includes(old.id))).toBe(true);
    }
  });
});
