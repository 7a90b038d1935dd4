// Goal: docs/errors.md lists exactly the error codes each package defines.
// Method: import every package's entry point, take each exported
// `<name>ErrorCodes` object, and compare its keys with the rows of the
// package's section of docs/errors.md.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

function documentedCodes(pkg: string): string[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(`@distkv/${pkg}\n`));
  if (section === undefined) return [];
  return [...section.matchAll(/^\| `([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string).sort();
}

describe('docs/errors.md', () => {
  it.each(packages)('lists exactly the error codes of @distkv/%s', async (pkg) => {
    const mod: Record<string, unknown> = await import(`@distkv/${pkg}`);
    const defined = Object.entries(mod)
      .filter(([name, value]) => name.endsWith('ErrorCodes') && typeof value === 'object' && value !== null)
      .flatMap(([, value]) => Object.keys(value as object))
      .sort();
    expect(documentedCodes(pkg)).toEqual(defined);
  });

  it('finds the codes of @distkv/core (the check is not vacuous)', () => {
    expect(documentedCodes('core')).toContain('COMMAND_CORRUPT');
  });
});
