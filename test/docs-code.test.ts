// Goal: code in the docs is real: every unquoted ```ts block type-checks
// against the workspace, every ```sh runnable session prints what the
// page says, and every shell block of the tutorial chapters (1-8) runs as
// a reader types it, REPLs through a pseudo-terminal. Method: run scripts/doctest.mjs on docs/, and on small temp
// docs check that the runner notices a wrong type, wrong output, and refuses
// commands it must not run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkedTsBlocks,
  docFiles,
  lineMatches,
  outputMatches,
  parseSession,
  parseTutorialBlock,
  refusal,
  runSessions,
  runTutorial,
  TUTORIAL,
  tutorialBlocks,
  typecheckTsBlocks,
} from '../scripts/doctest.mjs';
import { render } from '../scripts/pty.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'distkv-doctest-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function doc(name: string, text: string): string {
  const path = join(scratch, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('doc tests on docs/', () => {
  it('every unquoted TypeScript block type-checks', async () => {
    const { problems, blocks } = await typecheckTsBlocks(repoRoot, docFiles(repoRoot));
    expect(problems).toEqual([]);
    expect(blocks).toBeGreaterThan(0);
  }, 120_000);

  it('every runnable shell session prints what the page shows', async () => {
    const { problems, sessions } = await runSessions(repoRoot, docFiles(repoRoot));
    expect(problems).toEqual([]);
    expect(sessions).toBeGreaterThan(0);
  }, 240_000);

  it('every shell block of the tutorial chapters runs as written and prints what the chapter shows', async () => {
    const { problems, run, skipped, chapters } = await runTutorial(repoRoot, docFiles(repoRoot));
    console.log(
      `tutorial: ${chapters} chapters, ${run} shell blocks run, ${skipped.length} marked skip${skipped.map((s) => `\n  ${s.where}: ${s.reason}`).join('')}`,
    );
    expect(problems).toEqual([]);
    expect(chapters).toBe(TUTORIAL.length);
    expect(run).toBeGreaterThan(0);
  }, 600_000);
});

describe('the doc-test runner', () => {
  it('skips quotes and no-check blocks, checks the others', () => {
    const text = [
      '<!-- quote: packages/core/src/a.ts#x -->',
      '```ts',
      'quoted;',
      '```',
      '```ts no-check',
      'fragment(',
      '```',
      '```ts',
      'const checked = 1;',
      '```',
      '',
    ].join('\n');
    expect(checkedTsBlocks(text).map((b: { body: string }) => b.body)).toEqual(['const checked = 1;\n']);
  });

  it('reports a type error at its line in the doc', async () => {
    const file = doc(
      'types.md',
      '# T\n\n```ts\nimport { Store } from "@distkv/core";\nconst n: number = new Store().size;\nconst s: string = n;\n```\n',
    );
    const { problems } = await typecheckTsBlocks(repoRoot, [file]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/types\.md:6: error TS2322: Type 'number' is not assignable to type 'string'/);
  }, 120_000);

  it('compares output, with ... matching any lines', () => {
    expect(parseSession('$ echo a\na\n$ echo b\nb\n')).toEqual([
      { command: 'echo a', expected: ['a'] },
      { command: 'echo b', expected: ['b'] },
    ]);
    expect(outputMatches(['x', '...', 'z'], ['x', '1', '2', 'z'])).toBe(true);
    expect(outputMatches(['x', '...'], ['x'])).toBe(true);
    expect(outputMatches(['x', 'z'], ['x', 'y', 'z'])).toBe(false);
  });

  it('in a flags session, compares the --flags listed, not their wording', async () => {
    const reworded = doc('flags.md', '# F\n\n```sh runnable flags\n$ echo "  --port  new words"\n  --port  old words\n```\n');
    expect((await runSessions(repoRoot, [reworded])).problems).toEqual([]);
    const added = doc('flags2.md', '# F\n\n```sh runnable flags\n$ echo "  --port  words"\n  --bind  words\n```\n');
    const { problems } = await runSessions(repoRoot, [added]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('flags added --port, gone --bind');
  }, 120_000);

  it('refuses commands outside the allow-list, shell tricks and non-loopback addresses', () => {
    expect(refusal('distkv client 127.0.0.1:6380 -c "GET a;b"')).toBeUndefined();
    expect(refusal('rm -rf /')).toMatch(/only distkv, echo/);
    expect(refusal('echo hi; rm x')).toMatch(/one plain command/);
    expect(refusal('echo $(id)')).toMatch(/one plain command/);
    expect(refusal('distkv client 10.0.0.1:6380 -c PING')).toMatch(/only loopback/);
  });

  it('reads a tutorial block: $ sessions, plain command lists, skip markers, placeholders', () => {
    expect(parseTutorialBlock('(cd packages/core && npx vitest run)\n# a comment\n')).toEqual([
      { command: '(cd packages/core && npx vitest run)', expected: [] },
    ]);
    expect(parseTutorialBlock('$ echo a\na\n')).toEqual([{ command: 'echo a', expected: ['a'] }]);
    const text = '<!-- doctest: skip: a benchmark -->\n```sh\npnpm bench\n```\n```sh pty\n$ x\n```\n```ts\nts;\n```\n';
    expect(tutorialBlocks(text).map((b) => [b.attrs, b.skip])).toEqual([
      [[], 'a benchmark'],
      [['pty'], undefined],
    ]);
    expect(lineMatches('listening on 127.0.0.1:<port>, pid <pid>', 'listening on 127.0.0.1:7001, pid 42')).toBe(true);
    expect(lineMatches('took <ms>', 'took 12.5 ms')).toBe(true);
    expect(lineMatches('pid <pid>', 'pid x')).toBe(false);
    expect(lineMatches('a.b', 'axb')).toBe(false);
  });

  it('renders a terminal: carriage returns, erases and cursor moves as a screen shows them', () => {
    // readline's redraw, a spinner erased, linenoise's per-key refresh.
    expect(render('\x1b[1G\x1b[0J> \x1b[3GGET a\r\r\nb\r\n').slice(0, 2)).toEqual(['> GET a', 'b']);
    expect(render('⠙\x1b[1G\x1b[0Kready\r\n')[0]).toBe('ready');
    expect(render('p> S\r\x1b[4C\r\x1b[0Kp> SE\r\x1b[5C\r\n')[0]).toBe('p> SE');
  });

  it('reports a session whose output differs, and --write repairs it', async () => {
    const file = doc('session.md', '# S\n\n```sh runnable\n$ echo hello\ngoodbye\n```\n');
    const first = await runSessions(repoRoot, [file]);
    expect(first.problems).toHaveLength(1);
    expect(first.problems[0]).toContain('session.md:3: $ echo hello');
    await runSessions(repoRoot, [file], { write: true, only: [file] });
    expect(readFileSync(file, 'utf8')).toBe('# S\n\n```sh runnable\n$ echo hello\nhello\n```\n');
    expect((await runSessions(repoRoot, [file])).problems).toEqual([]);
  }, 120_000);
});
