/**
 * Reads the text of an `INFO` reply (Redis's format: `# Section` headers and
 * `field:value` lines) into a map from field to value. Clients, tests and
 * benchmarks that look at a node's state all read it this way.
 */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}
