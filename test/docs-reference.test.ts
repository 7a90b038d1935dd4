// Goal: the reference pages of the docs site cannot silently drift from the
// code and the chapters. Method: every command in @distkv/net's RESP table
// and every line-protocol command has a row in docs/reference/protocol.md;
// every benchmark table in docs/reference/benchmarks.md appears verbatim in
// the chapter it names; every diagram is described, used, and present.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandTable } from '@distkv/net';
import { describe, expect, it } from 'vitest';
import { chapterTable, charts, copiedTables, slug, staleCharts } from '../scripts/bench-charts.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** The first cell of each table row, e.g. "`SET key value [NX \| XX]`". */
function firstCells(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => (l.split(/(?<!\\)\|/)[1] ?? '').trim());
}

describe('docs/reference/protocol.md', () => {
  const doc = read('docs/reference/protocol.md');
  const resp = doc.slice(doc.indexOf('## RESP2'), doc.indexOf('## The line protocol'));
  const line = doc.slice(doc.indexOf('## The line protocol'));

  it('has a row for every RESP command the server knows, and none it does not', () => {
    const documented = new Set(
      firstCells(resp.slice(resp.indexOf('### Commands'))).flatMap((cell) =>
        [...cell.matchAll(/`([A-Z]+)\b/g)].map((m) => (m[1] as string).toLowerCase()),
      ),
    );
    const known = [...commandTable.keys()];
    expect(
      known.filter((name) => !documented.has(name)),
      'commands without a row',
    ).toEqual([]);
    expect(
      [...documented].filter((name) => !commandTable.has(name)),
      'rows for unknown commands',
    ).toEqual([]);
  });

  it('has a row for every line-protocol command', () => {
    const source = read('packages/net/src/line-commands.ts');
    const names = new Set([...source.matchAll(/(?:case |name === )'([A-Z]+)'/g)].map((m) => m[1] as string));
    expect(names.size).toBeGreaterThan(5);
    const documented = new Set(firstCells(line).map((cell) => /`([A-Z]+)/.exec(cell)?.[1]));
    expect(
      [...names].filter((name) => !documented.has(name)),
      'line commands without a row in docs/reference/protocol.md',
    ).toEqual([]);
  });
});

describe('docs/reference/benchmarks.md', () => {
  it('copies each table exactly from the chapter and heading it names (node scripts/bench-charts.mjs)', () => {
    const copies = copiedTables(read('docs/reference/benchmarks.md'));
    expect(copies.map((c) => c.chapter)).toEqual([
      'docs/01-core.md',
      'docs/02-wal.md',
      'docs/03-net.md',
      'docs/04-replication.md',
      'docs/06-cluster.md', // failover
      'docs/05-election.md', // stalls
      'docs/05-election.md', // membership
    ]);
    for (const { chapter, anchor, table } of copies) {
      expect(table, `the copy of ${chapter}#${anchor}`).toBe(chapterTable(read(chapter), anchor));
    }
  });

  it('finds a table by its heading anchor', () => {
    expect(slug('### The benchmark: what replication costs')).toBe('the-benchmark-what-replication-costs');
    const chapter = '# C\n\n## How fast\n\nText.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n| other |\n';
    expect(chapterTable(chapter, 'how-fast')).toBe('| a | b |\n| - | - |\n| 1 | 2 |\n');
    expect(chapterTable(chapter, 'gone')).toBeUndefined();
  });

  it('has charts drawn from its tables, and none of them stale (node scripts/bench-charts.mjs)', () => {
    const drawn = charts();
    expect(Object.keys(drawn).length).toBe(3);
    expect(drawn['bench-net.svg']).toContain('>141,044<'); // Redis's SET, from chapter 3's table
    expect(staleCharts()).toEqual([]);
  });
});

describe('diagrams', () => {
  const dir = 'docs/diagrams';
  const svgs = readdirSync(join(root, dir)).filter((f) => f.endsWith('.svg'));
  const pages = ['docs/index.md', ...readdirSync(join(root, 'docs/reference')).map((f) => `docs/reference/${f}`)]
    .concat(
      readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    )
    .map(read)
    .join('\n');

  it('the four diagrams are there, each with a title and a description, and used on a page', () => {
    expect(svgs.sort()).toEqual(
      expect.arrayContaining(['failover-timeline.svg', 'layers.svg', 'raft-flow.svg', 'wal-record.svg']),
    );
    for (const svg of svgs) {
      const text = read(`${dir}/${svg}`);
      expect(text, svg).toMatch(/^<svg [^>]*viewBox="[\d. ]+"/);
      expect(text, svg).toMatch(/<title[^>]*>[^<]+<\/title>/);
      expect(text, svg).toMatch(/<desc[^>]*>[^<]{40,}<\/desc>/);
      expect(pages, `${svg} is used`).toContain(`/diagrams/${svg}`);
    }
  });

  it('every diagram a page uses exists', () => {
    for (const m of pages.matchAll(/\/diagrams\/([\w-]+\.svg)/g)) expect(svgs).toContain(m[1]);
  });
});
