// Goal: a membership change is data with one meaning everywhere: its entry encodes the change and the
// configuration it produces, bad bytes are a no-op on every node alike, a client cannot forge one, and a
// snapshot carries the members across the wire. (The rules in motion are election's membership_*.txt.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands, encodeCommand, isDistkvError } from '@distkv/core';
import {
  applyConfChange,
  type ConfState,
  confChangeProblem,
  confState,
  DurableLog,
  decodeConfEntry,
  decodeMessage,
  encodeConfEntry,
  encodeMessage,
  isConfPayload,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  RaftNode,
  type Ready,
  type Term,
} from '@distkv/replication';
import { describe, expect, it } from 'vitest';

const ids = (...xs: string[]) => xs as NodeId[];
const three = confState(ids('1', '2', '3'));

describe('configuration entries', () => {
  it('round-trip the change and the whole configuration it produces', () => {
    const change = { type: 'add-learner', node: 'n4' as NodeId, autoPromote: true } as const;
    const conf = applyConfChange(three, change);
    expect(conf).toEqual({
      voters: ids('1', '2', '3'),
      learners: ids('n4'),
      autoPromote: ids('n4'),
      addresses: {},
      removed: [],
    });
    const payload = encodeConfEntry({ change, conf });
    expect(isConfPayload(payload)).toBe(true);
    expect(decodeConfEntry(payload)).toEqual({ change, conf });
    for (const c of [
      { type: 'promote', node: 'n4' as NodeId },
      { type: 'remove', node: '2' as NodeId },
    ] as const) {
      expect(decodeConfEntry(encodeConfEntry({ change: c, conf: three }))).toEqual({ change: c, conf: three });
    }
  });

  it("carry the members' peer addresses: a joining node learns where everyone is, and a removed node's address goes", () => {
    const start = confState(ids('1', '2', '3'), [], [], { '1': '10.0.0.1:7001', '2': '10.0.0.2:7001' });
    const add = { type: 'add-learner', node: '4' as NodeId, autoPromote: true, address: '[fd00::4]:7001' } as const;
    const added = applyConfChange(start, add);
    expect(added.addresses).toEqual({ '1': '10.0.0.1:7001', '2': '10.0.0.2:7001', '4': '[fd00::4]:7001' });
    expect(decodeConfEntry(encodeConfEntry({ change: add, conf: added }))).toEqual({ change: add, conf: added });
    const removed = applyConfChange(added, { type: 'remove', node: '2' as NodeId });
    expect(removed.addresses).toEqual({ '1': '10.0.0.1:7001', '4': '[fd00::4]:7001' });
    // An address for a node that is not a member is not a configuration.
    const stray = encodeConfEntry({
      change: { type: 'remove', node: '3' as NodeId },
      conf: { ...three, addresses: { '9': 'h:1' } },
    });
    expect(decodeConfEntry(stray)).toBeUndefined();
    expect(() => applyConfChange(three, { ...add, address: 'x'.repeat(256) })).not.toThrow();
    expect(() => encodeConfEntry({ change: add, conf: applyConfChange(three, { ...add, address: 'x'.repeat(256) }) })).toThrow(
      /an address of 256 bytes/,
    );
  });

  it('remember removed ids: never added again, and kept to a bound', () => {
    const removed = applyConfChange(three, { type: 'remove', node: '2' as NodeId });
    expect(removed.removed).toEqual(ids('2'));
    const again = { type: 'add-learner', node: '2' as NodeId, autoPromote: true } as const;
    expect(confChangeProblem(removed, again, 9)).toMatch(/2 was removed from this cluster, and an id is never used again/);
    const change = { type: 'remove', node: '2' as NodeId } as const;
    expect(decodeConfEntry(encodeConfEntry({ change, conf: removed }))).toEqual({ change, conf: removed });
    // A removed id that is a member, or one listed twice, is not a configuration.
    for (const bad of [confState(ids('1', '3'), [], [], {}, ids('3')), confState(ids('1', '3'), [], [], {}, ids('2', '2'))])
      expect(decodeConfEntry(encodeConfEntry({ change, conf: bad }))).toBeUndefined();
    // The latest REMOVED_IDS_KEPT (255) are kept.
    let c = confState(ids('a', 'b'));
    for (let i = 0; i < 300; i++) {
      c = applyConfChange(c, { type: 'add-learner', node: `x${i}` as NodeId, autoPromote: false });
      c = applyConfChange(c, { type: 'remove', node: `x${i}` as NodeId });
    }
    expect(c.removed).toHaveLength(255);
    expect(c.removed[0]).toBe('x45');
    expect(decodeConfEntry(encodeConfEntry({ change, conf: c }))?.conf.removed).toEqual(c.removed);
  });

  it('decode every truncation, an unknown version or type, and an impossible configuration as nothing (a no-op)', () => {
    const good = encodeConfEntry({ change: { type: 'remove', node: '3' as NodeId }, conf: confState(ids('1', '2')) });
    for (let n = 0; n < good.byteLength; n++) expect(decodeConfEntry(good.subarray(0, n))).toBeUndefined();
    const with_ = (at: number, v: number) => Uint8Array.from(good, (b, i) => (i === at ? v : b));
    expect(decodeConfEntry(with_(1, 9))).toBeUndefined(); // version
    expect(decodeConfEntry(with_(2, 9))).toBeUndefined(); // change type
    expect(decodeConfEntry(Uint8Array.from([...good, 0]))).toBeUndefined(); // trailing bytes
    const noVoters = encodeConfEntry({ change: { type: 'remove', node: '1' as NodeId }, conf: confState([]) });
    expect(decodeConfEntry(noVoters)).toBeUndefined();
    const twice = encodeConfEntry({ change: { type: 'remove', node: '1' as NodeId }, conf: confState(ids('1'), ids('1')) });
    expect(decodeConfEntry(twice)).toBeUndefined();
  });

  it('never look like an application payload: core commands start with their version, 1', () => {
    expect(isConfPayload(encodeCommand(commands.put('k', 'v')))).toBe(false);
    expect(isConfPayload(new Uint8Array(0))).toBe(false);
  });

  it('names what makes a change impossible', () => {
    const learner4 = confState(ids('1', '2', '3'), ids('4'));
    expect(confChangeProblem(three, { type: 'add-learner', node: '2' as NodeId, autoPromote: false }, 9)).toBe(
      '2 is already a voter',
    );
    expect(confChangeProblem(learner4, { type: 'add-learner', node: '4' as NodeId, autoPromote: false }, 9)).toBe(
      '4 is already a learner',
    );
    expect(confChangeProblem(three, { type: 'promote', node: '4' as NodeId }, 9)).toBe('4 is not a learner');
    expect(confChangeProblem(learner4, { type: 'promote', node: '4' as NodeId }, 3)).toMatch(/votersMax = 3/);
    expect(confChangeProblem(three, { type: 'remove', node: '9' as NodeId }, 9)).toBe('9 is not a member');
    expect(confChangeProblem(confState(ids('1')), { type: 'remove', node: '1' as NodeId }, 9)).toBe('1 is the last voter');
    expect(confChangeProblem(learner4, { type: 'promote', node: '4' as NodeId }, 9)).toBeUndefined();
  });
});

describe('a RaftNode', () => {
  const leader = () => {
    const node = new RaftNode({ id: '1' as NodeId, voters: ids('1', '2', '3'), leader: '1' as NodeId }, new MemoryStorage());
    return node;
  };
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      if (isDistkvError(err)) return err.code;
      throw err;
    }
    return 'no error';
  };

  it('refuses a write whose payload would read as a membership change', () => {
    const payload = encodeConfEntry({ change: { type: 'remove', node: '2' as NodeId }, conf: confState(ids('1', '3')) });
    const node = leader();
    expect(code(() => node.propose(payload))).toBe('CONF_CHANGE_INVALID');
    expect(node.conf.voters).toEqual(ids('1', '2', '3'));
  });

  it('under a fixed leader (phase 4) keeps the members it started with', () => {
    const node = leader();
    expect(code(() => node.proposeConfChange({ type: 'remove', node: '3' as NodeId }))).toBe('CONF_CHANGE_INVALID');
  });

  it('takes the members from its log at restart, not from its configured voters', () => {
    const storage = new MemoryStorage();
    const conf: ConfState = confState(ids('1', '2'), ids('4'));
    const payload = encodeConfEntry({ change: { type: 'remove', node: '3' as NodeId }, conf });
    storage.append([
      { term: 1 as Term, index: 1 as LogIndex, payload: new Uint8Array(0) },
      { term: 1 as Term, index: 2 as LogIndex, payload },
    ]);
    const node = new RaftNode({ id: '2' as NodeId, voters: ids('1', '2', '3'), leader: '1' as NodeId }, storage);
    expect(node.conf).toEqual(conf);
    expect(node.confAt(1 as LogIndex).voters).toEqual(ids('1', '2', '3'));
    expect(node.status().confIndex).toBe(2);
  });
});

describe('a snapshot on the wire', () => {
  it('carries the members in force at its index, and refuses impossible ones', () => {
    const conf = confState(ids('1', '2', '3'), ids('4', '5'), ids('5'));
    const m: Message = {
      type: 'MsgSnap',
      from: '1' as NodeId,
      to: '4' as NodeId,
      term: 2 as Term,
      meta: { index: 7 as LogIndex, term: 2 as Term, conf },
      offset: 0,
      totalBytes: 3,
      chunk: Buffer.from('abc'),
    };
    const limits = { entriesMax: 16, bytesMax: 1024 };
    expect(decodeMessage(encodeMessage(m), limits)).toEqual(m);
    const bad = { ...m, meta: { ...m.meta, conf: confState([], ids('4')) } };
    expect(() => decodeMessage(encodeMessage(bad), limits)).toThrow(/MESSAGE_CORRUPT/);
    const { conf: _, ...plain } = m.meta;
    expect(decodeMessage(encodeMessage({ ...m, meta: plain }), limits)).toEqual({ ...m, meta: plain });
  });
});

describe('a snapshot on disk', () => {
  it('keeps the members in force at its index, so a log compacted past every change still knows them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkv-snapconf-'));
    try {
      const conf = confState(ids('1', '2', '4'), ids('5'), ids('5'), { '4': '127.0.0.1:7004' });
      const first = await DurableLog.open(dir, {});
      const entries = [1, 2, 3].map((i) => ({ term: 1 as Term, index: i as LogIndex, payload: new Uint8Array(0) }));
      await first.log.persist({
        entries,
        messages: [],
        earlyMessages: [],
        committedEntries: [],
        readStates: [],
        events: [],
      } as unknown as Ready);
      await first.log.compact(3 as LogIndex, Buffer.from('state'), { entries: 0, bytes: 0 }, conf);
      await first.log.close();
      const again = await DurableLog.open(dir, {});
      expect(again.snapshot.meta).toEqual({ index: 3, term: 1, conf });
      expect(Buffer.from(again.snapshot.data).toString()).toBe('state');
      expect(again.log.storage.snapshot().meta.conf).toEqual(conf);
      await again.log.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
