// Goal: the paper's election cases (§5.2, §5.4.1, §5.4.2 Figure 8, thesis §3.10, §6.2, §6.4, §9.6) behave exactly as recorded.
// Method: replay each testdata/*.txt against a simulated cluster that elects, and compare line for line (REWRITE=1 regenerates).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTranscript } from '@distkv/replication/testing';
import { describe, expect, it } from 'vitest';
import { electionTranscripts } from '../src/testing/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));

describe('election transcripts', () => {
  it('has transcripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', (file) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const actual = runTranscript(text, electionTranscripts);
    if (process.env.REWRITE === '1') {
      writeFileSync(path, actual);
      return;
    }
    expect(actual).toBe(text);
  });
});
