// Goal: every election error code is documented, and the errors are DistkvErrors with a stable code.
// Method: compare electionErrorCodes with the `## @distkv/election` table of docs/errors.md.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DistkvError } from '@distkv/core';
import { describe, expect, it } from 'vitest';
import { electionError, electionErrorCodes } from '../src/index.js';

const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../docs/errors.md'), 'utf8');

describe('election errors', () => {
  it('docs/errors.md lists exactly the codes', () => {
    const section = doc.split(/^## /m).find((s) => s.startsWith('@distkv/election'));
    expect(section, 'a ## @distkv/election section').toBeDefined();
    const documented = [...(section ?? '').matchAll(/^\| `([A-Z0-9_]+)` *\|/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(electionErrorCodes).sort());
  });

  it('are definite DistkvErrors', () => {
    const err = electionError('ELECTION_CONFIG_INVALID', 'x');
    expect(err).toBeInstanceOf(DistkvError);
    expect(err.code).toBe('ELECTION_CONFIG_INVALID');
    expect(err.definite).toBe(true);
  });
});
