// Goal: the dashboard a node serves shows the whole 3-node cluster with exactly one leader, and after the leader is SIGKILLed shows the new one — in a real browser, with no reload.
// Method: three real `distkv server` processes on 127.0.0.1 (the shared ProcessCluster: reserved ports, temp dirs; admin port = peer port + 1000, the rule by which a node finds its peers' dashboards); Debian's Chromium driven by playwright-core (never downloaded); every wait is a bounded poll of the page, never a sleep that decides; a screenshot goes to .artifacts/ (ignored by git).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessCluster } from '@distkv/cli/testing';
import { Client } from '@distkv/net';
import { CHROMIUM_PATH, missingTool, systemTools } from '@distkv/net/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { packageDir } from './helpers.js';

const HTTP_OFFSET = 1000;
const artifacts = join(packageDir, '.artifacts');
let cluster: ProcessCluster | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await cluster?.destroy();
});

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

/** Polls the page until `ok` holds (expect.poll, bounded in vitest.config.ts; a failure shows what the page showed last). */
async function pageUntil(page: Page, message: string, ok: (s: Shown) => boolean): Promise<Shown> {
  let last: Shown | undefined;
  await expect
    .poll(
      async () => {
        last = await shown(page);
        return last;
      },
      { message },
    )
    .toSatisfy(ok);
  return last as Shown;
}

// scripts/setup.sh installs chromium; without it the test is skipped with the install command, or fails under CI.
describe('the dashboard in a browser', () => {
  it.skipIf(missingTool(systemTools.chromium))(
    'shows three nodes and one leader, then the new leader after a SIGKILL',
    async () => {
      // The admin port is the peer port + HTTP_OFFSET, so each node finds its peers' dashboards by that rule.
      cluster = await ProcessCluster.create(3, { httpPortOffset: HTTP_OFFSET });
      const c = cluster;
      await c.startAll();
      const httpOf = (id: string): string => `http://127.0.0.1:${c.httpPort(id)}`;

      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${httpOf('n1')}/`);
      const before = await pageUntil(
        page,
        'three cards and exactly one leader',
        (s) =>
          s.cards.length === 3 &&
          s.cards.filter((c) => c.leader).length === 1 &&
          s.cards.every((c) => c.health === 'healthy') &&
          s.leaderId === s.cards.find((c) => c.leader)?.id,
      );
      expect(before.cards.map((c) => c.id)).toEqual(c.ids);
      const oldLeader = before.leaderId;
      const oldTerm = before.cards.find((c) => c.id === oldLeader)?.term ?? 0;

      // Writes through a node show in the live chart (its series gains a point a second).
      const client = await Client.connect({ port: c.port(oldLeader) });
      try {
        for (let i = 0; i < 200; i++) await client.call('SET', `key${i % 20}`, String(i));
      } finally {
        await client.close();
      }
      await pageUntil(page, 'the ops/s chart shows the writes', (s) => s.opsMax > 0);
      expect(before.cards.filter((c) => c.role === 'leader').map((c) => c.id)).toEqual([oldLeader]);

      await c.kill(oldLeader);
      const after = await pageUntil(
        page,
        `a leader other than ${oldLeader}, and ${oldLeader} shown unreachable`,
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
      await pageUntil(page, `an election event after term ${oldTerm}`, (s) =>
        s.events.some((e) => e.kind === 'election' && e.term > oldTerm),
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
