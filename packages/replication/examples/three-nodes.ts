/**
 * Three nodes in one process, on the simulator's network and disks: write,
 * lose a follower, compact, bring it back, and compare the stores.
 * Run: pnpm example (node --loader ts-node/esm examples/three-nodes.ts)
 */
import { commands, encodeCommand } from '@distkv/core';
import { type NodeId, seededRng } from '@distkv/replication';
import { SimCluster } from '@distkv/replication/testing';

// #region three-nodes
const cluster = new SimCluster({ ids: ['n1', 'n2', 'n3'], leader: 'n1', rng: seededRng(1) });
const [n1, , n3] = cluster.ids as [NodeId, NodeId, NodeId];
const put = (key: string, value: string): void => {
  cluster.propose(n1, encodeCommand(commands.put(key, value)));
};

cluster.settle(100); // n1 takes term 1; its first entry commits
put('greeting', 'hello');
cluster.settle(100);

cluster.crash(n3); // n3 misses the next writes
for (let i = 0; i < 5; i++) put(`key:${i}`, `value ${i}`);
cluster.settle(100);
console.log('n1 compacted its log through', cluster.compact(n1));

cluster.restart(n3);
cluster.tick(n1); // a heartbeat: n1 finds n3 behind and sends a snapshot
cluster.settle(100);

for (const node of cluster.nodes.values()) {
  console.log(node.id, 'applied', node.appliedIndex, 'digest', node.store.digest());
}
console.log('snapshots installed:', cluster.stats.snapshotsInstalled);
console.log(cluster.checkConverged() ?? 'all nodes converged');
// #endregion three-nodes
