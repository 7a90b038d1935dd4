/**
 * A linearizability checker for a key-value store whose keys are
 * independent registers (read, write, delete, compare-and-set).
 *
 * Method: Wing & Gong's search with Lowe's memoisation, as Porcupine and
 * Knossos implement it. A history is split by key (P-compositionality:
 * a history is linearizable iff each key's sub-history is), and for each
 * key we look for a total order of its operations that (1) respects real
 * time — an operation that returned before another was called comes first
 * — and (2) replays correctly on a single register. The search walks the
 * events in time order, tries to linearize each pending call, and
 * backtracks on a return it could not place; a cache of (set of
 * linearized ops, register state) prunes states already seen.
 *
 * Operations whose outcome is unknown (a timeout, an indefinite error) get
 * a return time of +infinity: they may take effect at any point after
 * their call, or never (placing them after everything else is the same as
 * never). Unknown reads tell nothing and are dropped.
 */

// #region history
export type OpKind = 'read' | 'write' | 'delete' | 'cas';

export interface Operation {
  /** Who issued it: ops of one client never overlap. */
  client: number;
  key: string;
  kind: OpKind;
  /** write: the value; cas: [expected (null = absent), new value]. */
  value?: string | null;
  expected?: string | null;
  /** read: the value seen (null = absent); cas: whether it swapped. */
  output?: string | null | boolean;
  /** ok: it happened and `output` is what it returned; fail: it certainly did not happen; info: unknown. */
  status: 'ok' | 'fail' | 'info';
  /** Client-side times (ms, any monotonic clock): sent, and reply received. */
  callMs: number;
  returnMs: number;
}
// #endregion history

export interface KeyVerdict {
  key: string;
  linearizable: boolean | 'unknown';
  ops: number;
  /** On failure: a small sub-history that is itself not linearizable, in real-time order. */
  counterexample?: Operation[];
  /** On failure: the longest order found before the search got stuck, and the ops that could not follow it. */
  longestPrefix?: Operation[];
  stuckAt?: Operation[];
}

export interface Verdict {
  linearizable: boolean | 'unknown';
  keys: KeyVerdict[];
  ops: number;
}

export interface CheckOptions {
  /** Most search steps per key before giving up with 'unknown'. */
  stepsMaxPerKey?: number;
  /** Shrink a failing key's history to a small counterexample (up to this many ops). */
  minimizeOpsMax?: number;
}

type State = string | null;

// #region model
/** One step of a register: is `op` legal in `state`, and what state follows. */
function step(state: State, op: Operation): [boolean, State] {
  const unknown = op.status === 'info';
  switch (op.kind) {
    case 'read':
      return [op.output === state, state];
    case 'write':
      return [true, op.value ?? null];
    case 'delete':
      return [true, null];
    case 'cas': {
      const matches = state === (op.expected ?? null);
      // An unknown CAS did whatever the state dictated; a known one must agree with it.
      if (unknown) return [true, matches ? (op.value ?? null) : state];
      return op.output === true ? [matches, matches ? (op.value ?? null) : state] : [!matches, state];
    }
  }
}
// #endregion model

interface Entry {
  isCall: boolean;
  op: number;
  time: number;
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

function buildEntries(ops: Operation[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = { isCall: true, op: i, time: op.callMs, match: null, prev: null, next: null };
    const ret: Entry = {
      isCall: false,
      op: i,
      time: op.status === 'info' ? Number.POSITIVE_INFINITY : op.returnMs,
      match: null,
      prev: null,
      next: null,
    };
    call.match = ret;
    events.push(call, ret);
  });
  // Equal times: calls first, so that touching operations count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { isCall: false, op: -1, time: Number.NEGATIVE_INFINITY, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(entry: Entry): void {
  (entry.prev as Entry).next = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
  const ret = entry.match as Entry;
  (ret.prev as Entry).next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(entry: Entry): void {
  const ret = entry.match as Entry;
  (ret.prev as Entry).next = ret;
  if (ret.next) ret.next.prev = ret;
  (entry.prev as Entry).next = entry;
  if (entry.next) entry.next.prev = entry;
}

// #region search
/** Wing–Gong–Lowe search over one key's operations. */
function searchKey(ops: Operation[], stepsMax: number): { result: boolean | 'unknown'; longest: number[]; stuck: number[] } {
  const head = buildEntries(ops);
  const linearized = new Uint8Array(ops.length);
  const words = new Uint32Array(Math.ceil(ops.length / 32));
  const cache = new Map<string, Set<State>>();
  const stack: Array<{ entry: Entry; state: State }> = [];
  let state: State = null;
  let entry = head.next;
  let steps = 0;
  let longest: number[] = [];
  let stuck: number[] = [];
  const setBit = (i: number, on: boolean) => {
    linearized[i] = on ? 1 : 0;
    words[i >> 5] = on ? (words[i >> 5] as number) | (1 << (i & 31)) : (words[i >> 5] as number) & ~(1 << (i & 31));
  };
  while (head.next !== null) {
    if (++steps > stepsMax) return { result: 'unknown', longest, stuck };
    const e = entry as Entry;
    if (e.isCall) {
      const op = ops[e.op] as Operation;
      const [legal, next] = step(state, op);
      if (legal) {
        setBit(e.op, true);
        const key = words.join(',');
        let seen = cache.get(key);
        if (seen === undefined) {
          seen = new Set();
          cache.set(key, seen);
        }
        if (!seen.has(next)) {
          seen.add(next);
          stack.push({ entry: e, state });
          state = next;
          lift(e);
          entry = head.next;
          continue;
        }
        setBit(e.op, false);
      }
      entry = e.next;
    } else {
      // A return whose call we could not linearize before it: backtrack.
      if (stack.length >= longest.length) {
        longest = stack.map((s) => s.entry.op);
        stuck = [];
        for (let x: Entry | null = head.next; x !== null && x !== e.next; x = x.next) if (x.isCall) stuck.push(x.op);
      }
      const top = stack.pop();
      if (top === undefined) return { result: false, longest, stuck };
      state = top.state;
      setBit(top.entry.op, false);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { result: true, longest: [], stuck: [] };
}
// #endregion search

function prepare(ops: Operation[]): Operation[] {
  // Failed ops did not happen; unknown reads say nothing.
  return ops.filter((op) => op.status !== 'fail' && !(op.status === 'info' && op.kind === 'read'));
}

/** Greedily drops operations while the rest stays non-linearizable. */
function minimize(ops: Operation[], stepsMax: number): Operation[] {
  let current = ops;
  for (let i = current.length - 1; i >= 0; i--) {
    const without = current.filter((_, j) => j !== i);
    if (searchKey(without, stepsMax).result === false) current = without;
  }
  return current;
}

export function checkHistory(history: Operation[], options: CheckOptions = {}): Verdict {
  const stepsMax = options.stepsMaxPerKey ?? 5_000_000;
  const minimizeOpsMax = options.minimizeOpsMax ?? 300;
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }
  const keys: KeyVerdict[] = [];
  for (const [key, all] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ops = prepare(all);
    const { result, longest, stuck } = searchKey(ops, stepsMax);
    const verdict: KeyVerdict = { key, linearizable: result, ops: ops.length };
    if (result === false) {
      const byTime = (a: Operation, b: Operation) => a.callMs - b.callMs;
      verdict.counterexample = (ops.length <= minimizeOpsMax ? minimize(ops, stepsMax) : ops).slice().sort(byTime);
      verdict.longestPrefix = longest.map((i) => ops[i] as Operation);
      verdict.stuckAt = stuck.map((i) => ops[i] as Operation);
    }
    keys.push(verdict);
  }
  const linearizable = keys.some((k) => k.linearizable === false)
    ? false
    : keys.some((k) => k.linearizable === 'unknown')
      ? 'unknown'
      : true;
  return { linearizable, keys, ops: history.length };
}

/** One line per operation, for reports and test failures. */
export function describeOp(op: Operation): string {
  const what =
    op.kind === 'read'
      ? `read -> ${JSON.stringify(op.output)}`
      : op.kind === 'write'
        ? `write ${JSON.stringify(op.value)}`
        : op.kind === 'delete'
          ? 'delete'
          : `cas ${JSON.stringify(op.expected)} -> ${JSON.stringify(op.value)} = ${JSON.stringify(op.output)}`;
  const end = op.status === 'info' ? '?' : op.returnMs.toFixed(1);
  return `[${op.callMs.toFixed(1)}, ${end}] client ${op.client} ${op.key}: ${what} (${op.status})`;
}

export function explain(verdict: Verdict): string {
  const lines: string[] = [];
  for (const k of verdict.keys) {
    if (k.linearizable === true) continue;
    if (k.linearizable === 'unknown') {
      lines.push(`key ${k.key}: search gave up (too many states); ${k.ops} ops`);
      continue;
    }
    lines.push(`key ${k.key}: NOT linearizable (${k.ops} ops). A smallest failing sub-history, in real time:`);
    for (const op of k.counterexample ?? []) lines.push(`  ${describeOp(op)}`);
    lines.push('  longest order found:');
    for (const op of k.longestPrefix ?? []) lines.push(`    ${describeOp(op)}`);
    lines.push('  none of these could come next:');
    for (const op of k.stuckAt ?? []) lines.push(`    ${describeOp(op)}`);
  }
  return lines.join('\n');
}
