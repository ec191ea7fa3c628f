/** Test helpers for the shared test MariaDB: a root pool, unique database names, cleanup. */
import { inject } from 'vitest';
import mysql, { type Pool } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { ordersConfig } from '../../local/seed.js';

export function mysqlPort(): number {
  return inject('mysqlPort');
}

export function rootPool(): Pool {
  return mysql.createPool({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '', connectionLimit: 8, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
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
