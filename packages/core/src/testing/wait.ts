/**
 * Polls `cond` every `intervalMs` (default 5), at most `pollsMax` times
 * (default 2,000): a bound on how long a test waits, never what decides that
 * it passes. Throws, naming `what`, when the bound is reached. For state a
 * test can read synchronously or asynchronously (a node's role, a log index).
 */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  pollsMax = 2000,
  intervalMs = 5,
): Promise<void> {
  for (let i = 0; i < pollsMax; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`gave up waiting for: ${what}`);
}
