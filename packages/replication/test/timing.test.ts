// Goal (issue 17, item 5): a node elects with the LAN timing unless it and every peer are on loopback, where the
// tighter loopback timing applies; `timing` forces either, and each tick option overrides its preset's value.
// Method: timingOf and validateOptions on hand-made options (no sockets: `listen` is an address).
import { isDistkvError } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { validateOptions } from '../src/driver/options.js';
import { electionDefaults, isLoopbackHost, loopbackTimings, type ReplicationNodeOptions, timingOf } from '../src/index.js';

const election = () => ({ name: 'test' }) as never;
function options(listenHost: string, peerHosts: string[], extra: Partial<ReplicationNodeOptions> = {}): ReplicationNodeOptions {
  return {
    id: 'n1',
    election,
    peers: new Map(peerHosts.map((host, i) => [`n${i + 2}`, { host, port: 7102 + i }])),
    dataDir: '/nonexistent',
    mode: 'sync',
    listen: { host: listenHost, port: 7101 },
    ...extra,
  };
}

describe('election timing presets', () => {
  it('the LAN defaults ride out three losses of a segment in a row (heartbeat + 200 + 400 + 800 ms) within one election timeout', () => {
    const heartbeatMs = electionDefaults.tickMs * electionDefaults.heartbeatIntervalTicks;
    const electionMs = electionDefaults.tickMs * electionDefaults.electionTimeoutTicks;
    expect(heartbeatMs + 200 + 400 + 800).toBeLessThan(electionMs);
    // The loopback preset keeps what distkv used before: 150-300 ms.
    expect(loopbackTimings.tickMs * loopbackTimings.electionTimeoutTicks).toBe(150);
  });

  it('auto: loopback when listening on loopback and every peer is on loopback, else lan', () => {
    const { preset, ...loopback } = timingOf(options('127.0.0.1', ['127.0.0.1', 'localhost']));
    expect(preset).toBe('loopback');
    expect(loopback).toEqual(loopbackTimings);
    expect(timingOf(options('::1', ['127.0.0.2'])).preset).toBe('loopback');
    expect(timingOf(options('127.0.0.1', ['127.0.0.1', '10.0.0.3'])).preset).toBe('lan');
    expect(timingOf(options('0.0.0.0', ['127.0.0.1'])).preset).toBe('lan');
    const { preset: lanName, ...lan } = timingOf(options('10.0.0.1', ['10.0.0.2']));
    expect(lanName).toBe('lan');
    expect(lan).toEqual(electionDefaults);
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'LOCALHOST', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', '128.0.0.1', 'example.com', '127.0.0.1.example.com'])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('timing forces a preset, and each tick option overrides one value of it', () => {
    expect(timingOf(options('127.0.0.1', ['127.0.0.1'], { timing: 'lan' })).preset).toBe('lan');
    expect(timingOf(options('10.0.0.1', ['10.0.0.2'], { timing: 'loopback' })).preset).toBe('loopback');
    expect(timingOf(options('10.0.0.1', ['10.0.0.2'], { tickMs: 50, electionTimeoutTicks: 12 }))).toEqual({
      preset: 'lan',
      tickMs: 50,
      heartbeatIntervalTicks: 1,
      electionTimeoutTicks: 12,
    });
    // A fixed leader (no election) keeps phase 4's timing whatever the addresses.
    expect(timingOf({ ...options('127.0.0.1', []), election: undefined }).preset).toBe('fixed-leader');
  });

  it('refuses an unknown preset and a tick out of range with CONFIG_INVALID', () => {
    const refused = (extra: Partial<ReplicationNodeOptions>): string => {
      try {
        validateOptions(options('127.0.0.1', ['127.0.0.1'], extra));
      } catch (err) {
        if (isDistkvError(err, 'CONFIG_INVALID')) return err.detail;
        throw err;
      }
      return 'accepted';
    };
    expect(refused({ timing: 'wan' as never })).toBe('timing must be auto, lan or loopback, got wan');
    expect(refused({ tickMs: 0 })).toBe('tickMs must be an integer in [1, 60000], got 0');
    expect(refused({ tickMs: 1.5 })).toBe('tickMs must be an integer in [1, 60000], got 1.5');
    expect(refused({ tickMs: 100, timing: 'lan' })).toBe('accepted');
  });
});
