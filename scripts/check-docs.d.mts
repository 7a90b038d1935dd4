export declare function extractRegion(source: string, name: string): string | undefined;
export declare function checkDocs(
  root: string,
  options?: { write?: boolean },
): { problems: string[]; quotes: number; files: number };
