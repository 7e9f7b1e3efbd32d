import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs for minutes: `npm run test:faults` (vitest.faults.config.ts).
    // The Request Tracker suite needs RT's packages: `npm run test:rt` (vitest.rt.config.ts).
    exclude: [...configDefaults.exclude, 'test/faults/**', 'test/rt/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
