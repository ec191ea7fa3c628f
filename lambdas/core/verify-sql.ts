/**
 * SQL text of verification, pure: a batch's key range, its upper edge, the checksum sums and the row reads.
 * Identifiers are escaped (`q`/`qt`); values are bound parameters.
 */
import { keyCompare, keyOrder, q, qt, selectList, windowPredicates, type Window } from './sql.js';

/** A range predicate over the scroll key (and the table's time window) with its bound parameters. */
export interface RangeWhere {
  readonly where: string;
  readonly params: unknown[];
}

/** What `rangeWhere` needs of a table. */
export interface RangeTable {
  readonly scrollKey: readonly string[];
  readonly timeColumn?: string | undefined;
  readonly window?: Window | undefined;
}

/**
 * `key > lo AND key <= hi [AND time in window]`; `null` leaves that end open, and nothing at all reads
 * `1=1`. `lo` and `hi` are the key's values, bound as they are given (integer keys as BigInt: see `bindKey`).
 */
export function rangeWhere(table: RangeTable, lo: readonly unknown[] | null, hi: readonly unknown[] | null): RangeWhere {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (lo !== null) parts.push(keyCompare(table.scrollKey, '>', lo, params));
  if (hi !== null) parts.push(keyCompare(table.scrollKey, '<=', hi, params));
  parts.push(...windowPredicates(table.timeColumn, table.window, params));
  return { where: parts.length ? parts.join(' AND ') : '1=1', params };
}

/** `SELECT … FROM (derived) LIMIT 2^64-1`: the derived table is materialized, so the row CRC is evaluated once per row. */
export const ONCE = 'LIMIT 18446744073709551615';

/**
 * Count (`n`), BIT_XOR (`x`) and SUM (`s`) of the row CRCs `crc` of `database.table` over `where` — and,
 * with `notProven` (a 0/1 expression per row, `builtInPlacementSql`), their sum as `off`.
 */
export function sumsSql(args: { database: string; table: string; crc: string; where: string; notProven?: string | undefined }): string {
  const from = qt(args.database, args.table);
  return args.notProven
    ? `SELECT COUNT(*) AS n, BIT_XOR(c) AS x, SUM(c) AS s, SUM(p) AS off FROM (SELECT ${args.crc} AS c, ${args.notProven} AS p FROM ${from} WHERE ${args.where} ${ONCE}) d`
    : `SELECT COUNT(*) AS n, BIT_XOR(c) AS x, SUM(c) AS s FROM (SELECT ${args.crc} AS c FROM ${from} WHERE ${args.where} ${ONCE}) d`;
}

/** The key `rows` keys after the start of `where` (its columns, in order), read from the index only, or no row when the range holds fewer. */
export function edgeSql(args: { database: string; table: string; scrollKey: readonly string[]; where: string; rows: number }): string {
  return `SELECT ${args.scrollKey.map(q).join(', ')} FROM ${qt(args.database, args.table)} WHERE ${args.where} ORDER BY ${keyOrder(args.scrollKey)} LIMIT 1 OFFSET ${args.rows - 1}`;
}

/** Each row's `columns` (its keys) and then its CRC as `c`: read as arrays, the CRC last. */
export function keyedCrcSql(args: { database: string; table: string; columns: readonly string[]; crc: string; where: string }): string {
  return `SELECT ${args.columns.map(q).join(', ')}, ${args.crc} AS c FROM ${qt(args.database, args.table)} WHERE ${args.where}`;
}

/** The row CRC's column in `rowsSql` with a `crc`: a name no validated identifier can have. */
export const CRC_COLUMN = 'reshard crc';

/** The rows over `where`, their columns as `selectList` reads them, and with `crc` each row's CRC as `CRC_COLUMN`. */
export function rowsSql(args: {
  database: string;
  table: string;
  columns: readonly string[];
  readKinds?: Readonly<Record<string, string>> | undefined;
  where: string;
  crc?: string | undefined;
}): string {
  const cols = selectList(args.columns, args.readKinds);
  return `SELECT ${cols}${args.crc ? `, ${args.crc} AS ${q(CRC_COLUMN)}` : ''} FROM ${qt(args.database, args.table)} WHERE ${args.where}`;
}
