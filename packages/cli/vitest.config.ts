import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cli',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // expect.poll's bound: generous, so a slow machine waits longer but timing never decides a pass.
    expect: { poll: { timeout: 60_000, interval: 50 } },
  },
});
