// Goal: the docs check notices when quoted code drifts from its source.
// Method: a temp repo with a doc quoting a region; change the source, the
// region name, or the file, and see the checker report each.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDocs, extractRegion } from '../scripts/check-docs.mjs';
import { tempTree } from './temp-tree.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const source =
  'export class A {\n  // #region add\n  add(a: number, b: number): number {\n    return a + b;\n  }\n  // #endregion add\n}\n';
const doc =
  '# Chapter\n\n<!-- quote: packages/core/src/a.ts#add -->\n```ts\nadd(a: number, b: number): number {\n  return a + b;\n}\n```\n';

/** A repository of these files, removed after the test. */
const repo = (files: Record<string, string>): string => tempTree('distkv-docs-', files);

describe('docs quote check', () => {
  it('extracts a region without its markers and dedented', () => {
    expect(extractRegion(source, 'add')).toBe('add(a: number, b: number): number {\n  return a + b;\n}\n');
    expect(extractRegion(source, 'missing')).toBeUndefined();
  });

  it('does not take a region for another whose name it begins (add is not add-more)', () => {
    const both = '// #region add-more\nmore();\n// #endregion add-more\n// #region add\nadd();\n// #endregion add\n';
    expect(extractRegion(both, 'add')).toBe('add();\n');
    expect(extractRegion(both, 'add-more')).toBe('more();\n');
  });

  it('passes when the quote matches, and on this repository', () => {
    expect(checkDocs(repo({ 'packages/core/src/a.ts': source, 'docs/01.md': doc })).problems).toEqual([]);
    const here = checkDocs(repoRoot);
    expect(here.problems).toEqual([]);
    expect(here.quotes).toBeGreaterThan(0);
  });

  it('fails when the source changes under the quote, and --write repairs it', () => {
    const root = repo({ 'packages/core/src/a.ts': source.replace('a + b', 'b + a'), 'docs/01.md': doc });
    expect(checkDocs(root).problems).toEqual([
      'docs/01.md: the quote of packages/core/src/a.ts#add no longer matches the source (run node scripts/check-docs.mjs --write)',
    ]);
    checkDocs(root, { write: true });
    expect(readFileSync(join(root, 'docs/01.md'), 'utf8')).toContain('return b + a;');
    expect(checkDocs(root).problems).toEqual([]);
  });

  it('checks a quote indented inside a list item, and refuses a marker with no code block after it', () => {
    const indent = (text: string): string => text.replace(/^(?=.)/gm, '   ');
    const listed = `1. **Add.** It adds:\n\n${indent(doc.slice(doc.indexOf('<!--')))}`;
    expect(checkDocs(repo({ 'packages/core/src/a.ts': source, 'docs/01.md': listed })).problems).toEqual([]);
    const drifted = repo({ 'packages/core/src/a.ts': source.replace('a + b', 'b + a'), 'docs/01.md': listed });
    expect(checkDocs(drifted).problems).toHaveLength(1);
    checkDocs(drifted, { write: true });
    expect(readFileSync(join(drifted, 'docs/01.md'), 'utf8')).toContain('\n     return b + a;\n   }\n   ```\n');
    const orphan = '# Chapter\n\n<!-- quote: packages/core/src/a.ts#add -->\n\nprose, no code\n';
    expect(checkDocs(repo({ 'packages/core/src/a.ts': source, 'docs/01.md': orphan })).problems).toEqual([
      'docs/01.md: 1 quote marker(s) not followed by a fenced code block',
    ]);
  });

  it('with --write and file names, refreshes only those files and still reports the others', () => {
    const stale = doc.replace('return a + b;', 'return 0;');
    const root = repo({ 'packages/core/src/a.ts': source, 'docs/01.md': stale, 'docs/02.md': stale });
    const { problems } = checkDocs(root, { write: true, only: [join(root, 'docs/01.md')] });
    expect(readFileSync(join(root, 'docs/01.md'), 'utf8')).toContain('return a + b;');
    expect(readFileSync(join(root, 'docs/02.md'), 'utf8')).toContain('return 0;');
    expect(problems).toEqual([
      'docs/02.md: the quote of packages/core/src/a.ts#add no longer matches the source (run node scripts/check-docs.mjs --write)',
    ]);
  });

  it('fails when the region or the file is gone, or a link is broken', () => {
    const root = repo({
      'packages/core/src/a.ts': source.replaceAll('#region add', '#region sum').replace('#endregion add', '#endregion sum'),
      'docs/01.md': `${doc}\n<!-- quote: packages/core/src/gone.ts#x -->\n\`\`\`ts\n\`\`\`\n\nSee [the next chapter](02-next.md).\n`,
    });
    expect(checkDocs(root).problems).toEqual([
      "docs/01.md: quotes region 'add' of packages/core/src/a.ts, which has no such region",
      'docs/01.md: quotes packages/core/src/gone.ts, which does not exist',
      'docs/01.md: links to 02-next.md, which does not exist',
    ]);
  });
});
