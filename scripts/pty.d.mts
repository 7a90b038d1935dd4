export function hasScript(): boolean;
export function render(raw: string): string[];
export function runInPty(
  command: string,
  options?: { cwd?: string; env?: NodeJS.ProcessEnv; inputs?: string[]; timeoutMs?: number; keys?: string[] },
): Promise<{ lines: string[]; raw: string; code: number; signal: NodeJS.Signals | null; typed: number; timedOut: boolean }>;
