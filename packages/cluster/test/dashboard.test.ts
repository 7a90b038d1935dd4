// Goal: the dashboard's parts hold their contracts — a self-contained page, /dashboard/state with CORS for reads only, peers' admin addresses, bounded events and series, and the monitor turning status changes into events and counters.
// Method: in-process ClusterNodes for the HTTP side; the monitor, the event ring and the series are driven directly with a scripted source and explicit clocks, so nothing depends on timing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@distkv/net';
import { describe, expect, it } from 'vitest';
import {
  type DashboardState,
  EventRing,
  LATENCY_BOUNDS_MS,
  type MonitorSource,
  NodeMonitor,
  OpsSeries,
  peerHttpAddresses,
} from '../src/index.js';
import { quietStatus, sample, startNode, url } from './helpers.js';

describe('the dashboard over HTTP', () => {
  it('serves one self-contained page at / and /dashboard, with nothing fetched from elsewhere', async () => {
    const node = await startNode();
    for (const path of ['/', '/dashboard']) {
      const res = await fetch(url(node, path));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain('<div id="nodes"');
      expect(html).toContain('/dashboard/state');
      // No external script, style, font or image: the only URL is SVG's namespace name.
      expect(html).not.toMatch(/<script[^>]+src=|<link |@import|url\(/);
      expect([...html.matchAll(/https?:\/\/[^\s"']+/g)].map((m) => m[0])).toEqual(['http://www.w3.org/2000/svg']);
    }
  });

  it('/dashboard/state: status, events and the series, readable cross-origin; writes get no CORS header', async () => {
    const node = await startNode();
    const c = await Client.connect({ port: node.server.address.port });
    for (let i = 0; i < 10; i++) await c.call('SET', 'k', String(i));
    await c.close();
    const res = await fetch(url(node, '/dashboard/state'));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const state = (await res.json()) as DashboardState;
    expect(state).toMatchObject({ id: 'n1', ready: true, pid: process.pid, peerHttp: {} });
    expect(state.status).toMatchObject({ id: 'n1', role: 'leader' });
    expect(state.events[0]).toMatchObject({ kind: 'start', seq: 1 });
    expect(state.events.map((e) => e.kind)).toContain('leader');
    // The series gains a point a second; wait (bounded) for the one holding the ten SETs.
    await expect
      .poll(
        async () => {
          const s = (await (await fetch(url(node, '/dashboard/state'))).json()) as DashboardState;
          return s.series.reduce((n, p) => n + p.opsPerSec, 0) > 0;
        },
        { message: 'a series point with the writes' },
      )
      .toBe(true);
    const put = await fetch(url(node, '/v1/kv/x'), { method: 'PUT', body: 'y' });
    expect(put.status).toBe(204);
    expect(put.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(url(node, '/v1/kv/x'), { method: 'OPTIONS' })).status).toBe(405);
  });

  it('a node knows its peers admin addresses: derived from the port rule, or configured', async () => {
    // peerHttpAddresses only computes (nothing binds): any ports do, each admin port its peer port + 1000.
    const pairs = [7101, 7102, 7103].map((peer) => ({ peer, http: peer + 1000 }));
    const derived = peerHttpAddresses({
      peers: new Map([
        ['n2', { host: '127.0.0.1', port: (pairs[1] as { peer: number }).peer }],
        ['n3', { host: '127.0.0.1', port: (pairs[2] as { peer: number }).peer }],
      ]),
      peerListen: { host: '127.0.0.1', port: (pairs[0] as { peer: number }).peer },
      http: { host: '127.0.0.1', port: (pairs[0] as { http: number }).http },
      peerHttp: new Map([['n3', 'admin3.local:9000']]),
    });
    expect(Object.fromEntries(derived)).toEqual({
      n2: `127.0.0.1:${(pairs[1] as { http: number }).http}`,
      n3: 'admin3.local:9000',
    });
    // No fixed own ports: no rule to apply.
    expect(
      peerHttpAddresses({
        peers: new Map([['n2', { host: '127.0.0.1', port: 7102 }]]),
        peerListen: { host: '127.0.0.1', port: 7101 },
        http: { host: '127.0.0.1', port: 0 },
      }).size,
    ).toBe(0);
    expect(() =>
      peerHttpAddresses({
        peers: new Map(),
        peerListen: { host: '127.0.0.1', port: 7101 },
        peerHttp: new Map([['n9', '127.0.0.1:7209']]),
      }),
    ).toThrow(/CLUSTER_CONFIG_INVALID.*not a peer/);
    expect(() =>
      peerHttpAddresses({
        peers: new Map([['n2', { host: '127.0.0.1', port: 7102 }]]),
        peerListen: { host: '127.0.0.1', port: 7101 },
        peerHttp: new Map([['n2', 'http://x/']]),
      }),
    ).toThrow(/not host:port/);
  });
});

describe('EventRing', () => {
  it('keeps the newest eventsMax, in order, with increasing seq', () => {
    const ring = new EventRing(3);
    for (let i = 1; i <= 5; i++) ring.push('election', i, `e${i}`, i);
    expect(ring.list().map((e) => e.message)).toEqual(['e3', 'e4', 'e5']);
    expect(ring.list().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(ring.list(4).map((e) => e.message)).toEqual(['e5']);
    expect(ring.list(0, 2).map((e) => e.message)).toEqual(['e4', 'e5']);
    expect(ring.pushedCount).toBe(5);
    expect(() => new EventRing(0)).toThrow(/eventsMax/);
  });
});

describe('OpsSeries', () => {
  it('turns a second of requests into ops/s and bucketed percentiles, and keeps pointsMax points', () => {
    const series = new OpsSeries(2, 0);
    for (let i = 0; i < 98; i++) series.record(0.0004, true); // 0.4 ms: the 0.5 ms bucket
    series.record(0.02, false); // 20 ms: the 25 ms bucket
    series.record(0.03, true); // 30 ms: the 50 ms bucket
    const p = series.roll(2000); // two seconds
    expect(p).toEqual({ atMs: 2000, opsPerSec: 50, errorsPerSec: 0.5, p50Ms: 0.5, p99Ms: 25, maxMs: 30 });
    expect(series.roll(3000)).toMatchObject({ opsPerSec: 0, p50Ms: null, p99Ms: null, maxMs: null });
    series.record(100, true); // slower than every bound: the last bucket, reported as the max seen
    expect(series.roll(4000)).toMatchObject({ p99Ms: 100_000, maxMs: 100_000 });
    expect(series.points().map((x) => x.atMs)).toEqual([3000, 4000]);
    expect(series.points(3000).map((x) => x.atMs)).toEqual([4000]);
    expect(LATENCY_BOUNDS_MS.at(-1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('NodeMonitor', () => {
  type Status = ReturnType<MonitorSource['status']>;
  function scripted(): { source: MonitorSource; set: (s: Partial<Status>) => void; links: Array<{ id: string; state: string }> } {
    let status: Status = { ...quietStatus, snapshotsInstalled: 0 };
    const links = [{ id: 'n2', state: 'idle' }];
    return {
      source: {
        status: () => status,
        links: () => links.map((l) => ({ ...l, queued: 0, dropped: 0 })),
      },
      set: (s) => {
        status = { ...status, ...s };
      },
      links,
    };
  }

  it('turns sampled status changes into events and counters: elections, leader changes (n1 → none → n2 counts), snapshots, peers', async () => {
    const { source, set, links } = scripted();
    const monitor = new NodeMonitor('n3', '/nonexistent/distkv-monitor-test', { sampleEveryMs: 60_000 });
    try {
      monitor.attach(source);
      const kinds = (): string[] => monitor.events.list().map((e) => e.kind);
      expect(kinds()).toEqual(['start']);
      set({ term: 1, leader: 'n1' });
      links[0] = { id: 'n2', state: 'connected' };
      monitor.sample();
      set({ term: 2, leader: null, role: 'candidate' });
      monitor.sample();
      set({ leader: 'n2', role: 'follower' });
      links[0] = { id: 'n2', state: 'connecting' };
      monitor.sample();
      set({ snapshotIndex: 100 });
      monitor.sample();
      set({ snapshotIndex: 250, snapshotsInstalled: 1 });
      monitor.sample();
      expect(monitor.events.list().map((e) => `${e.kind}: ${e.message}`)).toEqual([
        'start: started with an empty data dir',
        'peer: connected to peer n2',
        'election: term 0 → 1: an election began',
        'leader: follows leader n1',
        'election: term 1 → 2: an election began',
        'leader: lost leader n1',
        'peer: lost the connection to peer n2',
        'leader: follows leader n2',
        'snapshot: took a snapshot at index 100 and compacted the log',
        'snapshot: installed a snapshot from the leader at index 250',
      ]);
      const text = await monitor.metrics.text();
      expect(sample(text, 'distkv_raft_elections_observed_total')).toBe(2);
      expect(sample(text, 'distkv_raft_leader_changes_observed_total')).toBe(1);
      expect(sample(text, 'distkv_raft_snapshot_index')).toBe(250);
    } finally {
      monitor.stop();
    }
    expect(monitor.events.list().at(-1)?.kind).toBe('stop');
  });

  it('a node whose data dir held state starts with a restart event', () => {
    const { source, set } = scripted();
    set({ term: 7, lastIndex: 42, snapshotIndex: 40 });
    const dir = mkdtempSync(join(tmpdir(), 'distkv-monitor-'));
    writeFileSync(join(dir, 'hardstate'), 'x');
    const monitor = new NodeMonitor('n1', dir, { sampleEveryMs: 60_000 });
    try {
      monitor.attach(source);
      expect(monitor.events.list()[0]).toMatchObject({
        kind: 'restart',
        term: 7,
        message: 'restarted: recovered term 7, log to index 42, snapshot at 40',
      });
    } finally {
      monitor.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => new NodeMonitor('n1', '/x', { sampleEveryMs: 1 })).toThrow(/sampleEveryMs/);
  });
});
