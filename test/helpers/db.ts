/** Test helpers for the shared test MariaDB: a root pool, unique database names, cleanup. */
import { afterAll, beforeAll, inject } from 'vitest';
import mysql, { type Pool } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { ordersConfig } from '../../local/seed.js';
import { createPool } from '../../lambdas/adapters/mysql/pool.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionSchema } from '../../lambdas/core/config.js';
import { startMariaDb, type MariaDb } from '../../local/mariadb.js';

export function mysqlPort(): number {
  return inject('mysqlPort');
}

export function rootPool(): Pool {
  return mysql.createPool({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '', connectionLimit: 8, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
}

/** A pool made as the writers make theirs (`createPool`: FOUND_ROWS off, the adapters' value types). */
function writerPool(poolSize = 4): Pool {
  return createPool({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '', poolSize, connectTimeoutMs: 5000 });
}

/** A short unique prefix so suites running in parallel never share databases. */
export function uniquePrefix(name: string): string {
  return `t_${name}_${randomBytes(3).toString('hex')}`;
}

export function testConfig(prefix: string, overrides: Parameters<typeof ordersConfig>[0] extends infer A ? Partial<A> : never = {}): MigrationConfig {
  return parseConfig(
    ordersConfig({
      migrationId: prefix.replaceAll('_', '-'),
      port: mysqlPort(),
      sourceDb: `${prefix}_src`,
      targetPrefix: `${prefix}_db`,
      ...overrides,
    }),
  );
}

export async function dropPrefixed(pool: Pool, prefix: string): Promise<void> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [`${prefix}\\_%`]);
  for (const r of rows) await pool.query(`DROP DATABASE \`${String(r.s)}\``);
}

/**
 * A database of its own for one test file (`<prefix>_t`), with a root pool and a writer pool (`writerPool`),
 * created before the file's tests and dropped after them.
 */
export function scratchDatabase(name: string, poolSize = 4): { readonly db: string; readonly root: Pool; readonly pool: Pool } {
  const prefix = uniquePrefix(name);
  const db = `${prefix}_t`;
  let root: Pool | undefined;
  let pool: Pool | undefined;
  beforeAll(async () => {
    root = rootPool();
    await root.query(`CREATE DATABASE \`${db}\``);
    pool = writerPool(poolSize);
  });
  afterAll(async () => {
    await pool?.end();
    if (root) {
      await dropPrefixed(root, prefix);
      await root.end();
    }
  });
  return {
    db,
    get root() {
      if (!root) throw new Error('scratchDatabase: used before its beforeAll ran');
      return root;
    },
    get pool() {
      if (!pool) throw new Error('scratchDatabase: used before its beforeAll ran');
      return pool;
    },
  };
}

/**
 * A MariaDB of the calling test file's (or describe block's) own, on `mysqlPort() + offset` with a fresh
 * datadir, started before its tests and killed and removed after them (its `afterAll` runs after those
 * registered later): for tests that kill sessions, or need a binlog no other file writes to. `pool()` is a
 * root pool on it once started.
 */
export function ownMariaDb(name: string, offset: number): { readonly port: number; pool(): Pool } {
  const port = mysqlPort() + offset;
  const dir = mkdtempSync(join(tmpdir(), `reshard-${name}-`));
  let server: MariaDb | undefined;
  let pool: Pool | undefined;
  beforeAll(async () => {
    server = await startMariaDb({ dir, port });
    pool = createPool(connectionSchema.parse({ port, poolSize: 4 }));
  }, 180_000);
  afterAll(async () => {
    await pool?.end();
    await server?.stop('kill');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    pool: () => {
      if (!pool) throw new Error(`the MariaDB of ${name} is not started yet`);
      return pool;
    },
  };
}

