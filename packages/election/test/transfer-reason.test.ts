// Goal (issue 17, observability): a leader that steps down because of its own leadership transfer says `transfer`,
// naming the target, whichever message of the target's term reaches it first: the target's transfer vote request,
// the new leader's first append (the vote request lost), or a follower's answer of the new term. A leader deposed
// by a higher term with no transfer of its own still says `higher-term`.
// Method: replication's simulated cluster with Raft elections, driven by hand: elect 1, transfer to 3, then deliver
// or drop chosen messages; the old leader's Ready.events carry the step-down and its reason (which the
// driver's RaftEventLog words as `leadership transfer: 3 campaigns for term 2`).
import { type NodeId, type RaftEvent, seededRng } from '@distkv/replication';
import { SimCluster } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';
import { raftElection, raftElectionOf } from '../src/index.js';

const n = (id: string) => id as NodeId;

/** 3 nodes, 1 elected and every log caught up; `events` collects node 1's Ready.events from then on. */
function elected(): { c: SimCluster; events: RaftEvent[]; readyAll: () => void } {
  const c = new SimCluster({ ids: ['1', '2', '3'], rng: seededRng(1), election: (_id, rng) => raftElection({ rng }) });
  // Voters ignore vote requests within an election timeout of starting (check-quorum): let it pass first.
  for (let i = 0; i < 10; i++) for (const id of ['2', '3']) c.tick(n(id));
  raftElectionOf(c.raft('1')).campaign('election', false);
  c.settle(50);
  expect(c.raft('1').role).toBe('leader');
  const events: RaftEvent[] = [];
  const readyAll = (): void => {
    for (const id of c.ids) {
      const rd = c.processReady(id);
      if (id === n('1') && rd !== undefined) events.push(...rd.events);
    }
  };
  return { c, events, readyAll };
}

/** Delivers (or drops) the in-flight messages that match, in order; returns how many matched. */
function each(c: SimCluster, match: (type: string, from: string, to: string) => boolean, how: 'deliver' | 'drop'): number {
  let count = 0;
  for (let i = 0; i < c.network.length; ) {
    const m = c.network[i]?.message;
    if (m !== undefined && match(m.type, m.from, m.to)) {
      if (how === 'deliver') c.deliver(i);
      else c.drop(i);
      count++;
    } else i++;
  }
  return count;
}

function stepDowns(events: RaftEvent[]) {
  return events.filter((e) => e.type === 'follow' && e.previousRole === 'leader');
}

describe('the reason a leader gives for stepping down after its own transfer', () => {
  it('the target vote request lost: the new leader`s append of term 2 deposes 1, and 1 says transfer, by 3', () => {
    const { c, events, readyAll } = elected();
    c.raft('1').transferLeadership(n('3'));
    readyAll();
    expect(each(c, (t, f, to) => t === 'MsgTimeoutNow' && f === '1' && to === '3', 'deliver')).toBe(1);
    readyAll();
    expect(each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '1', 'drop')).toBe(1);
    each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '2', 'deliver');
    readyAll();
    each(c, (t, _f, to) => t === 'MsgVoteResp' && to === '3', 'deliver');
    readyAll();
    expect(c.raft('3').role).toBe('leader');
    expect(each(c, (t, f, to) => (t === 'MsgApp' || t === 'MsgHeartbeat') && f === '3' && to === '1', 'deliver')).toBeGreaterThan(
      0,
    );
    readyAll();
    expect(c.raft('1').role).toBe('follower');
    expect(stepDowns(events)).toEqual([
      { type: 'follow', term: 2, previousRole: 'leader', previousTerm: 1, reason: 'transfer', by: '3' },
    ]);
  });

  it('a follower`s answer of term 2 arrives first (2 voted for 3 before 1 heard anything): transfer, by 3', () => {
    const { c, events, readyAll } = elected();
    c.raft('1').transferLeadership(n('3'));
    readyAll();
    each(c, (t, f, to) => t === 'MsgTimeoutNow' && f === '1' && to === '3', 'deliver');
    readyAll();
    each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '1', 'drop');
    each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '2', 'deliver');
    readyAll();
    each(c, (t) => t === 'MsgVoteResp', 'drop');
    // 1, still leading term 1, sends 2 a heartbeat; 2 (term 2 now) answers in term 2.
    for (let i = 0; i < 3; i++) c.tick(n('1'));
    readyAll();
    each(c, (_t, f, to) => f === '1' && to === '2', 'deliver');
    readyAll();
    expect(each(c, (_t, f, to) => f === '2' && to === '1', 'deliver')).toBeGreaterThan(0);
    readyAll();
    expect(stepDowns(events)).toEqual([
      { type: 'follow', term: 2, previousRole: 'leader', previousTerm: 1, reason: 'transfer', by: '3' },
    ]);
  });

  it('the vote request arrives: transfer, by 3 (as before)', () => {
    const { c, events, readyAll } = elected();
    c.raft('1').transferLeadership(n('3'));
    readyAll();
    each(c, (t, f, to) => t === 'MsgTimeoutNow' && f === '1' && to === '3', 'deliver');
    readyAll();
    each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '1', 'deliver');
    readyAll();
    expect(stepDowns(events)).toEqual([
      { type: 'follow', term: 2, previousRole: 'leader', previousTerm: 1, reason: 'transfer', by: '3' },
    ]);
  });

  it('no transfer of its own: a higher term deposes the leader as higher-term', () => {
    const { c, events, readyAll } = elected();
    // 3 is cut off long enough to campaign on its own (no pre-vote would let it; force the election).
    raftElectionOf(c.raft('3')).campaign('election', false);
    readyAll();
    each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '1', 'drop');
    each(c, (t, f, to) => t === 'MsgVote' && f === '3' && to === '2', 'drop');
    // 1's heartbeat reaches 3, which answers in term 2.
    for (let i = 0; i < 3; i++) c.tick(n('1'));
    readyAll();
    each(c, (_t, f, to) => f === '1' && to === '3', 'deliver');
    readyAll();
    expect(each(c, (_t, f, to) => f === '3' && to === '1', 'deliver')).toBeGreaterThan(0);
    readyAll();
    expect(stepDowns(events)).toEqual([
      { type: 'follow', term: 2, previousRole: 'leader', previousTerm: 1, reason: 'higher-term', by: '3' },
    ]);
  });
});
