// A Ready that holds only what a test puts in it, for the tests (and fixtures) that hand a driver part a Ready of their own.
import type { Ready } from '@distkv/replication';

export function readyOf(part: Partial<Ready>): Ready {
  return {
    hardState: undefined,
    snapshot: undefined,
    entries: [],
    messages: [],
    earlyMessages: [],
    committedEntries: [],
    leaderDurableIndex: undefined,
    softState: undefined,
    readStates: [],
    events: [],
    ...part,
  };
}
