import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration suites share one private MariaDB (each uses its own databases) on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    // Handlers log structured JSON for CloudWatch; tests assert on data, not on logs.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
