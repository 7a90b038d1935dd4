#!/usr/bin/env node
// Docs stay true. A chapter quotes code like this:
//
//   <!-- quote: packages/core/src/store.ts#put -->
//   ```ts
//   ...the lines between `// #region put` and `// #endregion put`...
//   ```
//
// Inside a region, `// #pause put` ... `// #resume put` leaves lines out of
// that quote (they show as one `// …` line): code a later chapter explains.
//
// This script fails when a quoted file or region is gone or when the block
// no longer matches the source, and when a relative link points nowhere.
// `node scripts/check-docs.mjs --write` refreshes every quoted block;
// `--write docs/02-wal.md ...` refreshes only the files named (others may be
// mid-edit by someone else), while still checking everything.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// A quote may sit indented inside a list item: the fence and every line of the block carry the marker's indent.
const QUOTE = /^( *)<!-- quote: ([^#\s]+)#([\w-]+) -->\n\1```(\w*)\n([\s\S]*?)^\1```/gm;
const indentLines = (code, indent) => code.replace(/^(?=.)/gm, indent);
const LINK = /\]\((?!https?:|mailto:|#)([^)\s#]+)(?:#[^)]*)?\)/g;

function* markdownFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(path).isDirectory()) yield* markdownFiles(path);
    else if (name.endsWith('.md')) yield path;
  }
}

/** The lines between `#region name` and `#endregion name`, dedented. */
export function extractRegion(source, name) {
  const lines = source.split('\n');
  // The name ends where a region name may not go on: `slow-follower` is not the start of `slow-follower-timing`.
  const nameEnd = '(?![\\w-])';
  const start = lines.findIndex((l) => new RegExp(`(//|#|<!--)\\s*#region ${name}${nameEnd}`).test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && new RegExp(`(//|#|<!--)\\s*#endregion ${name}${nameEnd}`).test(l));
  if (end < 0) return undefined;
  const body = [];
  let paused = false;
  for (const l of lines.slice(start + 1, end)) {
    if (new RegExp(`(//|#)\\s*#pause ${name}${nameEnd}`).test(l)) {
      paused = true;
      body.push(`${l.match(/^ */)[0]}// …`);
    } else if (new RegExp(`(//|#)\\s*#resume ${name}${nameEnd}`).test(l)) paused = false;
    else if (!paused && !/(\/\/|#)\s*#(end)?region\b|(\/\/|#)\s*#(pause|resume)\b/.test(l)) body.push(l);
  }
  const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)[0].length));
  return `${body.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n')}\n`;
}

/** Checks (or with write=true refreshes) every markdown file under root's docs/ and the READMEs. */
export function checkDocs(root, { write = false, only = [] } = {}) {
  const problems = [];
  const files = [
    ...(existsSync(join(root, 'docs')) ? markdownFiles(join(root, 'docs')) : []),
    join(root, 'README.md'),
    ...(existsSync(join(root, 'packages'))
      ? readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'README.md'))
      : []),
  ].filter((f) => existsSync(f));
  let quotes = 0;
  for (const file of files) {
    const where = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const writable = write && (only.length === 0 || only.some((o) => resolve(root, o) === file));
    const updated = text.replace(QUOTE, (whole, indent, path, region, lang, body) => {
      quotes++;
      const source = join(root, path);
      if (!existsSync(source)) {
        problems.push(`${where}: quotes ${path}, which does not exist`);
        return whole;
      }
      const unindented = extractRegion(readFileSync(source, 'utf8'), region);
      if (unindented === undefined) {
        problems.push(`${where}: quotes region '${region}' of ${path}, which has no such region`);
        return whole;
      }
      const code = indentLines(unindented, indent);
      if (code !== body) {
        if (!writable)
          problems.push(
            `${where}: the quote of ${path}#${region} no longer matches the source (run node scripts/check-docs.mjs --write)`,
          );
        return `${indent}<!-- quote: ${path}#${region} -->\n${indent}\`\`\`${lang}\n${code}${indent}\`\`\``;
      }
      return whole;
    });
    if (writable && updated !== text) writeFileSync(file, updated);
    // A marker must be followed by its code block, or nothing checks it: it quotes nothing, silently.
    const markers = text.match(/<!-- quote: /g)?.length ?? 0; // anywhere, so a marker the pattern misses is counted
    const blocks = text.match(QUOTE)?.length ?? 0;
    if (markers !== blocks) problems.push(`${where}: ${markers - blocks} quote marker(s) not followed by a fenced code block`);
    for (const match of text.matchAll(LINK)) {
      const link = decodeURIComponent(match[1]);
      // On the docs site, /x is docs/public/x (a file served as is) or the page docs/x.md.
      const targets = link.startsWith('/')
        ? [join(root, 'docs', 'public', link), join(root, 'docs', `${link.replace(/\.html$/, '')}.md`)]
        : [resolve(dirname(file), link)];
      if (!targets.some((t) => existsSync(t))) problems.push(`${where}: links to ${match[1]}, which does not exist`);
    }
  }
  return { problems, quotes, files: files.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const args = process.argv.slice(2);
  const only = args.filter((a) => !a.startsWith('--')).map((a) => resolve(process.cwd(), a));
  const { problems, quotes, files } = checkDocs(root, { write: args.includes('--write'), only });
  for (const p of problems) console.error(`docs: ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log(`docs: ok (${quotes} quoted regions in ${files} files match their sources)`);
}
