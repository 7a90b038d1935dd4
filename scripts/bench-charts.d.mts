export function slug(heading: string): string;
export function chapterTable(chapterText: string, anchor: string): string | undefined;
export function copiedTables(markdown: string): Array<{ chapter: string; anchor: string; table: string }>;
export function syncTables(markdown: string): string;
export function tableFrom(markdown: string, chapter: string): string[][];
export function barChart(options: {
  title: string;
  description: string;
  unit: string;
  series: string[];
  groups: Array<{ label: string; values: number[] }>;
}): string;
export function charts(markdown?: string): Record<string, string>;
export function staleCharts(): string[];
