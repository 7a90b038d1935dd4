// Goal: the dashboard a node serves shows the whole 3-node cluster with exactly one leader, and after the leader is SIGKILLed shows the new one — in a real browser, with no reload.
// Method: three real `distkv server` processes on 127.0.0.1 (free ports, temp dirs; admin port = peer port + 1000, the rule by which a node finds its peers' dashboards); Debian's Chromium driven by playwright-core (never downloaded); every wait is a bounded poll of the page, never a sleep that decides; a screenshot goes to .artifacts/ (ignored by git).
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@distkv/net';
import { CHROMIUM_PATH, missingTool, systemTools } from '@distkv/net/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { kill, packageDir, type RunningServer, startServer } from './helpers.js';

const HTTP_OFFSET = 1000;
const binPath = join(packageDir, 'bin', 'distkv.mjs');
const artifacts = join(packageDir, '.artifacts');
const children = new Set<ChildProcess>();
const roots: string[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  for (const c of children) await kill(c, 'SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function isFree(port: number): Promise<boolean> {
  const s = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise<void>((resolve) => s.close(() => resolve()));
  return ok;
}

/** A peer port whose admin port (peer + HTTP_OFFSET) is free too, below Linux's ephemeral range (32768+). */
async function freePortPair(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const peer = 20_000 + Math.floor(Math.random() * 11_000);
    if (taken.has(peer) || taken.has(peer + HTTP_OFFSET)) continue;
    if ((await isFree(peer)) && (await isFree(peer + HTTP_OFFSET))) {
      taken.add(peer);
      taken.add(peer + HTTP_OFFSET);
      return peer;
    }
  }
  throw new Error('no free port pair in 200 tries');
}

/** Polls `read` every 100 ms until `ok` holds, at most pollsMax times (a bound, not a pass criterion). */
async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, pollsMax = 900): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < pollsMax; i++) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      // a page mid-render or a node mid-election: look again
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for: ${what}; last seen ${JSON.stringify(last)}`);
}

interface Shown {
  cards: Array<{ id: string; role: string; leader: boolean; health: string; term: number }>;
  leaderId: string;
  events: Array<{ kind: string; term: number }>;
  /** The highest value drawn in the ops/s chart. */
  opsMax: number;
}

/** The few DOM members the page probe uses (this package compiles without the DOM lib). */
interface ProbeElement {
  dataset: Record<string, string | undefined>;
}
interface ProbeDocument {
  querySelectorAll(selector: string): ArrayLike<ProbeElement>;
  getElementById(id: string): (ProbeElement & { getAttribute(name: string): string | null }) | null;
}

function shown(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: ProbeDocument }).document;
    return {
      cards: Array.from(doc.querySelectorAll('.card[data-node]')).map((c) => ({
        id: c.dataset.node ?? '',
        role: c.dataset.role ?? '',
        leader: c.dataset.leader === 'true',
        health: c.dataset.health ?? '',
        term: Number(c.dataset.term),
      })),
      leaderId: doc.getElementById('leader')?.dataset.leaderId ?? '',
      events: Array.from(doc.querySelectorAll('#events li')).map((li) => ({
        kind: li.dataset.kind ?? '',
        term: Number(li.dataset.term),
      })),
      opsMax: Number(doc.getElementById('ops')?.getAttribute('data-max') ?? 0),
    };
  });
}

// scripts/setup.sh installs chromium; without it the test is skipped with the install command, or fails under CI.
describe('the dashboard in a browser', () => {
  it.skipIf(missingTool(systemTools.chromium))(
    'shows three nodes and one leader, then the new leader after a SIGKILL',
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'distkv-dashboard-'));
      roots.push(root);
      const ids = ['n1', 'n2', 'n3'];
      const taken = new Set<number>();
      const peerPorts = new Map<string, number>();
      for (const id of ids) peerPorts.set(id, await freePortPair(taken));
      const nodes = new Map<string, RunningServer>();
      await Promise.all(
        ids.map(async (id) => {
          const peers = ids
            .filter((p) => p !== id)
            .map((p) => `${p}=127.0.0.1:${peerPorts.get(p)}`)
            .join(',');
          const peerPort = peerPorts.get(id) as number;
          // biome-ignore format: one flag per pair reads better
          const args = ['--id', id, '--peer-port', String(peerPort), '--peers', peers,
            '--data-dir', join(root, id), '--http-port', String(peerPort + HTTP_OFFSET)];
          nodes.set(id, await startServer(binPath, args, root, (child) => children.add(child)));
        }),
      );
      const httpOf = (id: string): string => `http://127.0.0.1:${(peerPorts.get(id) as number) + HTTP_OFFSET}`;

      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${httpOf('n1')}/`);
      const before = await until(
        'three cards and exactly one leader',
        () => shown(page),
        (s) =>
          s.cards.length === 3 &&
          s.cards.filter((c) => c.leader).length === 1 &&
          s.cards.every((c) => c.health === 'healthy') &&
          s.leaderId === s.cards.find((c) => c.leader)?.id,
      );
      expect(before.cards.map((c) => c.id)).toEqual(ids);
      const oldLeader = before.leaderId;
      const oldTerm = before.cards.find((c) => c.id === oldLeader)?.term ?? 0;

      // Writes through a node show in the live chart (its series gains a point a second).
      const client = await Client.connect({ port: (nodes.get(oldLeader) as RunningServer).port });
      try {
        for (let i = 0; i < 200; i++) await client.call('SET', `key${i % 20}`, String(i));
      } finally {
        await client.close();
      }
      await until(
        'the ops/s chart shows the writes',
        () => shown(page),
        (s) => s.opsMax > 0,
      );
      expect(before.cards.filter((c) => c.role === 'leader').map((c) => c.id)).toEqual([oldLeader]);

      await kill((nodes.get(oldLeader) as RunningServer).child, 'SIGKILL');
      const after = await until(
        `a leader other than ${oldLeader}, and ${oldLeader} shown unreachable`,
        () => shown(page),
        (s) =>
          s.cards.length === 3 &&
          s.leaderId !== '' &&
          s.leaderId !== oldLeader &&
          s.cards
            .filter((c) => c.leader)
            .map((c) => c.id)
            .join() === s.leaderId &&
          s.cards.find((c) => c.id === oldLeader)?.role === 'unreachable',
      );
      expect(after.cards.find((c) => c.id === oldLeader)?.health).toBe('unreachable');
      expect(after.events.map((e) => e.kind)).toContain('unreachable');
      expect(after.cards.find((c) => c.leader)?.term).toBeGreaterThan(oldTerm);
      // The survivors' own events tell of the election that followed (the page polls them once a second).
      await until(
        `an election event after term ${oldTerm}`,
        () => shown(page),
        (s) => s.events.some((e) => e.kind === 'election' && e.term > oldTerm),
      );

      mkdirSync(artifacts, { recursive: true });
      writeFileSync(join(artifacts, '.gitignore'), '*\n');
      const screenshot = join(artifacts, 'dashboard-after-failover.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(existsSync(screenshot)).toBe(true);
    },
    180_000,
  );
});
