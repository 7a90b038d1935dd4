export function buildWorkspace(root: string): Promise<void>;
