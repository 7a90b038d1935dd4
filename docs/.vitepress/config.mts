import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DefaultTheme, defineConfig } from 'vitepress';

// The site is built from docs/ as it is: the chapters are the tutorial, and
// docs/README.md stays the index people see on GitHub (excluded here; the
// home page is docs/index.md).
const docsDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One chapter per phase, in order, with the packages whose API it explains. */
export const chapters: ReadonlyArray<{ file: string; title: string; packages: readonly string[] }> = [
  { file: '01-core', title: '01 — core', packages: ['core'] },
  { file: '02-wal', title: '02 — wal', packages: ['wal'] },
  { file: '03-net', title: '03 — net', packages: ['net'] },
  { file: '04-replication', title: '04 — replication', packages: ['replication'] },
  { file: '05-election', title: '05 — election', packages: ['election'] },
  { file: '06-cluster', title: '06 — cluster', packages: ['cluster'] },
  { file: '07-resilience', title: '07 — resilience', packages: ['cluster'] },
  { file: '08-cli', title: '08 — cli', packages: ['cli'] },
];

// A chapter still being written (its file not there yet) is left out of the
// sidebar, and links to it do not fail the build: the site builds at every commit.
const missing = chapters.filter((c) => !existsSync(join(docsDir, `${c.file}.md`))).map((c) => c.file);

/** Links to TypeDoc's pages (docs/public/api, built by `pnpm docs:api`) are plain page loads, not SPA routes. */
const api = (pkg: string): DefaultTheme.SidebarItem => ({
  text: `@distkv/${pkg}`,
  link: `/api/modules/_distkv_${pkg}.html`,
  target: '_self',
});

// The home page's hero and features. They would be YAML front matter in
// index.md, but the repository's Markdown formatter (biome) does not keep
// front matter intact, so they are set here.
const home = {
  layout: 'home',
  hero: {
    name: 'distkv',
    text: 'A distributed key-value store, built as a tutorial',
    tagline: 'TypeScript, one package per phase: from an in-memory store to a Raft cluster that Redis clients can talk to.',
    actions: [
      { theme: 'brand', text: 'Start with chapter 1', link: '/01-core' },
      { theme: 'alt', text: 'Architecture', link: '/reference/architecture' },
      { theme: 'alt', text: 'Protocol reference', link: '/reference/protocol' },
    ],
  },
  features: [
    {
      title: 'Every phase runs',
      details: 'Stop after any chapter and you have a working program, with its own tests and its own benchmark.',
    },
    {
      title: 'The code you read is the code that runs',
      details:
        'Chapters quote the source through region markers, and CI fails when a quote, a TypeScript example or a shell session drifts.',
    },
    {
      title: 'Correct first, then measured',
      details:
        'Raft as a pure state machine, a deterministic simulator that replays from a seed, real processes killed with SIGKILL, and benchmarks side by side with Redis.',
    },
  ],
};

// A build elsewhere (the browser test builds into a temp dir, so that two
// test runs in one working tree never write the same files).
const outDirKey = 'DISTKV_SITE_OUT_DIR';
const elsewhere = process.env[outDirKey];

export default defineConfig({
  ...(elsewhere === undefined ? {} : { outDir: join(elsewhere, 'site'), cacheDir: join(elsewhere, 'cache') }),
  transformPageData(pageData) {
    if (pageData.relativePath === 'index.md') pageData.frontmatter = { ...home, ...pageData.frontmatter };
  },
  title: 'distkv',
  description: 'A distributed key-value store in TypeScript, built as a tutorial, phase by phase.',
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]],
  srcExclude: ['README.md'],
  cleanUrls: false,
  lastUpdated: false,
  ignoreDeadLinks: [
    (url) => missing.some((file) => url.replace(/^\.\//, '').replace(/\.md$/, '') === file),
    // TypeDoc's output lives in public/, which VitePress does not index as pages.
    /^\/api\//,
  ],
  markdown: {
    // Fences such as ```ts no-check or ```sh runnable carry attributes for the
    // doc checks (scripts/doctest.mjs); the highlighter needs only the language.
    preConfig: (md) => {
      const fence = md.renderer.rules.fence;
      if (fence === undefined) return;
      md.renderer.rules.fence = (tokens, idx, options, env, self) => {
        const token = tokens[idx];
        if (token !== undefined) token.info = token.info.replace(/\s+(no-check|runnable)(\s.*)?$/, '');
        return fence(tokens, idx, options, env, self);
      };
    },
  },
  themeConfig: {
    nav: [
      { text: 'Tutorial', link: '/01-core' },
      { text: 'Reference', link: '/reference/protocol' },
      { text: 'API', link: '/api/index.html', target: '_self' },
    ],
    sidebar: [
      {
        text: 'Tutorial',
        items: chapters.filter((c) => !missing.includes(c.file)).map((c) => ({ text: c.title, link: `/${c.file}` })),
      },
      {
        text: 'Reference',
        items: [
          { text: 'Architecture', link: '/reference/architecture' },
          { text: 'Protocol', link: '/reference/protocol' },
          { text: 'Configuration', link: '/reference/configuration' },
          { text: 'Error codes', link: '/errors' },
          ...(existsSync(join(docsDir, 'security.md')) ? [{ text: 'Security', link: '/security' }] : []),
          { text: 'Operations', link: '/reference/operations' },
          { text: 'Benchmarks', link: '/reference/benchmarks' },
          { text: 'distkv, etcd and Redis', link: '/reference/comparison' },
        ],
      },
      {
        text: 'API (TypeDoc)',
        collapsed: true,
        items: ['core', 'wal', 'net', 'replication', 'election', 'cluster', 'cli'].map(api),
      },
    ],
    outline: [2, 3],
    search: { provider: 'local' },
    // Read by the theme: which packages' API each chapter links to.
    chapterPackages: Object.fromEntries(chapters.map((c) => [`${c.file}.md`, c.packages])),
  } as DefaultTheme.Config & { chapterPackages: Record<string, readonly string[]> },
});
