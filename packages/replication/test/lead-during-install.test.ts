// Goal: a node that wins an election while its own snapshot install is being persisted leads without tripping an assertion, and sends followers the snapshot it is installing (issue 17 item 4).
// Method: one RaftNode with a manual election, stepped by hand; the Ready that carries the snapshot stays outstanding (the driver's `await persist`) while the node becomes leader and a follower's reject asks for compacted entries.
import { type LogIndex, MemoryStorage, type Message, type NodeId, RaftNode, type Term } from '@distkv/replication';
import { manualElection } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

const id = (s: string): NodeId => s as NodeId;

describe('§7 InstallSnapshot meets §5.2: elected while the snapshot is persisted', () => {
  it('leads, and a lagging follower gets the snapshot being installed', () => {
    const election = manualElection();
    const storage = new MemoryStorage();
    const n = new RaftNode({ id: id('2'), voters: [id('1'), id('2'), id('3')], election: election.factory }, storage);
    const meta = { index: 10 as LogIndex, term: 1 as Term };
    n.step({
      type: 'MsgSnap',
      from: id('1'),
      to: id('2'),
      term: 1 as Term,
      meta,
      offset: 0,
      totalBytes: 4,
      chunk: Uint8Array.of(1, 2, 3, 4),
    });
    const install = n.ready(); // the driver now awaits persist(install)...
    expect(install.snapshot?.meta).toEqual(meta);
    // ...and meanwhile the node's election timeout fires and it wins.
    const h = election.handle(id('2'));
    h.becomeCandidate();
    h.becomeLeader();
    expect(n.role).toBe('leader');
    // Follower 3 lacks everything after 5: the leader needs entries that only the new snapshot covers.
    const sent = (): Message[] => {
      const out: Message[] = [];
      n.advance(install);
      storage.applySnapshot(install.snapshot as NonNullable<typeof install.snapshot>); // what persist() did meanwhile
      while (n.hasReady()) {
        const rd = n.ready();
        out.push(...rd.messages);
        n.advance(rd);
      }
      return out;
    };
    n.step({
      type: 'MsgAppResp',
      from: id('3'),
      to: id('2'),
      term: n.term,
      reject: true,
      index: 10 as LogIndex,
      hintIndex: 5 as LogIndex,
      hintTerm: 0 as Term,
    });
    const snaps = sent().filter((m) => m.type === 'MsgSnap' && m.to === id('3'));
    expect(snaps.length).toBe(1);
    expect(snaps[0]?.type === 'MsgSnap' && snaps[0].meta).toEqual(meta);
  });
});
