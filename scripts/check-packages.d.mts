export const ATTW_IGNORED_RULES: string[];
export function packageNames(): string[];
export function buildAll(): Promise<void>;
export function pack(name: string, dir: string): Promise<string>;
export function lintTarball(name: string, tarball: string): Promise<string[]>;
export function tarballManifest(tarball: string): Promise<Record<string, unknown>>;
export function checkPackages(
  names?: string[],
  dir?: string,
): Promise<{ problems: string[]; tarballs: Record<string, string>; dir: string }>;
