/**
 * An election that decides nothing by itself: a test holds each node's
 * `RaftHandle` and makes the moves (lead a term without votes, step down),
 * to put a node in a state no real election would, or to check what the
 * handle refuses.
 */
import { assert } from '@distkv/core';
import type { ElectionFactory, ElectionMessage, ElectionPolicy, RaftHandle } from '../election-seam.js';
import type { NodeId } from '../types.js';

export interface ManualElection {
  /** For RaftConfig.election. */
  readonly factory: ElectionFactory;
  /** The handle of the node with this id (the last one built). */
  handle(id: NodeId): RaftHandle;
  /** Election messages the nodes were given, in order. */
  readonly stepped: ElectionMessage[];
}

export function manualElection(): ManualElection {
  const handles = new Map<NodeId, RaftHandle>();
  const stepped: ElectionMessage[] = [];
  const factory: ElectionFactory = (node): ElectionPolicy => {
    handles.set(node.id, node);
    return {
      name: 'manual',
      start: () => undefined,
      tick: () => undefined,
      step: (m) => {
        stepped.push(m);
      },
      roleChanged: () => undefined,
      leaderHeard: () => undefined,
      voterAnswered: () => undefined,
      transferee: () => null,
    };
  };
  return {
    factory,
    stepped,
    handle(id) {
      const h = handles.get(id);
      assert(h !== undefined, `no node ${id} was built with this election`);
      return h;
    },
  };
}
