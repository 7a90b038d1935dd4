/**
 * Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET) over byte strings
 * held as latin1: `*`, `?`, `[abc]`, `[^a-z]`, and `\x` for a literal x.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) source += escapeChar(pattern[++i] as string);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const b = body[j] as string;
        if (b === '\\' && j + 1 < body.length) cls += escapeChar(body[++j] as string);
        else if (b === '-' && cls !== '' && j + 1 < body.length) cls += '-';
        else cls += escapeChar(b);
      }
      source += `[${negate ? '^' : ''}${cls}]`;
      i = close;
    } else source += escapeChar(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** The literal text before the first special character: a pattern's keys all start with it. */
export function globPrefix(pattern: string): string {
  let prefix = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' || c === '?' || c === '[') break;
    if (c === '\\') {
      if (i + 1 >= pattern.length) break;
      prefix += pattern[++i];
    } else prefix += c;
  }
  return prefix;
}
