import { defineConfig } from 'vitest/config';

// One vitest for the whole workspace (`npx vitest`), one project per package.
export default defineConfig({
  test: {
    projects: ['packages/*', 'vitest.repo.config.ts'],
  },
});
