#!/usr/bin/env node
// Bar charts of the benchmark tables in docs/reference/benchmarks.md (which
// a test keeps equal to the chapters' tables), drawn as SVG into
// docs/diagrams/bench-*.svg. The charts are generated, never edited:
// `node scripts/bench-charts.mjs` rewrites them, `--check` fails when one is
// stale (test/docs-reference.test.ts runs the check).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = 'docs/reference/benchmarks.md';
const COLOURS = ['#3b6fd8', '#c98a1a'];

/** The rows (cells) of the table that follows `<!-- table-from: <chapter> -->`. */
export function tableFrom(markdown, chapter) {
  const at = markdown.indexOf(`<!-- table-from: ${chapter} -->`);
  if (at < 0) throw new Error(`${SOURCE} has no table from ${chapter}`);
  const lines = markdown.slice(at).split('\n').slice(1);
  const rows = [];
  for (const line of lines) {
    if (line.trim() === '' && rows.length === 0) continue;
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
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
  const cluster = tableFrom(markdown, 'docs/04-replication.md').filter((r) => !r[0].startsWith('cluster / single'));
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
      description: `SET operations per second: ${cluster.map((r) => `${r[0].replaceAll('`', '')}: ${r[1]}`).join('; ')}.`,
      unit: '',
      series: ['SET ops/s'],
      groups: cluster.map((r) => ({ label: r[0].replaceAll('`', '').replace(/ \(.*\)$/, ''), values: [number(r[1])] })),
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
  if (process.argv.includes('--check')) {
    const stale = staleCharts();
    for (const file of stale) console.error(`charts: docs/diagrams/${file} is stale (run node scripts/bench-charts.mjs)`);
    process.exit(stale.length > 0 ? 1 : 0);
  }
  for (const [file, svg] of Object.entries(charts())) writeFileSync(join(root, 'docs', 'diagrams', file), svg);
  console.log(`charts: wrote ${Object.keys(charts()).join(', ')} from ${SOURCE}`);
}
