// One follower driver whose transport's message handler a test holds, so it can hand the node a peer message directly; for the driver tests that stub the state machine or the clock. Everything (mocks, node, data dir) is undone after each test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLine } from '@distkv/core';
import { type LogIndex, type Message, type NodeId, ReplicationNode, TcpTransport, type Term } from '@distkv/replication';
import { afterEach, vi } from 'vitest';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Node n2, following a fixed leader n1 that is not there (port 1), on a loopback transport; `deliver` steps a message as if it came from the wire. */
export async function startFollowerDriver(options: {
  dirPrefix: string;
  tickMs: number;
  log?: LogLine;
}): Promise<{ node: ReplicationNode; deliver: (m: Message) => void }> {
  const dir = await mkdtemp(join(tmpdir(), options.dirPrefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const transport = await TcpTransport.listen({ host: '127.0.0.1', port: 0 }, { entriesMax: 16, bytesMax: 1024 });
  let deliver: ((m: Message) => void) | undefined;
  const onMessage = transport.onMessage.bind(transport);
  vi.spyOn(transport, 'onMessage').mockImplementation((handler) => {
    deliver = handler;
    onMessage(handler);
  });
  const node = await ReplicationNode.start({
    id: 'n2',
    leader: 'n1',
    peers: new Map([['n1', { host: '127.0.0.1', port: 1 }]]),
    dataDir: dir,
    mode: 'sync',
    listen: transport,
    tickMs: options.tickMs,
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  cleanups.push(() => node.stop());
  if (deliver === undefined) throw new Error('the driver did not install a message handler');
  return { node, deliver };
}

/** n1's heartbeat to n2 in term 1. */
export const heartbeat: Message = {
  type: 'MsgHeartbeat',
  from: 'n1' as NodeId,
  to: 'n2' as NodeId,
  term: 1 as Term,
  commit: 0 as LogIndex,
};
