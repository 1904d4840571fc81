import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    root: new URL('..', import.meta.url).pathname,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores here and in CI: more forks only contend.
    maxWorkers: 2,
  },
});
