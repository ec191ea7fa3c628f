/**
 * An independent check of a finished copy: routing re-expressed in SQL (not the TypeScript router),
 * one GROUP BY pass over the source, and a count + BIT_XOR/SUM of a per-row CRC32 for every target table.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { expand, type MigrationConfig, type TableConfig } from '../lambdas/core/config.js';
import { q, qt, rowCrcExpr, windowPredicates } from '../lambdas/core/sql.js';
import { columnsOf, readKindsOf } from '../lambdas/adapters/mysql/schema.js';
import { tableChecksum } from '../lambdas/adapters/mysql/source.js';

export interface TargetCheck {
  readonly target: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly match: boolean;
}

export interface TableCheck {
  readonly table: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly match: boolean;
  readonly targets: TargetCheck[];
}

/** The built-in routing rules as SQL expressions over the shard key columns: [db, table]. */
function routeSql(config: MigrationConfig, table: TableConfig): [string, string] {
  const key = `COALESCE(${table.shardKeys.map((c) => `NULLIF(TRIM(${q(c)}), '')`).join(', ')})`;
  const n = config.target.databases;
  const m = table.tablesPerDb;
  if (config.routing.algorithm === 'last3-mod') {
    const last3 = `CAST(RIGHT(${key}, 3) AS UNSIGNED)`;
    return [`MOD(${last3}, ${n})`, `MOD(${last3}, ${m})`];
  }
  if (config.routing.algorithm === 'spread') {
    const slot = `MOD(CAST(${key} AS UNSIGNED), ${n * m})`;
    return [`MOD(${slot}, ${n})`, `(${slot} DIV ${n})`];
  }
  throw new Error('independent SQL routing exists only for the built-in rules');
}

async function checkTable(config: MigrationConfig, table: TableConfig, source: Pool, targets: readonly Pool[]): Promise<TableCheck> {
  const info = await columnsOf(source, config.source.database, table.name);
  const columns = info.map((c) => c.name);
  const readKinds = readKindsOf(info);
  const crc = rowCrcExpr(columns, readKinds);
  const [dbExpr, tableExpr] = routeSql(config, table);
  const params: unknown[] = [];
  const where = windowPredicates(table.timeColumn, table.window, params);
  const [rows] = await source.query<RowDataPacket[]>(
    `SELECT ${dbExpr} AS d, ${tableExpr} AS t, COUNT(*) AS n, BIT_XOR(${crc}) AS x, SUM(${crc}) AS s
       FROM ${qt(config.source.database, table.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY d, t`,
    params,
  );
  const expected = new Map(rows.map((r) => [`${r.d}.${r.t}`, { n: Number(r.n), x: String(r.x), s: String(r.s) }]));
  const out: TargetCheck[] = [];
  for (let d = 0; d < config.target.databases; d++) {
    for (let t = 0; t < table.tablesPerDb; t++) {
      const database = expand(config.target.databasePattern, 'db', d);
      const tableName = expand(table.targetTable, 'table', t);
      const got = await tableChecksum(targets[d] ?? targets[0]!, { database, table: tableName, columns, readKinds });
      const want = expected.get(`${d}.${t}`) ?? { n: 0, x: '0', s: '0' };
      out.push({
        target: `${database}.${tableName}`,
        sourceRows: want.n,
        targetRows: got.rows,
        match: want.n === got.rows && want.x === got.xor && (want.n === 0 || want.s === got.sum),
      });
    }
  }
  const sourceRows = out.reduce((a, c) => a + c.sourceRows, 0);
  const targetRows = out.reduce((a, c) => a + c.targetRows, 0);
  return { table: table.name, sourceRows, targetRows, match: out.every((c) => c.match), targets: out };
}

export async function checkAll(config: MigrationConfig, source: Pool, targets: readonly Pool[]): Promise<TableCheck[]> {
  const out: TableCheck[] = [];
  for (const t of config.tables) out.push(await checkTable(config, t, source, targets));
  return out;
}
