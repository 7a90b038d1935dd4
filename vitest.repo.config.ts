import { defineConfig } from 'vitest/config';

// Tests of the repository itself: layering, docs quotes, error lists.
export default defineConfig({
  test: {
    name: 'repo',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
