/**
 * The bench's chart: latency over time as a standalone SVG (no script, no
 * external fonts), so it opens in any browser and embeds in a README.
 * max, p99 and p50 per timeline point, in milliseconds, on a linear axis;
 * ops per point as light bars behind them.
 */
import type { BenchReport } from './commands/bench.js';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeil(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// #region chart
export function latencyChartSvg(report: BenchReport): string {
  const width = 800;
  const height = 400;
  /** Room around the plot for the title, the axes' labels and the legend. */
  const margin = { top: 40, right: 20, bottom: 50, left: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const points = report.timeline.points;
  const n = Math.max(points.length, 1);
  const yMaxMs = niceCeil(Math.max(...points.map((p) => p.max_us / 1000), 0.001));
  const opsMax = Math.max(...points.map((p) => p.ops), 1);
  const x = (i: number): number => margin.left + (points.length <= 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (ms: number): number => margin.top + plotH - (ms / yMaxMs) * plotH;
  // Drawn max first, p50 last: where they meet, the lower percentile stays visible on top.
  const series = [
    { name: 'max', key: 'max_us', colour: '#d62728' },
    { name: 'p99', key: 'p99_us', colour: '#ff7f0e' },
    { name: 'p50', key: 'p50_us', colour: '#1f77b4' },
  ] as const;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  const c = report.config;
  const title = `distkv bench: ${report.ops.completed} ops, ${c.clients} clients, pipeline ${c.pipeline}, ${Math.round(c.ratio * 100)}% GET: ${report.throughput_ops_s} ops/s`;
  parts.push(`<text x="${margin.left}" y="22" font-size="14">${escapeXml(title)}</text>`);
  // Ops per point, as bars scaled to the plot's height.
  const barW = Math.max(1, plotW / n - 1);
  points.forEach((p, i) => {
    const h = (p.ops / opsMax) * plotH * 0.3;
    parts.push(
      `<rect x="${(x(i) - barW / 2).toFixed(1)}" y="${(margin.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="#dddddd"/>`,
    );
  });
  for (let t = 0; t <= 4; t++) {
    const ms = (yMaxMs * t) / 4;
    parts.push(
      `<line x1="${margin.left}" y1="${y(ms).toFixed(1)}" x2="${width - margin.right}" y2="${y(ms).toFixed(1)}" stroke="#eeeeee"/>`,
    );
    parts.push(
      `<text x="${margin.left - 6}" y="${(y(ms) + 4).toFixed(1)}" text-anchor="end">${Number(ms.toPrecision(3))}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${width - margin.right}" y2="${margin.top + plotH}" stroke="#333333"/>`,
  );
  parts.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333333"/>`);
  parts.push(
    `<text x="14" y="${margin.top + plotH / 2}" transform="rotate(-90 14 ${margin.top + plotH / 2})" text-anchor="middle">latency (ms)</text>`,
  );
  const lastMs = (points.length - 1) * report.timeline.interval_ms;
  parts.push(`<text x="${margin.left}" y="${height - 15}">0 s</text>`);
  parts.push(`<text x="${width - margin.right}" y="${height - 15}" text-anchor="end">${(lastMs / 1000).toFixed(1)} s</text>`);
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 15}" text-anchor="middle">time (one point per ${report.timeline.interval_ms} ms; grey bars: ops)</text>`,
  );
  series.forEach((s, k) => {
    const coords = points.map((p, i) => `${x(i).toFixed(1)},${y(p[s.key] / 1000).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="${s.name}" fill="none" stroke="${s.colour}" stroke-width="2" points="${coords}"/>`);
    parts.push(`<rect x="${width - margin.right - 150 + k * 50}" y="30" width="10" height="10" fill="${s.colour}"/>`);
    parts.push(`<text x="${width - margin.right - 136 + k * 50}" y="39">${s.name}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
// #endregion chart
