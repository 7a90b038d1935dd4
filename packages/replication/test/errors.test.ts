// Goal: every replication error is a DistkvError with a documented code, definite unless the outcome is unknown.
// Method: compare replicationErrorCodes with docs/errors.md and check the errors the API raises.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DistkvError } from '@distkv/core';
import { replicationError, replicationErrorCodes } from '@distkv/replication';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'errors.md'), 'utf8');

describe('replication errors', () => {
  it('docs/errors.md lists exactly the codes of @distkv/replication', () => {
    const section = doc.split(/^## /m).find((s) => s.startsWith('@distkv/replication\n')) ?? '';
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` *\|/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(replicationErrorCodes).sort());
  });

  it.each(Object.keys(replicationErrorCodes) as Array<keyof typeof replicationErrorCodes>)(
    '%s is a DistkvError, definite unless the outcome is unknown',
    (code) => {
      const err = replicationError(code, 'why');
      expect(err).toBeInstanceOf(DistkvError);
      expect(err.code).toBe(code);
      // Only a stop with proposals in flight, a write that timed out, or a transfer that did not finish in time
      // (its target may still win) leaves the outcome unknown.
      expect(err.definite).toBe(code !== 'NODE_STOPPED' && code !== 'TIMEOUT' && code !== 'TRANSFER_TIMEOUT');
    },
  );
});
