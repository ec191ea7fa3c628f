/**
 * Schema inspection (columns and how they are read, checksummed and rendered; the scroll index) and target
 * preparation (databases and tables created from the source definition).
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { SchemaError } from '../../core/errors.js';
import { inParallel } from '../../core/parallel.js';
import { kindOfType, type ColumnKinds } from '../../core/rowdiff.js';
import { scrollKeyProblem, type KeyKind } from '../../core/segments.js';
import { q, qt, type LiteralKind, type ReadKind } from '../../core/sql.js';
import { COLUMNS_SQL, scrollIndexExplainSql, showCreateTableSql, UNIQUE_INDEXES_SQL } from '../../core/sql-source.js';
import { createDatabaseSql, targetDdl } from '../../core/sql-target.js';
import { idOf, tableId } from '../../core/table-id.js';
import { dbError, withDbErrors } from './pool.js';
import type { BinlogColumn } from '../../core/model.js';

export interface ColumnInfo {
  readonly name: string;
  readonly dataType: string;
  readonly columnType: string;
  readonly nullable: boolean;
  readonly collation: string | null;
  readonly charset: string | null;
  readonly comment: string;
}

/** A column known only as the binlog reader decodes it (its definition is gone from the server): as a ColumnInfo. */
export function columnInfoOf(b: BinlogColumn): ColumnInfo {
  return { name: b.COLUMN_NAME, dataType: b.COLUMN_TYPE.split(/[\s(]/)[0]!.toLowerCase(), columnType: b.COLUMN_TYPE, nullable: true, collation: b.COLLATION_NAME, charset: b.CHARACTER_SET_NAME, comment: b.COLUMN_COMMENT };
}

/** The columns as the binlog reader decodes rows with them (INFORMATION_SCHEMA form). */
export function binlogColumnsOf(columns: readonly ColumnInfo[]): BinlogColumn[] {
  return columns.map((c) => ({ COLUMN_NAME: c.name, COLLATION_NAME: c.collation, CHARACTER_SET_NAME: c.charset, COLUMN_COMMENT: c.comment, COLUMN_TYPE: c.columnType }));
}

/** The columns of `database.table` in their order; none when the table does not exist. */
export async function columnsOf(pool: Pool, database: string, table: string): Promise<ColumnInfo[]> {
  const [rows] = await withDbErrors(`reading the columns of ${tableId(database, table)}`, () => pool.query<RowDataPacket[]>(COLUMNS_SQL, [database, table]));
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return rows.map((r) => ({
    name: String(r.name),
    dataType: String(r.dataType),
    columnType: String(r.columnType),
    nullable: r.nullable === 'YES',
    collation: text(r.collation),
    charset: text(r.charset),
    comment: String(r.comment ?? ''),
  }));
}

/** Types whose text never contains the checksum's separator `|` and never reads `n`: numbers, dates, times, addresses. */
const PLAIN_TYPES = new Set([
  'tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'double', 'real', 'bool', 'boolean',
  'date', 'datetime', 'timestamp', 'time', 'year', 'inet4', 'inet6', 'uuid',
]);
/** Other types bounded by the 64 KB row size, whose text may hold any byte (strings, BIT, ENUM/SET labels). */
const SHORT_TYPES = new Set(['bit', 'char', 'varchar', 'binary', 'varbinary', 'enum', 'set']);
/** Bounded string types whose values, in a UTF-8 charset, are well-formed UTF-8: never the bytes 0xFE or 0xFF. */
const UTF8_STRING_TYPES = new Set(['char', 'varchar', 'enum', 'set']);
const UTF8_CHARSETS = new Set(['utf8mb4', 'utf8mb3', 'utf8']);

/**
 * How columns are read and checksummed (`selectList`, `rowCrcExpr`): FLOAT (single precision) through
 * DOUBLE so every stored digit round-trips ('float-single'); numbers, dates and times as they are ('plain':
 * their text can hold neither the separator nor the NULL marker); CHAR/VARCHAR/ENUM/SET in a UTF-8 charset
 * as their bytes ('utf8': never 0xFE or 0xFF); other bounded types as they are, length-prefixed in the
 * checksum ('short'); other columns (TEXT, BLOB, JSON, …) are absent: read as they are, checksummed by their
 * own CRC32.
 */
export function readKindsOf(columns: readonly ColumnInfo[]): Record<string, ReadKind> {
  const out: Record<string, ReadKind> = {};
  for (const c of columns) {
    const t = c.dataType.toLowerCase();
    if (t === 'float') out[c.name] = 'float-single';
    else if (PLAIN_TYPES.has(t)) out[c.name] = 'plain';
    else if (UTF8_STRING_TYPES.has(t) && c.charset !== null && UTF8_CHARSETS.has(c.charset.toLowerCase())) out[c.name] = 'utf8';
    else if (SHORT_TYPES.has(t)) out[c.name] = 'short';
  }
  return out;
}

/** Column types the source renders exactly as SQL literals (`rowRenderExpr`), by literal kind. */
/** String types: rendered as utf8mb4 text (`utf8` where the column is stored as utf8mb4 already). */
const TEXT_TYPES = ['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'json', 'enum', 'set'];

const LITERAL_KINDS: Readonly<Record<string, LiteralKind>> = {
  ...Object.fromEntries(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real'].map((t) => [t, 'number'])),
  bit: 'bit',
  // Spatial values as their stored bytes (SRID + WKB), which the server takes back as they are.
  ...Object.fromEntries(
    ['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection'].map(
      (t) => [t, 'binary'],
    ),
  ),
  ...Object.fromEntries(TEXT_TYPES.map((t) => [t, 'text'])),
  ...Object.fromEntries(['date', 'datetime', 'timestamp', 'time', 'year'].map((t) => [t, 'temporal'])),
};

/**
 * How each column goes into a row literal, or `undefined` when a column's type is not one listed here
 * (INET4/INET6, UUID, anything unknown): such a table is read as values.
 */
export function literalKindsOf(columns: readonly ColumnInfo[]): Record<string, LiteralKind> | undefined {
  const out: Record<string, LiteralKind> = {};
  for (const c of columns) {
    const kind = LITERAL_KINDS[c.dataType.toLowerCase()];
    if (!kind) return undefined;
    out[c.name] = kind === 'text' && c.charset === 'utf8mb4' ? 'utf8' : kind;
  }
  return out;
}

export function kindsOf(columns: readonly ColumnInfo[]): ColumnKinds {
  return Object.fromEntries(columns.map((c) => [c.name, kindOfType(c.dataType)]));
}

/** The scroll key's kind: its column's, or each column's of a composite key. */
export function keyKindOf(columns: readonly ColumnInfo[], scrollKey: readonly string[]): KeyKind {
  const kinds = scrollKey.map((k) => {
    const col = columns.find((c) => c.name === k);
    return col && kindOfType(col.dataType) === 'int' ? 'int' : 'string';
  });
  return kinds.length === 1 ? kinds[0]! : kinds;
}

/**
 * Checks that a keyset scroll on the scroll key `key` is exact — its columns NOT NULL, a unique index within
 * them (`scrollKeyProblem`) — and served by an index (EXPLAIN), naming the index to add if not.
 */
export async function checkScrollIndex(pool: Pool, scroll: { database: string; table: string; key: readonly string[] }): Promise<void> {
  const { database, table, key } = scroll;
  const id = tableId(database, table);
  const [[rows], [unique], columns] = await withDbErrors(`checking the scroll index of ${id}`, () =>
    Promise.all([
      pool.query<RowDataPacket[]>(scrollIndexExplainSql(database, table, key)),
      pool.query<RowDataPacket[]>(UNIQUE_INDEXES_SQL, [database, table]),
      columnsOf(pool, database, table),
    ]),
  );
  const indexes = new Map<string, string[]>();
  for (const r of unique) indexes.set(String(r.idx), [...(indexes.get(String(r.idx)) ?? []), String(r.col)]);
  const problem = scrollKeyProblem(key, new Set(columns.filter((c) => c.nullable).map((c) => c.name)), indexes);
  if (problem?.kind === 'not-unique')
    throw new SchemaError(`${id}: ${problem.text}, or, if its values are unique, make it so: ALTER TABLE ${qt(database, table)} ADD UNIQUE INDEX ${q(`uk_${key.join('_')}`)} (${key.map(q).join(', ')});`);
  if (problem) throw new SchemaError(`${id}: ${problem.text}`);
  const plan: RowDataPacket = rows[0] ?? ({} as RowDataPacket);
  const usedKey = plan.key as string | null | undefined;
  const extra = String(plan.Extra ?? '');
  if (!usedKey || /filesort/i.test(extra)) {
    throw new SchemaError(
      `${id}: no index serves the keyset scroll on ${key.join(', ')} (EXPLAIN: key=${usedKey ?? 'NULL'}${extra ? `, ${extra}` : ''}). ` +
        `Add one: ALTER TABLE ${qt(database, table)} ADD INDEX ${q(`idx_${key.join('_')}`)} (${key.map(q).join(', ')});`,
    );
  }
}

/** The `CREATE TABLE` statement of `database.table`. */
export async function showCreateTable(pool: Pool, of: { database: string; table: string }): Promise<string> {
  const { database, table } = of;
  try {
    const [rows] = await pool.query<RowDataPacket[]>(showCreateTableSql(database, table));
    return String(rows[0]?.['Create Table']);
  } catch (err) {
    throw dbError(err, `reading the definition of ${tableId(database, table)}`);
  }
}

function sameColumns(a: readonly ColumnInfo[], b: readonly ColumnInfo[]): string | undefined {
  const byName = new Map(b.map((c) => [c.name, c]));
  for (const c of a) {
    const t = byName.get(c.name);
    if (!t) return `column ${c.name} is missing`;
    if (t.columnType.toLowerCase() !== c.columnType.toLowerCase()) return `column ${c.name} is ${t.columnType}, source has ${c.columnType}`;
    if (t.nullable !== c.nullable) return `column ${c.name} nullability differs from the source`;
  }
  for (const t of b) if (!a.some((c) => c.name === t.name)) return `column ${t.name} does not exist in the source`;
  return undefined;
}

/**
 * Creates missing target databases and tables from the source definition; refuses an existing target
 * table whose columns differ from the source's.
 */
export async function prepareTargets(args: {
  /** The target writer's pools (`TargetWriter`). */
  writer: { poolFor(db: number): Pool };
  createSql: string;
  sourceColumns: readonly ColumnInfo[];
  targets: readonly { db: number; database: string; tableName: string }[];
  concurrency: number;
}): Promise<{ created: number; existing: number }> {
  let created = 0;
  let existing = 0;
  const databases = new Map<string, number>();
  for (const t of args.targets) databases.set(t.database, t.db);
  await inParallel([...databases], args.concurrency, async ([database, db]) => {
    try {
      await args.writer.poolFor(db).query(createDatabaseSql(database));
    } catch (err) {
      throw dbError(err, `creating target database ${database}`);
    }
  });
  await inParallel(args.targets, args.concurrency, async (t) => {
    const pool = args.writer.poolFor(t.db);
    const cols = await columnsOf(pool, t.database, t.tableName);
    if (cols.length > 0) {
      const why = sameColumns(args.sourceColumns, cols);
      if (why) throw new SchemaError(`target table ${idOf(t)} exists with different columns: ${why}`);
      existing++;
      return;
    }
    try {
      await pool.query(targetDdl(args.createSql, t.database, t.tableName));
      created++;
    } catch (err) {
      throw dbError(err, `creating target table ${idOf(t)}`);
    }
  });
  return { created, existing };
}


/** Errors that say a DDL's change is already there (a column, index or key added or dropped before). */
const ALREADY_DONE = new Set(['ER_DUP_FIELDNAME', 'ER_DUP_KEYNAME', 'ER_CANT_DROP_FIELD_OR_KEY', 'ER_MULTIPLE_PRI_KEY']);

/**
 * Runs one DDL statement on a target table. `already` when the server says the change is there (a column or
 * index that exists, or is gone), so running a DDL again over the targets after a crash finishes the rest.
 */
export async function runTargetDdl(pool: Pool, target: { database: string; tableName: string }, sql: string): Promise<'done' | 'already'> {
  try {
    await pool.query(sql);
    return 'done';
  } catch (err) {
    if (ALREADY_DONE.has((err as { code?: string }).code ?? '')) return 'already';
    throw dbError(err, `running the DDL on target ${target.database}.${target.tableName} (${sql})`);
  }
}
