// Goal: an operator reading one node's log can tell what happened to leadership (issue 17, observability): a leader
// change after the leader dies leaves lines naming the term, the new leader and why the election began, and a leader
// cut off from the others says it stepped down, and that check-quorum was the reason, at warn level.
// Method: three ReplicationNodes with Raft elections in this process on loopback ports, each logging into its own
// array; the leader is stopped, then the new leader's two followers are. Waits are bounded polls on state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLevel } from '@distkv/core';
import { waitUntil } from '@distkv/core/testing';
import { type PeerAddress, ReplicationNode, TcpTransport } from '@distkv/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { raftElection } from '../src/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the log says what happened to leadership', () => {
  it('a killed leader: the survivors log the election, its term, the new leader and the reason; check-quorum steps it down', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const addresses = new Map<string, PeerAddress>();
    const transports = new Map<string, TcpTransport>();
    const logs = new Map<string, Array<{ line: string; level: LogLevel }>>();
    for (const id of ids) {
      const t = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, { entriesMax: 256, bytesMax: 1 << 22 });
      transports.set(id, t);
      addresses.set(id, t.address);
    }
    const nodes = new Map<string, ReplicationNode>();
    cleanups.push(async () => {
      for (const n of nodes.values()) await n.stop();
    });
    for (const id of ids) {
      const dir = await mkdtemp(join(tmpdir(), `distkv-leaderlog-${id}-`));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const lines: Array<{ line: string; level: LogLevel }> = [];
      logs.set(id, lines);
      const node = await ReplicationNode.start({
        id,
        election: raftElection(),
        peers: new Map([...addresses].filter(([p]) => p !== id)),
        dataDir: dir,
        mode: 'sync',
        listen: transports.get(id) as TcpTransport,
        log: (line, level = 'info') => lines.push({ line, level }),
      });
      nodes.set(id, node);
    }
    const leaderOf = (): ReplicationNode | undefined => [...nodes.values()].find((n) => n.status().role === 'leader');
    await waitUntil('a leader is elected', () => leaderOf() !== undefined);
    const first = leaderOf() as ReplicationNode;
    const firstTerm = first.status().term;
    const text = (id: string): string => (logs.get(id) ?? []).map((l) => l.line).join('\n');
    expect(text(first.id)).toContain(`leader: ${first.id} leads term ${firstTerm}`);

    // Kill the leader: the two others elect one of themselves in a later term.
    await first.stop();
    nodes.delete(first.id);
    await waitUntil('a new leader is elected', () => leaderOf() !== undefined, 4000);
    const second = leaderOf() as ReplicationNode;
    const term = second.status().term;
    expect(term).toBeGreaterThan(firstTerm);
    const other = [...nodes.keys()].find((id) => id !== second.id) as string;
    await waitUntil('the other survivor follows the new leader', () => nodes.get(other)?.status().leader === second.id);

    // The new leader: why it campaigned, for which term, and that it won.
    expect(text(second.id)).toMatch(/no leader heard within the election timeout/);
    expect(text(second.id)).toMatch(new RegExp(`election: campaigns for term ${term} \\(log at \\d+\\)`));
    expect(text(second.id)).toContain(`leader: ${second.id} leads term ${term} (its first entry of the term at index`);
    // The other survivor: the term change, who caused it, and whom it follows now.
    await waitUntil('the other survivor logged its new leader', () =>
      text(other).includes(`leader: follows ${second.id}, leader of term ${term}`),
    );
    expect(text(other)).toMatch(new RegExp(`term \\d+ → ${term}: .*${second.id}`));

    // Cut the new leader off from both voters: check-quorum steps it down, and it says so at warn level.
    for (const id of [other]) {
      await nodes.get(id)?.stop();
      nodes.delete(id);
    }
    await waitUntil('the isolated leader steps down', () => second.status().role !== 'leader', 4000);
    const stepDown = (logs.get(second.id) ?? []).find((l) => l.line.startsWith('step-down:'));
    expect(stepDown?.line).toBe(
      `step-down: ${second.id} no longer leads term ${term}: check-quorum: no majority of voters answered within an election timeout`,
    );
    expect(stepDown?.level).toBe('warn');
  }, 60_000);
});
