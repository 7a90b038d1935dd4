/**
 * The chaos report: per-fault availability and an SVG timeline (one lane
 * per client, ops as bars coloured by outcome, fault windows shaded,
 * leader changes marked), wrapped in a self-contained HTML page.
 */
import type { NemesisEvent } from './nemesis.js';
import type { HistoryOp } from './workload.js';

export interface LeaderChange {
  atMs: number;
  leader: string | null;
}

export interface Availability {
  window: string;
  ops: number;
  ok: number;
  /** ok / ops, 0..1 (NaN shown as "-" when no ops). */
  ratio: number;
}

/** Share of operations that succeeded, per kind of fault (by call time), and when no fault held. */
export function availability(history: HistoryOp[], events: NemesisEvent[]): Availability[] {
  const rows = new Map<string, { ops: number; ok: number }>();
  const add = (window: string, op: HistoryOp) => {
    const r = rows.get(window) ?? { ops: 0, ok: 0 };
    r.ops++;
    if (op.status === 'ok') r.ok++;
    rows.set(window, r);
  };
  for (const op of history) {
    const e = events.find((ev) => op.callMs >= ev.startMs && op.callMs < ev.endMs);
    add(e === undefined ? 'no fault' : e.kind, op);
  }
  return [...rows]
    .map(([window, r]) => ({ window, ops: r.ops, ok: r.ok, ratio: r.ops === 0 ? Number.NaN : r.ok / r.ops }))
    .sort((a, b) => (a.window < b.window ? -1 : 1));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLORS = { ok: '#2e7d32', fail: '#c62828', info: '#f9a825' };

export function timelineSvg(
  history: HistoryOp[],
  events: NemesisEvent[],
  leaders: LeaderChange[],
  endMs: number,
  highlight: Set<HistoryOp> = new Set(),
  laneNames: Map<number, string> = new Map(),
): string {
  const lanes = Math.max(1, ...history.map((op) => op.client + 1));
  const width = 1400;
  const left = 70;
  const laneH = 18;
  const top = 30;
  const height = top + lanes * laneH + 40;
  const x = (ms: number) => left + (Math.max(0, Math.min(ms, endMs)) / Math.max(1, endMs)) * (width - left - 10);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="10">`,
  );
  for (const e of events) {
    parts.push(
      `<rect x="${x(e.startMs)}" y="${top - 12}" width="${Math.max(1, x(e.endMs) - x(e.startMs))}" height="${lanes * laneH + 12}" fill="#90a4ae" opacity="0.25"><title>${esc(`${e.kind}: ${e.detail}`)}</title></rect>`,
      `<text x="${x(e.startMs) + 2}" y="${top - 2}" fill="#37474f">${esc(e.kind)}</text>`,
    );
  }
  for (let lane = 0; lane < lanes; lane++) {
    parts.push(`<text x="4" y="${top + lane * laneH + 12}">${esc(laneNames.get(lane) ?? `client ${lane}`)}</text>`);
  }
  for (const op of history) {
    const y = top + op.client * laneH + 3;
    const end = op.status === 'info' ? op.returnMs : op.returnMs;
    const w = Math.max(1, x(end) - x(op.callMs));
    const stroke = highlight.has(op) ? ' stroke="#000" stroke-width="2"' : '';
    const label = `${op.kind} ${op.key}${op.value !== undefined ? ` ${op.value}` : ''}${op.output !== undefined ? ` -> ${JSON.stringify(op.output)}` : ''} @${op.node} ${op.status}${op.note ? ` ${op.note}` : ''} [${op.callMs.toFixed(0)}, ${op.returnMs.toFixed(0)}]`;
    parts.push(
      `<rect x="${x(op.callMs)}" y="${y}" width="${w}" height="${laneH - 6}" fill="${COLORS[op.status]}"${stroke}><title>${esc(label)}</title></rect>`,
    );
  }
  let last = '';
  for (const l of leaders) {
    const name = l.leader ?? 'none';
    if (name === last) continue;
    last = name;
    const lx = x(l.atMs);
    parts.push(
      `<line x1="${lx}" y1="${top - 12}" x2="${lx}" y2="${top + lanes * laneH}" stroke="#6a1b9a" stroke-dasharray="3,2"/>`,
      `<text x="${lx + 2}" y="${top + lanes * laneH + 14}" fill="#6a1b9a">${esc(name)}</text>`,
    );
  }
  const axisY = top + lanes * laneH + 30;
  for (let s = 0; s * 1000 <= endMs; s += Math.max(1, Math.round(endMs / 1000 / 15))) {
    parts.push(`<text x="${x(s * 1000)}" y="${axisY}" fill="#555">${s}s</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export function reportHtml(
  title: string,
  summary: Record<string, unknown>,
  avail: Availability[],
  svg: string,
  explain: string,
): string {
  const rows = avail
    .map(
      (a) =>
        `<tr><td>${esc(a.window)}</td><td>${a.ops}</td><td>${a.ok}</td><td>${Number.isNaN(a.ratio) ? '-' : `${(a.ratio * 100).toFixed(1)}%`}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}pre{background:#f5f5f5;padding:8px;overflow:auto}</style>
</head><body>
<h1>${esc(title)}</h1>
<pre>${esc(JSON.stringify(summary, null, 2))}</pre>
<h2>Availability per fault</h2>
<table><tr><th>window</th><th>ops</th><th>ok</th><th>ok share</th></tr>
${rows}
</table>
<h2>Timeline</h2>
<p>Bars: <span style="color:${COLORS.ok}">ok</span>, <span style="color:${COLORS.fail}">fail</span>, <span style="color:${COLORS.info}">unknown (info)</span>; grey: fault windows; purple dashes: leader changes. Hover for details.</p>
<div style="overflow-x:auto">${svg}</div>
${explain === '' ? '' : `<h2>Counterexample</h2><pre>${esc(explain)}</pre>`}
</body></html>
`;
}
