// The seed's local CLI, made durable: PUT k v (the value is the rest of the
// line, spaces allowed), GET k, DEL k, SIZE, SNAP, FLUSH, SETBATCH n,
// BENCH n, EXIT. Every PUT and DEL answers only after its log entry is
// fsynced. Run (from the repository root):
// npx -y pnpm@10.34.8 -s --filter @distkv/wal example [dir]
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { commands, isDistkvError } from '@distkv/core';
import { DurableStore } from '@distkv/wal';

const dir = process.argv[2] ?? join(tmpdir(), 'distkv-repl');
// SETBATCH n bounds a group-commit batch to n entries (1 = fsync per write).
let batchEntriesMax = 16_384;

const open = (): Promise<DurableStore> =>
  DurableStore.open({ dir, walLimits: { batchEntriesMax }, log: (line) => console.log(line) });

// #region repl
let store = await open();
console.log(`distkv wal repl: data in ${dir} (last index ${store.lastIndex}, ${store.store.size} keys)`);

async function run(line: string): Promise<string | undefined> {
  const match = /^(\S+)\s*(\S*)\s?(.*)$/.exec(line.trim());
  if (match === null) return undefined;
  const [, word = '', key = '', rest = ''] = match;
  switch (word.toUpperCase()) {
    case 'PUT': {
      if (key === '') return 'ERROR usage: PUT key value';
      const result = await store.execute(commands.put(key, rest));
      return result.ok ? 'OK' : `ERROR ${result.code}`;
    }
    case 'GET':
      return store.store.getString(key) ?? 'NOT_FOUND';
    case 'DEL': {
      const result = await store.execute(commands.del(key));
      return result.ok && result.op === 'del' && result.deleted === 1 ? 'OK' : 'NOT_FOUND';
    }
    case 'SIZE':
      return String(store.store.size);
    case 'SNAP':
      return `OK snapshot at index ${(await store.snapshot()).index}`;
    case 'FLUSH':
      await store.flush();
      return 'OK';
    case 'SETBATCH': {
      const n = Number(key);
      if (!Number.isSafeInteger(n) || n < 1) return 'ERROR usage: SETBATCH n (n >= 1)';
      await store.close();
      batchEntriesMax = n;
      store = await open();
      return `OK batches of at most ${n} entries`;
    }
    case 'BENCH': {
      const n = Number(key);
      if (!Number.isSafeInteger(n) || n < 1 || n > 10_000_000) return 'ERROR usage: BENCH n (1..10000000)';
      // 64 concurrent writers, each put durable before it counts.
      const start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < n) await store.execute(commands.put(`bench:${next++}`, 'x'.repeat(32)));
        }),
      );
      const ms = performance.now() - start;
      return `OK ${n} durable puts in ${ms.toFixed(0)} ms = ${Math.round(n / (ms / 1000))} ops/s`;
    }
    case 'EXIT':
      return 'EXIT';
    default:
      return 'ERROR UNKNOWN COMMAND';
  }
}
// #endregion repl

// In a terminal: a `> ` prompt, echo and line editing (readline needs the
// output stream for those), history on the arrow keys, Tab completing the
// command names. From a pipe: no prompt, one answer per line.
const NAMES = ['PUT', 'GET', 'DEL', 'SIZE', 'SNAP', 'FLUSH', 'SETBATCH', 'BENCH', 'EXIT'];
const interactive = process.stdin.isTTY === true;
const input = createInterface({
  input: process.stdin,
  output: interactive ? process.stdout : undefined,
  terminal: interactive,
  historySize: 1000,
  completer: (line: string): [string[], string] => {
    const word = line.trimStart().toUpperCase();
    if (word.includes(' ')) return [[], line];
    const hits = NAMES.filter((name) => name.startsWith(word));
    return [hits.length > 0 ? hits : NAMES, line];
  },
});
input.setPrompt(interactive ? '> ' : '');
input.prompt();
for await (const line of input) {
  let answer: string | undefined;
  try {
    answer = await run(line);
  } catch (err) {
    answer = isDistkvError(err) ? `ERROR ${err.code}: ${err.message}` : `ERROR ${String(err)}`;
  }
  if (answer === 'EXIT') break;
  if (answer !== undefined) console.log(answer);
  input.prompt();
}
input.close();
await store.close();
