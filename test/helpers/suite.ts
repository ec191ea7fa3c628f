/**
 * Shared set-up of the integration suites: a root pool on the test MariaDB, one dynalite per file, and
 * configs with unique database prefixes that are dropped after the file.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { startDynamo, type LocalDynamo } from '../../local/emulators.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from './db.js';

export interface Suite {
  readonly pool: Pool;
  readonly dynamo: LocalDynamo;
  /** A config on fresh databases (dropped after the file), with the suite's defaults and `overrides`. */
  config(name: string, overrides?: Parameters<typeof testConfig>[1]): ReturnType<typeof testConfig>;
}

export function integrationSuite(defaults: Parameters<typeof testConfig>[1] = {}): Suite {
  let pool: Pool | undefined;
  let dynamo: LocalDynamo | undefined;
  const prefixes: string[] = [];
  beforeAll(async () => {
    pool = rootPool();
    dynamo = await startDynamo();
  });
  afterAll(async () => {
    await dynamo?.close();
    for (const p of prefixes) await dropPrefixed(pool!, p);
    await pool?.end();
  });
  return {
    get pool() {
      return pool!;
    },
    get dynamo() {
      return dynamo!;
    },
    config(name, overrides = {}) {
      const prefix = uniquePrefix(name);
      prefixes.push(prefix);
      return testConfig(prefix, { ...defaults, ...overrides });
    },
  };
}
