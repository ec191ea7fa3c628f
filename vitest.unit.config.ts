import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Unit tests only: pure code and fakes, no MariaDB (so no global setup).
export default defineConfig({
  test: { ...base.test, include: ['test/unit/**/*.test.ts'], globalSetup: [] },
});
