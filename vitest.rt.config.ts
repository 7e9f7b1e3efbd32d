import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The connector against a real Request Tracker 5 (`npm run test:rt`): each
 * file starts its own RT (Debian's request-tracker5, rt5-db-postgresql,
 * rt5-standalone; a database of its own on the PostgreSQL at 127.0.0.1:5432),
 * which takes about half a minute besides installing the packages.
 */
export default defineConfig({
  test: {
    include: ['test/rt/**/*.test.ts'],
    exclude: [...configDefaults.exclude],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
