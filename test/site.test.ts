// Goal: the docs site builds, every internal link on it resolves, and the
// chapters render in a real browser. Method: build with TypeDoc + VitePress
// into a temp dir, serve it on 127.0.0.1 (a port picked by the OS), crawl
// every internal link from the home page, then open two chapters in Debian's
// Chromium through playwright-core and save screenshots (test/screenshots/,
// gitignored). Skipped, saying why, only when /usr/bin/chromium is missing.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_PATH, missingTool, systemTools } from '@distkv/net/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
// Built into a temp dir, never docs/.vitepress/dist: two runs in one working tree must not share files.
const buildDir = mkdtempSync(join(tmpdir(), 'distkv-site-'));
const dist = join(buildDir, 'site');
const apiDir = join(buildDir, 'api');
const screenshots = join(repoRoot, 'test', 'screenshots');
const PAGES_MAX = 5_000;
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

function run(args: string[]): Promise<void> {
  const env = { ...process.env, DISTKV_SITE_OUT_DIR: buildDir };
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      args,
      { cwd: repoRoot, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err === null ? done() : fail(new Error(`${args.join(' ')} failed:\n${stdout}\n${stderr}`))),
    );
  });
}

/** Serves the site the way a static host does (TypeDoc's pages under /api): /x/ is /x/index.html, a missing file is a 404. */
function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://site').pathname);
    const [base, rest] = path.startsWith('/api/') ? [apiDir, path.slice('/api'.length)] : [dist, path];
    let file = normalize(join(base, rest));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

/** Internal URLs (same origin, no hash) an HTML page refers to: links, scripts, styles, images. */
function references(html: string, base: URL): URL[] {
  const out: URL[] = [];
  for (const m of html.matchAll(/\s(?:href|src)="([^"]+)"/g)) {
    const raw = (m[1] as string).replaceAll('&amp;', '&');
    if (/^(?:[a-z]+:)?\/\//i.test(raw) && !raw.startsWith(base.origin)) continue;
    if (/^(?:mailto|javascript|data):/i.test(raw) || raw.startsWith('#')) continue;
    const url = new URL(raw, base);
    url.hash = '';
    out.push(url);
  }
  return out;
}

// Without chromium the browser checks are skipped with the install command, or fail the run under CI.
const hasChromium = !missingTool(systemTools.chromium);

describe('the docs site', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    await run([join(repoRoot, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', apiDir]);
    await run([join(repoRoot, 'node_modules', 'vitepress', 'bin', 'vitepress.js'), 'build', 'docs']);
    server = await serve();
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (hasChromium) {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
      mkdirSync(screenshots, { recursive: true });
    }
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => server?.close(done));
    rmSync(buildDir, { recursive: true, force: true });
  });

  it('has every chapter, the references and the API reference, and no broken internal link', async () => {
    const seen = new Map<string, { status: number; from: string }>();
    const queue: Array<{ url: URL; from: string }> = [{ url: new URL('/', origin), from: '(start)' }];
    while (queue.length > 0) {
      const { url, from } = queue.shift() as { url: URL; from: string };
      const key = url.pathname;
      if (seen.has(key)) continue;
      expect(seen.size, 'too many pages to crawl').toBeLessThan(PAGES_MAX);
      const res = await fetch(url);
      seen.set(key, { status: res.status, from });
      const isHtml = (res.headers.get('content-type') ?? '').startsWith('text/html');
      const body = await res.text();
      if (res.status === 200 && isHtml) {
        for (const next of references(body, url)) {
          if (next.origin === origin && !seen.has(next.pathname)) queue.push({ url: next, from: key });
        }
      }
    }
    const broken = [...seen]
      .filter(([, v]) => v.status !== 200)
      .map(([path, v]) => `${path} (${v.status}, linked from ${v.from})`);
    expect(broken).toEqual([]);
    const pages = [...seen.keys()];
    for (const page of [
      '/01-core.html',
      '/02-wal.html',
      '/05-election.html',
      '/06-cluster.html',
      '/08-cli.html',
      '/errors.html',
    ]) {
      expect(pages).toContain(page);
    }
    for (const page of ['protocol', 'configuration', 'operations', 'benchmarks', 'comparison', 'architecture']) {
      expect(pages).toContain(`/reference/${page}.html`);
    }
    expect(pages).toContain('/api/modules/_distkv_core.html');
  }, 120_000);

  describe.skipIf(!hasChromium)('in Chromium', () => {
    for (const [chapter, pkg] of [
      ['02-wal', 'wal'],
      ['05-election', 'election'],
    ] as const) {
      it(`renders chapter ${chapter} with its sidebar, highlighted code and API link`, async () => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        page.on('console', (msg) => {
          if (msg.type() === 'error') errors.push(msg.text());
        });
        page.on('response', (r) => {
          if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
        });
        const res = await page.goto(`${origin}/${chapter}.html`, { waitUntil: 'networkidle' });
        expect(res?.status()).toBe(200);
        expect(await page.locator('.vp-doc h1').first().textContent()).toMatch(new RegExp(`^${chapter.slice(0, 2)} `));
        expect(await page.locator('.VPSidebar a', { hasText: '01 — core' }).count()).toBe(1);
        expect(await page.locator('.vp-doc div[class*="language-ts"] .shiki').count()).toBeGreaterThan(0);
        const api = page.locator('.api-links a', { hasText: `@distkv/${pkg}` });
        expect(await api.getAttribute('href')).toBe(`/api/modules/_distkv_${pkg}.html`);
        await page.screenshot({ path: join(screenshots, `${chapter}.png`) });
        // The API link is a plain page load into TypeDoc's output.
        await api.click();
        await page.waitForURL(`**/api/modules/_distkv_${pkg}.html`);
        expect(await page.title()).toContain(`@distkv/${pkg}`);
        expect(errors).toEqual([]);
        await page.close();
      }, 60_000);
    }

    it('shows the diagrams on the architecture page', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${origin}/reference/architecture.html`, { waitUntil: 'networkidle' });
      const widths = await page
        .locator('.vp-doc img')
        .evaluateAll((imgs) => imgs.map((img) => (img as unknown as { naturalWidth: number }).naturalWidth));
      expect(widths).toHaveLength(4);
      for (const width of widths) expect(width).toBeGreaterThan(0);
      await page.screenshot({ path: join(screenshots, 'architecture.png'), fullPage: true });
      await page.close();
    }, 60_000);
  });
});
