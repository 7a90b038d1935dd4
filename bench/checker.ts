// pnpm bench checker — how fast the linearizability checker decides.
// Method: histories from a simulated atomic register (so the answer is
// "linearizable" and the search must explore every key fully): C clients
// issue back-to-back ops with random latencies on K keys; 2% of writes end
// with an unknown outcome. Reports ops checked per second.
import { checkHistory, type Operation } from '../test/chaos/checker.js';
import { printJsonLine, printTable } from './lib.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function registerHistory(clients: number, keys: number, opsTotal: number, seed: number): Operation[] {
  const random = lcg(seed);
  const clock = new Array<number>(clients).fill(0);
  const specs: Array<Operation & { effectMs: number }> = [];
  for (let i = 0; i < opsTotal; i++) {
    const client = i % clients;
    const callMs = (clock[client] as number) + random() * 2;
    const returnMs = callMs + 0.5 + random() * 10;
    clock[client] = returnMs;
    const roll = random();
    const kind: Operation['kind'] = roll < 0.5 ? 'read' : roll < 0.85 ? 'write' : roll < 0.9 ? 'delete' : 'cas';
    specs.push({
      client,
      key: `k${Math.floor(random() * keys)}`,
      kind,
      value: String(Math.floor(random() * 5)),
      expected: String(Math.floor(random() * 5)),
      status: kind === 'write' && random() < 0.02 ? 'info' : 'ok',
      callMs,
      returnMs,
      effectMs: callMs + random() * (returnMs - callMs),
    });
  }
  const state = new Map<string, string | null>();
  for (const op of [...specs].sort((a, b) => a.effectMs - b.effectMs)) {
    const current = state.get(op.key) ?? null;
    if (op.kind === 'read') op.output = current;
    else if (op.kind === 'write') state.set(op.key, op.value ?? null);
    else if (op.kind === 'delete') state.set(op.key, null);
    else {
      op.output = current === op.expected;
      if (op.output) state.set(op.key, op.value ?? null);
    }
  }
  return specs;
}

const rows: Array<[string, string | number]> = [];
const figures: Record<string, number | boolean | string> = {};
for (const [clients, keys, opsTotal] of [
  [5, 5, 10_000],
  [10, 10, 50_000],
  [20, 5, 20_000],
] as const) {
  const history = registerHistory(clients, keys, opsTotal, 7);
  const t0 = performance.now();
  const verdict = checkHistory(history);
  const ms = performance.now() - t0;
  if (verdict.linearizable !== true) throw new Error('a register history must be linearizable');
  const rate = Math.round(opsTotal / (ms / 1000));
  rows.push([
    `${clients} clients, ${keys} keys, ${opsTotal.toLocaleString('en-US')} ops`,
    `${ms.toFixed(0)} ms (${rate.toLocaleString('en-US')} ops/s)`,
  ]);
  figures[`ops_s_${clients}c_${keys}k`] = rate;
}
printTable('linearizability checker (Wing–Gong–Lowe, partitioned by key)', rows);
printJsonLine(figures);
