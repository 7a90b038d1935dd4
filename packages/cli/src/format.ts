import { RespErrorReply, type RespValue } from '@distkv/net';

/** Splits a typed line into arguments: spaces separate, "double" and 'single' quotes group, \ escapes in double quotes. */
export function splitCommandLine(line: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i] as string)) i++;
    if (i >= line.length) break;
    let arg = '';
    while (i < line.length && !/\s/.test(line[i] as string)) {
      const c = line[i] as string;
      if (c === '"' || c === "'") {
        // A quoted part: inside double quotes, backslash escapes the next character.
        let j = i + 1;
        let body = '';
        while (j < line.length && line[j] !== c) {
          if (c === '"' && line[j] === '\\' && j + 1 < line.length) {
            const x = line[j + 1] as string;
            body += ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[x] ?? x;
            j += 2;
          } else {
            body += line[j];
            j++;
          }
        }
        if (j >= line.length) return undefined; // unbalanced quotes
        arg += body;
        i = j + 1;
      } else {
        arg += c;
        i++;
      }
    }
    args.push(arg);
  }
  return args;
}

/** A reply the way the REPL prints it: text as is (like the seed's client), then redis-cli's notation for the rest. */
export function formatReply(reply: RespValue | undefined, indent = ''): string {
  if (reply === null || reply === undefined) return '(nil)';
  if (reply instanceof RespErrorReply) return `(error) ${reply.message}`;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'number' || typeof reply === 'bigint') return `(integer) ${reply}`;
  if (typeof reply === 'string') return reply;
  if (reply.length === 0) return '(empty array)';
  const width = String(reply.length).length;
  return reply
    .map((item, i) => {
      const label = `${String(i + 1).padStart(width)}) `;
      const body = formatReply(item, `${indent}${' '.repeat(label.length)}`);
      return `${i === 0 ? '' : indent}${label}${body}`;
    })
    .join('\n');
}
