export declare function extractRegion(source: string, name: string): string | undefined;
export declare function checkDocs(
  root: string,
  options?: { write?: boolean; only?: string[] },
): { problems: string[]; quotes: number; files: number };
