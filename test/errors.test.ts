// Goal: docs/errors.md states each error code's whole contract (meaning, definite, retry, HTTP status) as the registry does, and no code is registered twice.
// Method: import every package's entry point (each registers its codes with @distkv/core), then compare the
// registry, package by package, with the rows of that package's table in docs/errors.md, column by column.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DistkvError, registerErrors, registeredErrors } from '@distkv/core';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
const packages = readdirSync(join(root, 'packages')).filter((p) => {
  try {
    readFileSync(join(root, 'packages', p, 'src', 'index.ts'));
    return true;
  } catch {
    return false;
  }
});

interface Row {
  code: string;
  meaning: string;
  definite: boolean;
  retry: boolean;
  httpStatus: number;
}

function yesNo(cell: string): boolean {
  expect(['yes', 'no'], `a yes/no cell, got ${cell}`).toContain(cell);
  return cell === 'yes';
}

/** The rows of `pkg`'s code table: `| \`CODE\` | meaning | yes | no | 503 |`. */
function documentedRows(pkg: string): Row[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(`@distkv/${pkg}\n`));
  if (section === undefined) return [];
  return [...section.matchAll(/^\| `([A-Z0-9_]+)`\s*\|(.*)\|\s*$/gm)].map((m) => {
    const cells = (m[2] as string).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
    expect(cells, `${m[1]}: meaning, definite, retry, HTTP`).toHaveLength(4);
    const [meaning, definite, retry, http] = cells as [string, string, string, string];
    return { code: m[1] as string, meaning, definite: yesNo(definite), retry: yesNo(retry), httpStatus: Number(http) };
  });
}

function registeredRows(pkg: string): Row[] {
  return registeredErrors()
    .filter((e) => e.owner === pkg)
    .map(({ code, contract }) => ({ code, ...contract }));
}

const byCode = (a: Row, b: Row): number => a.code.localeCompare(b.code);

beforeAll(async () => {
  for (const pkg of packages) await import(`@distkv/${pkg}`);
});

describe('docs/errors.md', () => {
  it.each(packages)('states the contract of every code of @distkv/%s, and only those', (pkg) => {
    expect(documentedRows(pkg).sort(byCode)).toEqual(registeredRows(pkg).sort(byCode));
  });

  it('the check is not vacuous: it reads every column, for every package', () => {
    for (const pkg of packages) expect(registeredRows(pkg).length, pkg).toBeGreaterThan(0);
    expect(documentedRows('replication').find((r) => r.code === 'TIMEOUT')).toEqual({
      code: 'TIMEOUT',
      meaning: 'a write was not acknowledged within writeTimeoutMs (leader unreachable, no majority); it may still apply',
      definite: false,
      retry: true,
      httpStatus: 504,
    });
    expect(documentedRows('net').find((r) => r.code === 'USER_INVALID')?.meaning).toContain('name:ro|rw:password');
  });

  it('lists each code once across the whole page, as the registry holds it once', () => {
    const codes = packages.flatMap((pkg) => documentedRows(pkg).map((r) => r.code));
    expect(codes.length).toBe(new Set(codes).size);
    expect(
      registeredErrors()
        .map((e) => e.code)
        .sort(),
    ).toEqual(codes.sort());
  });
});

describe('the registry', () => {
  it('refuses a code another package already holds', () => {
    expect(() =>
      registerErrors('intruder', { TRYAGAIN: { meaning: 'x', definite: true, retry: true, httpStatus: 503 } }),
    ).toThrow(/TRYAGAIN of intruder is already replication's/);
  });

  it('gives every DistkvError its code contract', () => {
    const err = new DistkvError('PROPOSALS_FULL', 'the log is full');
    expect([err.definite, err.retryable, err.httpStatus, err.detail]).toEqual([true, true, 503, 'the log is full']);
    expect(err.message).toBe('PROPOSALS_FULL: the log is full');
  });
});
