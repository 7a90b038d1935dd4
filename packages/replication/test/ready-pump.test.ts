// Goal: in async mode every pending proposal is answered at once when the leader's durable index passes it, even one of an older term (issue 17, item 9).
// Method: a ReadyPump over a scripted fake state machine: propose at term 1, the node leads again at term 2, and a Ready reports the durable index past the proposal; the promise must settle before any timeout could.
import { isDistkvError, Store, type StoreOptions } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { ReadyPump, type ReadyPumpHandle } from '../src/driver/ready-pump.js';
import type { Ready } from '../src/raft.js';
import type { LogIndex, Term } from '../src/types.js';
import { readyOf } from './ready.js';

/** A fake node whose log holds `terms[i]` at index i + 1, currently at `term`. */
function harness(terms: number[], term: number) {
  const readys: Ready[] = [];
  const handle: ReadyPumpHandle = {
    raft: {
      hasReady: () => readys.length > 0,
      ready: () => readys.shift() as Ready,
      advance: () => {},
      takeCommitted: () => [],
      term: term as Term,
      log: { applied: 0, term: (i: LogIndex) => terms[i - 1] as Term | undefined } as never,
    } as never,
    log: { persist: async () => {} },
    transport: { sendAll: () => {} },
    mode: 'async',
    compaction: { requested: false, runIfDue: async () => {}, runRequested: async () => {} } as never,
    storeOptions: {} as StoreOptions,
    logLine: () => {},
    onReadStates: () => {},
    onSoftState: () => {},
    onFatal: (err) => {
      throw err;
    },
  };
  const pump = new ReadyPump(handle, new Store());
  return { pump, readys };
}

async function settle(p: Promise<unknown>): Promise<{ ok: boolean; value: unknown }> {
  // No timers here: the pump only awaits resolved promises, so a proposal it answers settles within a few turns.
  const marker = Symbol('pending');
  const outcome = p.then(
    (value) => ({ ok: true, value }),
    (value: unknown) => ({ ok: false, value }),
  );
  for (let turn = 0; turn < 100; turn++) {
    const r = await Promise.race([outcome, new Promise((r) => setImmediate(() => r(marker)))]);
    if (r !== marker) return r as { ok: boolean; value: unknown };
  }
  throw new Error('the proposal was never answered');
}

/** On a node whose log holds `terms` (now at `term`), proposes at `proposed`, then a Ready reports `durable` as the leader's durable index: the proposal's answer. */
function answerOnceDurable(
  terms: number[],
  term: number,
  proposed: { index: number; term: number },
  durable: number,
): Promise<{ ok: boolean; value: unknown }> {
  const { pump, readys } = harness(terms, term);
  const answer = pump.track({ index: proposed.index as LogIndex, term: proposed.term as Term }, false);
  readys.push(readyOf({ leaderDurableIndex: durable as LogIndex }));
  pump.kick();
  return settle(answer);
}

describe('async acknowledgement of a proposal from an older term', () => {
  it('answers PROPOSAL_DROPPED (definite) when its entry was overwritten by another term', async () => {
    // Proposed at index 2 in term 1; the log now holds term 2's entry there.
    const r = await answerOnceDurable([1, 2, 2], 2, { index: 2, term: 1 }, 3);
    expect(r.ok).toBe(false);
    expect(isDistkvError(r.value) && r.value.code).toBe('PROPOSAL_DROPPED');
    expect((r.value as { definite: boolean }).definite).toBe(true);
  });

  it('answers TIMEOUT (indefinite) when its entry is still in the log and may yet commit', async () => {
    const r = await answerOnceDurable([1, 1, 2], 2, { index: 2, term: 1 }, 3);
    expect(r.ok).toBe(false);
    expect(isDistkvError(r.value) && r.value.code).toBe('TIMEOUT');
    expect((r.value as { definite: boolean }).definite).toBe(false);
  });

  it('still acknowledges a proposal of the current term at the durable index', async () => {
    const r = await answerOnceDurable([1, 2], 2, { index: 2, term: 2 }, 2);
    expect(r).toEqual({ ok: true, value: { index: 2, term: 2, result: undefined } });
  });
});
