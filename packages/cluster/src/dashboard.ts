/**
 * The dashboard: one self-contained HTML page (its CSS and script inline,
 * no CDN, no font, no network but the nodes themselves), served by every
 * node's admin endpoint at `/` and `/dashboard`.
 *
 * How one page shows the whole cluster: the script asks the node that
 * served it for `/dashboard/state`, which lists the other voters' admin
 * addresses (`peerHttp`), then polls every node's `/dashboard/state` once a
 * second, straight from the browser (those answers carry
 * `access-control-allow-origin: *`). So the page keeps working when the
 * node that served it dies: the others still answer. `?nodes=host:port,...`
 * adds endpoints by hand.
 *
 * The script builds the page with DOM calls and `textContent` only (never
 * innerHTML with data), so a node id or event message cannot inject markup.
 *
 * The page's parts are files of their own, so that biome lints and formats
 * them and tsc checks the script (dashboard/tsconfig.json): index.html,
 * style.css and app.js under src/dashboard/. This module reads them once
 * and inlines the style and the script, so the page stays one response.
 * They are found through `../src/dashboard/` from this module's URL, which
 * resolves the same from src/ (development) and from dist/ (published; the
 * package ships src/).
 */
import { readFileSync } from 'node:fs';
import { assert } from '@distkv/core';

/** How often the page polls each node, and how long it waits for one. */
export const DASHBOARD_POLL_MS = 1000;
export const DASHBOARD_FETCH_TIMEOUT_MS = 1500;

const ASSETS = new URL('../src/dashboard/', import.meta.url);

function asset(name: string): string {
  return readFileSync(new URL(name, ASSETS), 'utf8');
}

/** `page` with `tag` (which must be there exactly once) replaced by `content`. */
function replaceOnce(page: string, tag: string, content: string): string {
  const at = page.indexOf(tag);
  assert(at >= 0, `dashboard/index.html has ${tag}`);
  assert(page.indexOf(tag, at + 1) < 0, `dashboard/index.html has ${tag} once`);
  return page.slice(0, at) + content + page.slice(at + tag.length);
}

function dashboardPage(): string {
  const css = asset('style.css');
  const js = asset('app.js');
  assert(!css.includes('</style'), 'style.css can be inlined');
  assert(!js.includes('</script'), 'app.js can be inlined');
  let page = asset('index.html');
  page = replaceOnce(page, '<link rel="stylesheet" href="./style.css">', `<style>\n${css}</style>`);
  page = replaceOnce(page, '<script src="./app.js"></script>', `<script>\n${js}</script>`);
  page = replaceOnce(page, '__POLL_MS__', String(DASHBOARD_POLL_MS));
  return replaceOnce(page, '__FETCH_TIMEOUT_MS__', String(DASHBOARD_FETCH_TIMEOUT_MS));
}

/** The page, built once when the module loads (a missing asset fails at startup, not at the first visit). */
export const DASHBOARD_HTML = dashboardPage();
