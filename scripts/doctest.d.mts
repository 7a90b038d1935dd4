export interface Block {
  lang: string;
  attrs: string[];
  body: string;
  line: number;
  quoted: boolean;
  start: number;
  end: number;
}
export const ALLOWED: ReadonlySet<string>;
export const COMMAND_MS: number;
export function fencedBlocks(text: string): Block[];
export function checkedTsBlocks(text: string): Block[];
export function typecheckTsBlocks(root: string, files: string[]): Promise<{ problems: string[]; blocks: number }>;
export function parseSession(body: string): Array<{ command: string; expected: string[] }>;
export function refusal(command: string): string | undefined;
export function outputMatches(expected: string[], actual: string[]): boolean;
export function runSessions(
  root: string,
  files: string[],
  options?: { write?: boolean; only?: string[] },
): Promise<{ problems: string[]; sessions: number }>;
export function docFiles(root: string): string[];
export const TUTORIAL: readonly string[];
export function tutorialBlocks(text: string): Array<Block & { skip: string | undefined }>;
export function parseTutorialBlock(body: string): Array<{ command: string; expected: string[] }>;
export function lineMatches(expected: string, actual: string): boolean;
export function runTutorial(
  root: string,
  files: string[],
): Promise<{ problems: string[]; run: number; skipped: Array<{ where: string; reason: string }>; chapters: number }>;
