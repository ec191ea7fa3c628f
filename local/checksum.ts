/**
 * An independent check of a finished copy: routing re-expressed in SQL (not the TypeScript router),
 * one GROUP BY pass over each physical source table, and a count + BIT_XOR/SUM of a per-row CRC32 for every target table.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { expand, recordKeyOf, type MigrationConfig, type TableConfig } from '../lambdas/core/config.js';
import { q, qt, rowCrcExpr, windowPredicates } from '../lambdas/core/sql.js';
import { columnsOf, readKindsOf } from '../lambdas/adapters/mysql/schema.js';
import { tableChecksum } from '../lambdas/adapters/mysql/source.js';
import { sourceUnits } from '../lambdas/core/source-layout.js';

export interface TargetCheck {
  /** `database.table`. */
  readonly target: string;
  /** Its database and table index in the target layout, its database and table names. */
  readonly at: { readonly db: number; readonly table: number; readonly database: string; readonly tableName: string };
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

async function checkTable(config: MigrationConfig, table: TableConfig, sources: readonly Pool[], targets: readonly Pool[]): Promise<TableCheck> {
  const units = sourceUnits(config.source, table);
  const first = units[0]!;
  const info = await columnsOf(sources[first.server]!, first.database, first.tableName);
  const columns = info.map((c) => c.name);
  const readKinds = readKindsOf(info);
  const crc = rowCrcExpr(columns, readKinds);
  const [dbExpr, tableExpr] = routeSql(config, table);
  const params: unknown[] = [];
  const where = windowPredicates(table.timeColumn, table.window, params);
  // Every physical source table grouped by target, the groups added up (XOR and SUM combine across tables).
  const expected = new Map<string, { n: number; x: bigint; s: bigint }>();
  for (const u of units) {
    const [rows] = await sources[u.server]!.query<RowDataPacket[]>(
      `SELECT ${dbExpr} AS d, ${tableExpr} AS t, COUNT(*) AS n, BIT_XOR(${crc}) AS x, SUM(${crc}) AS s
         FROM ${qt(u.database, u.tableName)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY d, t`,
      params,
    );
    for (const r of rows) {
      const id = `${r.d}.${r.t}`;
      const e = expected.get(id) ?? { n: 0, x: 0n, s: 0n };
      expected.set(id, { n: e.n + Number(r.n), x: e.x ^ BigInt(String(r.x)), s: e.s + BigInt(String(r.s)) });
    }
  }
  const out: TargetCheck[] = [];
  for (let d = 0; d < config.target.databases; d++) {
    for (let t = 0; t < table.tablesPerDb; t++) {
      const database = expand(config.target.databasePattern, 'db', d);
      const tableName = expand(table.targetTable, 'table', t);
      const got = await tableChecksum(targets[d] ?? targets[0]!, { database, table: tableName, columns, readKinds });
      const want = expected.get(`${d}.${t}`) ?? { n: 0, x: 0n, s: 0n };
      out.push({
        target: `${database}.${tableName}`,
        at: { db: d, table: t, database, tableName },
        sourceRows: want.n,
        targetRows: got.rows,
        match: want.n === got.rows && String(want.x) === got.xor && (want.n === 0 || String(want.s) === got.sum),
      });
    }
  }
  const sourceRows = out.reduce((a, c) => a + c.sourceRows, 0);
  const targetRows = out.reduce((a, c) => a + c.targetRows, 0);
  return { table: table.name, sourceRows, targetRows, match: out.every((c) => c.match), targets: out };
}

/** Checks every table; `source` is the source server's pool, or one pool per source server (`sourceServers` order). */
export async function checkAll(config: MigrationConfig, source: Pool | readonly Pool[], targets: readonly Pool[]): Promise<TableCheck[]> {
  const sources = Array.isArray(source) ? (source as readonly Pool[]) : [source as Pool];
  const out: TableCheck[] = [];
  for (const t of config.tables) out.push(await checkTable(config, t, sources, targets));
  return out;
}

/** Rows lost (in the source, not in their target table), extra (in a target table, not routed there) and different. */
export interface RowDifferences {
  readonly rowsLost: number;
  readonly rowsExtra: number;
  readonly rowsDifferent: number;
}

/** Record keys compared per page when source and targets are on different servers (by default). */
const PAGE = 5000;

/** A target table `checks` found not matching, with what comparing its rows with the source needs. */
interface Mismatch {
  /** The record key's columns. */
  readonly keys: readonly string[];
  /** The row CRC expression. */
  readonly crc: string;
  readonly sourceTable: string;
  readonly targetTable: string;
  /** Selects the source rows the rule routes to the target table (and the window), with `params`. */
  readonly routed: readonly string[];
  readonly params: readonly unknown[];
}

/** Every target table `checks` found not matching (one source table per logical table, on `source`). */
async function mismatches(config: MigrationConfig, source: Pool, checks: readonly TableCheck[]): Promise<Mismatch[]> {
  const out: Mismatch[] = [];
  for (const check of checks) {
    const table = config.tables.find((t) => t.name === check.table)!;
    const units = sourceUnits(config.source, table);
    if (units.length !== 1) throw new Error('row differences are counted for a single source table');
    const u = units[0]!;
    const info = await columnsOf(source, u.database, u.tableName);
    const crc = rowCrcExpr(info.map((c) => c.name), readKindsOf(info));
    const [dbExpr, tableExpr] = routeSql(config, table);
    for (const t of check.targets.filter((x) => !x.match)) {
      const params: unknown[] = [];
      const routed = [`${dbExpr} = ${t.at.db}`, `${tableExpr} = ${t.at.table}`, ...windowPredicates(table.timeColumn, table.window, params)];
      out.push({ keys: recordKeyOf(table), crc, sourceTable: qt(u.database, u.tableName), targetTable: qt(t.at.database, t.at.tableName), routed, params });
    }
  }
  return out;
}

/**
 * Counts the rows behind every target table `checks` found not matching against the source rows the rule (in
 * SQL) routes to it: by a join on the record key when the source and the targets are on one server (`target`
 * omitted), else page by page on each side, looking each page's keys up on the other. One source table.
 */
export async function rowDifferences(config: MigrationConfig, pool: Pool, checks: readonly TableCheck[], apart: { target?: Pool; pageSize?: number } = {}): Promise<RowDifferences> {
  const out = { rowsLost: 0, rowsExtra: 0, rowsDifferent: 0 };
  for (const m of await mismatches(config, pool, checks)) {
    if (apart.target && apart.target !== pool) {
      const src: Side = { pool, from: m.sourceTable, where: m.routed, params: m.params };
      const tgt: Side = { pool: apart.target, from: m.targetTable, where: [], params: [] };
      const pageSize = apart.pageSize ?? PAGE;
      // Every source row routed here, looked up in the target table (lost or different); every target row
      // looked up among them (extra).
      const fromSource = await compareSides(m.keys, m.crc, src, tgt, pageSize);
      out.rowsLost += fromSource.missing;
      out.rowsDifferent += fromSource.different;
      out.rowsExtra += (await compareSides(m.keys, m.crc, tgt, src, pageSize)).missing;
      continue;
    }
    const keyList = m.keys.map((k, i) => `${q(k)} AS k${i}`).join(', ');
    const on = m.keys.map((_, i) => `s.k${i} <=> x.k${i}`).join(' AND ');
    const s = `(SELECT ${keyList}, ${m.crc} AS c FROM ${m.sourceTable} WHERE ${m.routed.join(' AND ')})`;
    const x = `(SELECT ${keyList}, ${m.crc} AS c FROM ${m.targetTable})`;
    const count = async (sql: string) => Number((await pool.query<RowDataPacket[]>(sql, [...m.params]))[0][0]!.n);
    out.rowsLost += await count(`SELECT COUNT(*) AS n FROM ${s} s LEFT JOIN ${x} x ON ${on} WHERE x.c IS NULL`);
    out.rowsExtra += await count(`SELECT COUNT(*) AS n FROM ${x} x LEFT JOIN ${s} s ON ${on} WHERE s.c IS NULL`);
    out.rowsDifferent += await count(`SELECT COUNT(*) AS n FROM ${s} s JOIN ${x} x ON ${on} WHERE s.c <> x.c`);
  }
  return out;
}

/** A side of a row comparison: its rows as `k0…, c` (record key, row CRC) from `from`, filtered by `where`. */
interface Side {
  readonly pool: Pool;
  readonly from: string;
  readonly where: readonly string[];
  readonly params: readonly unknown[];
}

/** Pages through `from`'s rows by record key; counts those missing on `other` and those whose CRC differs there. */
async function compareSides(keys: readonly string[], crc: string, from: Side, other: Side, pageSize: number): Promise<{ missing: number; different: number }> {
  const cols = keys.map((k, i) => `${q(k)} AS k${i}`).join(', ');
  const tuple = `(${keys.map((k) => q(k)).join(', ')})`;
  const one = `(${keys.map(() => '?').join(', ')})`;
  let missing = 0;
  let different = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const where = [...from.where, ...(after ? [`${tuple} > ${one}`] : [])];
    const [rows] = await from.pool.query<RowDataPacket[]>(
      `SELECT ${cols}, ${crc} AS c FROM ${from.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${keys.map((k) => q(k)).join(', ')} LIMIT ${pageSize}`,
      [...from.params, ...(after ?? [])],
    );
    if (!rows.length) return { missing, different };
    const keyOf = (r: RowDataPacket) => keys.map((_, i) => r[`k${i}`] as unknown);
    const [found] = await other.pool.query<RowDataPacket[]>(
      `SELECT ${cols}, ${crc} AS c FROM ${other.from} WHERE ${[...other.where, `${tuple} IN (${rows.map(() => one).join(', ')})`].join(' AND ')}`,
      [...other.params, ...rows.flatMap(keyOf)],
    );
    const there = new Map(found.map((r) => [JSON.stringify(keyOf(r).map(String)), String(r.c)]));
    for (const r of rows) {
      const c = there.get(JSON.stringify(keyOf(r).map(String)));
      if (c === undefined) missing++;
      else if (c !== String(r.c)) different++;
    }
    after = keyOf(rows[rows.length - 1]!);
    if (rows.length < pageSize) return { missing, different };
  }
}
