// Reads a .cpuprofile (V8's format, as bench/profile-hook.mjs writes it) and
// lists the functions with the most self time: name, file:line, share of
// all samples. Idle time (the event loop waiting) is counted apart, so the
// shares are of the time the process was busy.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

export interface TopFrame {
  frame: string;
  share: number;
}

/** The `count` busiest frames by self time, and the share of samples that were idle. */
export function profileTop(path: string, count = 15): { busyShare: number; top: TopFrame[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, n] of hits) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += n;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += n;
      continue;
    }
    const file = url.replace(/^.*\/packages\//, '').replace(/^file:\/\//, '');
    const key = `${functionName || '(anonymous)'} ${file === '' ? '' : `${file}:${lineNumber + 1}`}`.trim();
    self.set(key, (self.get(key) ?? 0) + n);
  }
  const busy = total - idle;
  const top = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, n]) => ({ frame, share: busy > 0 ? n / busy : 0 }));
  return { busyShare: total > 0 ? busy / total : 0, top };
}
