// Goal: with fsync 'always', no acknowledged append is ever lost to a crash, and the recovered log is a gapless prefix.
// Method: a real child process appends and prints each acknowledged index; the parent SIGKILLs it at seeded random
// moments (DISTKV_CRASH_KILLS times, default 200), reopens the log itself and checks every entry against the model.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableStore, Wal } from '../src/index.js';
import { buildPlain } from './fixtures/build-plain.js';
import { rng } from './helpers.js';

const killsTotal = Number(process.env.DISTKV_CRASH_KILLS ?? 200);
const seed = Number(process.env.DISTKV_CRASH_SEED ?? 20_260_222);
/**
 * Only a bound, and a longer DISTKV_CRASH_KILLS run gets proportionally more time. Each kill starts a
 * Node process; on CI's two cores, shared with every other package's tests, 200 of them took over
 * 260 s once (1 s a kill was too tight), so 2 s a kill.
 */
const timeoutMs = 60_000 + killsTotal * 2_000;

function payloadOf(index: number): Buffer {
  return Buffer.from(`entry-${index}-${'x'.repeat(index % 97)}`);
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'wal-crash-'));
  buildPlain(join(root, 'build'), [
    fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url)),
    fileURLToPath(new URL('./fixtures/crash-store.mjs', import.meta.url)),
    fileURLToPath(new URL('./fixtures/acks.mjs', import.meta.url)),
  ]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Life {
  openedAt: number;
  acked: number[];
  stderr: string;
}

/** Runs one child until it has acknowledged `killAfterAcks` appends (or opened, for 0), then SIGKILLs it. */
function liveAndDie(fixture: string, dir: string, killAfterAcks: number, delayTicks: number): Promise<Life> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--no-warnings', join(root, 'build', fixture), dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const life: Life = { openedAt: -1, acked: [], stderr: '' };
    let buffered = '';
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      // Let the child run on for a few event-loop turns, so the kill lands mid-write or mid-fsync.
      let ticks = delayTicks;
      const later = () => (ticks-- > 0 ? setImmediate(later) : child.kill('SIGKILL'));
      later();
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, value] = line.split(' ');
        if (word === 'open') life.openedAt = Number(value);
        else if (word === 'ack' && !killed) life.acked.push(Number(value));
        else if (word === 'ack') life.acked.push(Number(value)); // acked before the kill landed: still must survive
        if (life.openedAt >= 0 && life.acked.length >= killAfterAcks) kill();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      life.stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code} ${signal}: ${life.stderr}`));
      else resolve(life);
    });
  });
}

describe('crash test with real processes (SIGKILL)', () => {
  it(
    `keeps every acknowledged append across ${killsTotal} kills`,
    async () => {
      const random = rng(seed);
      const dir = join(root, 'data');
      let maxAcked = 0;
      let tailsCut = 0;
      let lastIndex = 0;
      for (let kill = 0; kill < killsTotal; kill++) {
        const killAfterAcks = Math.floor(random() * 40);
        const delayTicks = Math.floor(random() * 4);
        const life = await liveAndDie('crash-writer.mjs', dir, killAfterAcks, delayTicks);
        if (life.stderr.includes('dropped')) tailsCut++;
        // The child's own recovery already saw everything acknowledged before.
        expect(life.openedAt, `SEED=${seed} kill ${kill}`).toBeGreaterThanOrEqual(maxAcked);
        for (const index of life.acked) maxAcked = Math.max(maxAcked, index);
        const wal = await Wal.open({ dir, limits: { segmentBytes: 8192 } });
        try {
          expect(wal.firstIndex).toBe(1);
          expect(wal.lastIndex, `SEED=${seed} kill ${kill}: acknowledged ${maxAcked}`).toBeGreaterThanOrEqual(maxAcked);
          const from = Math.max(1, lastIndex - 64);
          const entries = await wal.entries(from, wal.lastIndex);
          entries.forEach((entry, i) => {
            expect(entry.index).toBe(from + i);
            expect(entry.payload.equals(payloadOf(entry.index)), `SEED=${seed} entry ${entry.index}`).toBe(true);
          });
          lastIndex = wal.lastIndex;
        } finally {
          await wal.close();
        }
      }
      // The whole log, once more, end to end.
      const wal = await Wal.open({ dir });
      const all = await wal.entries(1, wal.lastIndex);
      expect(all.length).toBe(wal.lastIndex);
      for (const entry of all) expect(entry.payload.equals(payloadOf(entry.index))).toBe(true);
      await wal.close();
      console.log(`crash test: ${killsTotal} kills, ${all.length} entries, ${tailsCut} torn tails cut, seed ${seed}`);
      expect(maxAcked).toBeGreaterThan(0);
    },
    timeoutMs,
  );

  it(
    'keeps every acknowledged DurableStore put across kills during snapshots and compactions',
    async () => {
      const random = rng(seed + 1);
      const dir = join(root, 'store');
      const kills = Math.max(20, Math.floor(killsTotal / 5));
      let maxAcked = 0;
      for (let kill = 0; kill < kills; kill++) {
        const life = await liveAndDie('crash-store.mjs', dir, Math.floor(random() * 60), Math.floor(random() * 4));
        expect(life.openedAt, `SEED=${seed + 1} kill ${kill}`).toBeGreaterThanOrEqual(maxAcked);
        for (const index of life.acked) maxAcked = Math.max(maxAcked, index);
      }
      const store = await DurableStore.open({ dir, snapshotEveryEntries: 0 });
      try {
        expect(store.lastIndex).toBeGreaterThanOrEqual(maxAcked);
        expect(store.snapshotIndex).toBeGreaterThan(0);
        expect(store.store.size).toBe(store.lastIndex);
        for (let i = 1; i <= store.lastIndex; i++) {
          expect(store.store.getString(`k${i}`), `SEED=${seed + 1} key k${i}`).toBe(`value ${i} ${'z'.repeat(i % 40)}`);
        }
      } finally {
        await store.close();
      }
    },
    timeoutMs,
  );
});
