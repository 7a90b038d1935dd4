// Goal: the paper's cases, written as conversations between nodes, behave exactly as recorded.
// Method: replay each testdata/*.txt against a simulated cluster and compare the output line for line (REWRITE=1 regenerates).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTranscript } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));

describe('transcripts', () => {
  it('has transcripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', (file) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const actual = runTranscript(text);
    if (process.env.REWRITE === '1') {
      writeFileSync(path, actual);
      return;
    }
    expect(actual).toBe(text);
  });
});
