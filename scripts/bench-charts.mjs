#!/usr/bin/env node
// docs/reference/benchmarks.md gathers the chapters' benchmark tables. Each
// copy follows a marker `<!-- table-from: docs/02-wal.md#benchmark -->`
// naming the chapter and the heading (its anchor) whose first table it is.
// `node scripts/bench-charts.mjs` refreshes every copy from its chapter and
// draws bar charts of them as SVG into docs/diagrams/bench-*.svg; the
// copies and the charts are generated, never edited. `--check` fails when
// one is stale (test/docs-reference.test.ts checks the same).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = 'docs/reference/benchmarks.md';
const COLOURS = ['#3b6fd8', '#c98a1a'];

const MARKER = /<!-- table-from: ([^#\s]+)#([\w-]+) -->\n+((?:\|.*\n)+)/g;

/** A heading's anchor, as GitHub and VitePress make it: "### The benchmark: what it costs" → "the-benchmark-what-it-costs". */
export function slug(heading) {
  return heading
    .replace(/^#+\s*/, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s+/g, '-');
}

/** The first Markdown table under the heading with this anchor in a chapter, with its final newline. */
export function chapterTable(chapterText, anchor) {
  const lines = chapterText.split('\n');
  const heading = lines.findIndex((l) => /^#{1,6}\s/.test(l) && slug(l) === anchor);
  if (heading < 0) return undefined;
  const start = lines.findIndex((l, i) => i > heading && l.startsWith('|'));
  if (start < 0) return undefined;
  let end = start;
  while (end < lines.length && (lines[end] ?? '').startsWith('|')) end++;
  return `${lines.slice(start, end).join('\n')}\n`;
}

/** Every copied table of the benchmarks page: its chapter, anchor, and the copy's text. */
export function copiedTables(markdown) {
  return [...markdown.matchAll(MARKER)].map((m) => ({ chapter: m[1], anchor: m[2], table: m[3] }));
}

/** The benchmarks page with every copy replaced by its chapter's table; throws if a chapter or heading is gone. */
export function syncTables(markdown) {
  return markdown.replace(MARKER, (_whole, chapter, anchor) => {
    const table = chapterTable(readFileSync(join(root, chapter), 'utf8'), anchor);
    if (table === undefined) throw new Error(`${SOURCE}: ${chapter} has no table under a heading #${anchor}`);
    return `<!-- table-from: ${chapter}#${anchor} -->\n${table}`;
  });
}

/** The rows (cells) of the copy of `chapter`'s table. */
export function tableFrom(markdown, chapter) {
  const copy = copiedTables(markdown).find((c) => c.chapter === chapter);
  if (copy === undefined) throw new Error(`${SOURCE} has no table from ${chapter}`);
  const rows = copy.table
    .trimEnd()
    .split('\n')
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  return rows.slice(2); // header and separator
}

const number = (text) => {
  const m = /[\d,]+(?:\.\d+)?/.exec(text);
  if (m === null) throw new Error(`no number in "${text}"`);
  return Number(m[0].replaceAll(',', ''));
};

function escapeXml(text) {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const format = (n) => n.toLocaleString('en-US');

/** A horizontal grouped bar chart: one group per label, one bar per series. */
export function barChart({ title, description, unit, series, groups }) {
  const width = 760;
  const labelWidth = 230;
  const barHeight = 16;
  const gap = 14;
  const top = 56;
  const plot = width - labelWidth - 110;
  const max = Math.max(...groups.flatMap((g) => g.values));
  const groupHeight = series.length * barHeight + gap;
  const height = top + groups.length * groupHeight + 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="ui-sans-serif, system-ui, sans-serif" font-size="12" role="img" aria-labelledby="t d">`,
    `  <title id="t">${escapeXml(title)}</title>`,
    `  <desc id="d">${escapeXml(description)}</desc>`,
    `  <rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `  <text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="600" fill="#1d2b4f">${escapeXml(title)}</text>`,
  ];
  series.forEach((name, i) => {
    const x = labelWidth + i * 160;
    out.push(`  <rect x="${x}" y="32" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`);
    out.push(`  <text x="${x + 18}" y="42" fill="#333">${escapeXml(name)}</text>`);
  });
  groups.forEach((group, g) => {
    const y0 = top + g * groupHeight;
    const mid = y0 + (series.length * barHeight) / 2 + 4;
    out.push(`  <text x="${labelWidth - 10}" y="${mid}" text-anchor="end" fill="#222">${escapeXml(group.label)}</text>`);
    group.values.forEach((value, i) => {
      const w = Math.max(1, Math.round((value / max) * plot));
      const y = y0 + i * barHeight;
      out.push(
        `  <rect x="${labelWidth}" y="${y}" width="${w}" height="${barHeight - 3}" fill="${COLOURS[i % COLOURS.length]}"/>`,
      );
      out.push(`  <text x="${labelWidth + w + 6}" y="${y + barHeight - 5}" fill="#333">${format(value)}${unit}</text>`);
    });
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/** Every chart: its file under docs/diagrams and its SVG text. */
export function charts(markdown = readFileSync(join(root, SOURCE), 'utf8')) {
  const net = tableFrom(markdown, 'docs/03-net.md');
  const wal = tableFrom(markdown, 'docs/02-wal.md').filter((r) =>
    /^(one|\d+) writers?: fsync per write \/ group commit$/.test(r[0]),
  );
  const cluster = tableFrom(markdown, 'docs/04-replication.md').filter((r) => r[0].endsWith('ops/s'));
  return {
    'bench-net.svg': barChart({
      title: 'distkv and Redis under redis-benchmark (ops/s, higher is better)',
      description: `Requests per second for ${net.map((r) => `${r[0]}: distkv ${r[1]}, Redis ${r[2]}`).join('; ')}.`,
      unit: '',
      series: ['distkv', 'Redis'],
      groups: net.map((r) => ({ label: r[0].replaceAll('`', ''), values: [number(r[1]), number(r[2])] })),
    }),
    'bench-wal.svg': barChart({
      title: 'Durable puts per second: fsync per write against group commit',
      description: `Durable puts per second by number of writers, fsync per write then group commit: ${wal.map((r) => `${r[0].split(':')[0]}: ${r[1]}`).join('; ')}.`,
      unit: '',
      series: ['fsync per write', 'group commit'],
      groups: wal.map((r) => {
        const [one, group] = r[1].split('/');
        return { label: r[0].split(':')[0], values: [number(one), number(group)] };
      }),
    }),
    'bench-cluster.svg': barChart({
      title: 'SET from 50 clients: one durable node against a 3-node cluster',
      description: `SET operations per second, before and after the write-path work: ${cluster.map((r) => `${r[0].replaceAll('`', '')}: ${r[1]} then ${r[2]}`).join('; ')}.`,
      unit: '',
      series: ['before', 'after'],
      groups: cluster.map((r) => ({
        label: r[0]
          .replaceAll('`', '')
          .replace(/ \(.*\)/, '')
          .replace(/, ops\/s$/, ''),
        values: [number(r[1]), number(r[2])],
      })),
    }),
  };
}

/** Names of the chart files whose content differs from what the tables give. */
export function staleCharts() {
  return Object.entries(charts()).flatMap(([file, svg]) => {
    let current = '';
    try {
      current = readFileSync(join(root, 'docs', 'diagrams', file), 'utf8');
    } catch {}
    return current === svg ? [] : [file];
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const page = readFileSync(join(root, SOURCE), 'utf8');
  const synced = syncTables(page);
  if (process.argv.includes('--check')) {
    const stale = staleCharts();
    if (synced !== page)
      console.error(`charts: a table in ${SOURCE} differs from its chapter (run node scripts/bench-charts.mjs)`);
    for (const file of stale) console.error(`charts: docs/diagrams/${file} is stale (run node scripts/bench-charts.mjs)`);
    process.exit(stale.length > 0 || synced !== page ? 1 : 0);
  }
  if (synced !== page) writeFileSync(join(root, SOURCE), synced);
  for (const [file, svg] of Object.entries(charts(synced))) writeFileSync(join(root, 'docs', 'diagrams', file), svg);
  console.log(`charts: ${SOURCE}'s tables copied from the chapters; wrote ${Object.keys(charts(synced)).join(', ')}`);
}
