/**
 * SQL text of the source side's reads besides the copy's pages (`pageQuery` in `sql.ts`), pure: statistics,
 * the plan's sample, the scroll index check, table checksums. Values are bound (`params`).
 */
import { keyCompare, keyOrder, q, qt, rowCrcExpr, windowPredicates, type PageQuery, type Window } from './sql.js';

/**
 * Rows per day of `timeColumn` within `window` (`day`, `n`; `day` NULL for rows whose time is NULL), or,
 * without a time column, the table's row count (`n`). Grouped by DATE() and formatted per group: formatting
 * every row's text first took 2.4× as long.
 */
export function rowsPerDaySql(args: { database: string; table: string; timeColumn?: string | undefined; window?: Window | undefined }): PageQuery {
  const t = qt(args.database, args.table);
  if (!args.timeColumn) return { sql: `SELECT COUNT(*) AS n FROM ${t}`, params: [] };
  const params: unknown[] = [];
  const where = windowPredicates(args.timeColumn, args.window, params);
  return {
    sql: `SELECT DATE_FORMAT(d, '%Y-%m-%d') AS day, n FROM (SELECT DATE(${q(args.timeColumn)}) AS d, COUNT(*) AS n FROM ${t}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY d) AS per_day ORDER BY d`,
    params,
  };
}

/**
 * The plan's sample (`sample`): the scroll key and shard keys of the rows whose scroll key hashes to 0 mod
 * `step` (bound), in scroll key order; and (`ends`) the table's least and greatest scroll key, as `lo` and `hi`
 * for a one-column key, as two rows of the key's columns (least first; none for an empty table) for a composite one.
 */
export function sampleSql(args: { database: string; table: string; scrollKey: readonly string[]; shardKeys: readonly string[] }): { sample: string; ends: string } {
  const t = qt(args.database, args.table);
  const cols = [...new Set([...args.scrollKey, ...args.shardKeys])].map(q).join(', ');
  const order = keyOrder(args.scrollKey);
  if (args.scrollKey.length === 1) {
    const key = q(args.scrollKey[0]!);
    return { sample: `SELECT ${cols} FROM ${t} WHERE MOD(CRC32(${key}), ?) = 0 ORDER BY ${order}`, ends: `SELECT MIN(${key}) AS lo, MAX(${key}) AS hi FROM ${t}` };
  }
  const keyCols = args.scrollKey.map(q).join(', ');
  return {
    sample: `SELECT ${cols} FROM ${t} WHERE MOD(CRC32(CONCAT_WS(',', ${keyCols})), ?) = 0 ORDER BY ${order}`,
    ends: `(SELECT ${keyCols} FROM ${t} ORDER BY ${order} LIMIT 1) UNION ALL (SELECT ${keyCols} FROM ${t} ORDER BY ${keyOrder(args.scrollKey, true)} LIMIT 1)`,
  };
}

/** One row (`SELECT 1`) beyond `after` (the key's values, bound as given) on the scroll key, within the window, if any. */
export function rowAfterSql(args: { database: string; table: string; scrollKey: readonly string[]; after: readonly unknown[]; timeColumn?: string | undefined; window?: Window | undefined }): PageQuery {
  const params: unknown[] = [];
  const where = [keyCompare(args.scrollKey, '>', args.after, params), ...windowPredicates(args.timeColumn, args.window, params)];
  return { sql: `SELECT 1 FROM ${qt(args.database, args.table)} WHERE ${where.join(' AND ')} LIMIT 1`, params };
}

/** A table's columns in order (`name`, `dataType`, `columnType`, `nullable`: YES/NO), for TABLE_SCHEMA and TABLE_NAME bound. */
export const COLUMNS_SQL =
  'SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable, COLLATION_NAME AS collation, CHARACTER_SET_NAME AS charset, COLUMN_COMMENT AS comment FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION';

export function showCreateTableSql(database: string, table: string): string {
  return `SHOW CREATE TABLE ${qt(database, table)}`;
}

/** The unique indexes of a table (`idx`, its columns `col` in order), for TABLE_SCHEMA and TABLE_NAME bound. */
export const UNIQUE_INDEXES_SQL =
  'SELECT INDEX_NAME AS idx, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX';

/** EXPLAIN of a keyset scroll on the scroll key's columns: which index (`key`) serves it, and whether it sorts (`Extra`). */
export function scrollIndexExplainSql(database: string, table: string, scrollKey: readonly string[]): string {
  return `EXPLAIN SELECT ${scrollKey.map(q).join(', ')} FROM ${qt(database, table)} WHERE ${q(scrollKey[0]!)} > 0 ORDER BY ${keyOrder(scrollKey)} LIMIT 100`;
}

/** Count (`n`) and checksum (`x`: BIT_XOR, `s`: SUM of `rowCrcExpr`) of a table, optionally filtered by `where`. */
export function tableChecksumSql(args: { database: string; table: string; columns: readonly string[]; where?: string; readKinds?: Readonly<Record<string, string>> }): string {
  const crc = rowCrcExpr(args.columns, args.readKinds ?? {});
  return `SELECT COUNT(*) AS n, BIT_XOR(${crc}) AS x, SUM(${crc}) AS s FROM ${qt(args.database, args.table)}${args.where ? ` WHERE ${args.where}` : ''}`;
}
