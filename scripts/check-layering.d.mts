export declare const CHAIN: string[];
export declare function checkLayering(root: string): string[];
