// The process tests' side of the one harness (@distkv/cli/testing's ProcessCluster): their flags, and the waits,
// which are expect.poll (bounded in vitest.config.ts; a throw, say from a node mid-election, counts as "not yet").
import { ProcessCluster } from '@distkv/cli/testing';
import { isDistkvError } from '@distkv/core';
import { ServerError } from '@distkv/net';
import { afterEach, expect } from 'vitest';

export { ProcessCluster };

/** What every phase 5 test cluster runs with: writes give up (TIMEOUT) well within a test's polls. */
export function processCluster(size: number, flags: string[] = [], options: { http?: boolean } = {}): Promise<ProcessCluster> {
  return ProcessCluster.create(size, { flags: ['--write-timeout-ms', '1500', ...flags], ...options });
}

/**
 * For a file whose tests each start one cluster and need no other cleanup:
 * `processCluster`, with the cluster destroyed after each test.
 */
export function processClusterPerTest(): typeof processCluster {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.destroy();
    cluster = undefined;
  });
  return async (...args) => {
    cluster = await processCluster(...args);
    return cluster;
  };
}

/** Waits for the leader every node in `among` agrees on. */
export async function waitLeader(cluster: ProcessCluster, among: readonly string[] = cluster.running()): Promise<string> {
  let leader: string | undefined;
  await expect
    .poll(
      async () => {
        leader = await cluster.agreedLeader(among);
        return leader;
      },
      { message: `a leader among ${among.join(',')}` },
    )
    .toBeDefined();
  return leader as string;
}

/** SETs `key` through `via` until it is acknowledged (the same value each time, so a retry is harmless). */
export async function write(cluster: ProcessCluster, via: string, key: string, value = key): Promise<void> {
  await expect.poll(() => cluster.call(via, 'SET', key, value), { message: `SET ${key} via ${via}` }).toBe('OK');
}

/** The first word of a server error: TRYAGAIN (definite), TIMEOUT (indefinite), ERR, or CONN for a lost connection. */
export function errorKind(err: unknown): string {
  if (err instanceof ServerError) return serverKinds.has(err.replyCode) ? err.replyCode : 'ERR';
  // The client's own timeout leaves the outcome unknown, as the server's -TIMEOUT does.
  if (isDistkvError(err, 'NET_TIMEOUT')) return 'TIMEOUT';
  return 'CONN';
}

const serverKinds: ReadonlySet<string> = new Set([
  'TRYAGAIN',
  'TIMEOUT',
  'NOT_LEADER',
  'FORWARDS_FULL',
  'SESSION_EXPIRED',
  'SESSION_SEQ_TOO_OLD',
]);
