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

/** A root pool on the shared test server, or on `port`. */
export function rootPool(port = mysqlPort()): Pool {
  return mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 8, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
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

interface OwnMariaDbOptions {
  /** Runs in the `beforeAll` before the server starts, given its directory: e.g. writes files that `args` name. */
  readonly prepare?: (dir: string) => void;
  /** Extra server options, given the server's directory. */
  readonly args?: (dir: string) => readonly string[];
  /** Makes the root pool `pool()` gives, given the port. @default an adapter pool (`createPool`, 4 connections) */
  readonly pool?: (port: number) => Pool;
}

/**
 * A MariaDB of the calling test file's (or describe block's) own, on `mysqlPort() + offset` with a fresh
 * directory `dir` (the datadir and logs; a test may keep its own files there), started before its tests and
 * killed and removed after them (its `afterAll` runs after those registered later): for tests that kill
 * sessions, change global settings, or need a binlog no other file writes to. `pool()` is a root pool on it
 * once started; `restart()` ends that pool, shuts the server down cleanly, starts it again on the same
 * datadir and makes a new pool.
 */
export function ownMariaDb(
  name: string,
  offset: number,
  options: OwnMariaDbOptions = {},
): { readonly port: number; readonly dir: string; pool(): Pool; restart(): Promise<void> } {
  const port = mysqlPort() + offset;
  const dir = mkdtempSync(join(tmpdir(), `reshard-${name}-`));
  const makePool = options.pool ?? ((p: number) => createPool(connectionSchema.parse({ port: p, poolSize: 4 })));
  let server: MariaDb | undefined;
  let pool: Pool | undefined;
  const start = async () => {
    server = await startMariaDb({ dir, port, ...(options.args ? { args: options.args(dir) } : {}) });
    pool = makePool(port);
  };
  beforeAll(async () => {
    options.prepare?.(dir);
    await start();
  }, 180_000);
  afterAll(async () => {
    await pool?.end();
    await server?.stop('kill');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    dir,
    pool: () => {
      if (!pool) throw new Error(`the MariaDB of ${name} is not started yet`);
      return pool;
    },
    restart: async () => {
      await pool?.end();
      pool = undefined;
      await server?.stop('shutdown');
      server = undefined;
      await start();
    },
  };
}
