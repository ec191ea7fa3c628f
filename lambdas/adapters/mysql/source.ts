/**
 * The source side (gh-ost's inspector): every read of a source table — keyset pages, statistics, the plan's
 * sample, rows by key, its schema — goes through the `SourceReader` of its `SourceTable`.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ReshardError } from '../../core/errors.js';
import { isComposite, keyParts, scrollLabel, type KeyKind } from '../../core/segments.js';
import { pageQuery, selectByKeysSql, type RowRendering, type Window } from '../../core/sql.js';
import { rowAfterSql, rowsPerDaySql, sampleSql, tableChecksumSql } from '../../core/sql-source.js';
import { idOf, tableId } from '../../core/table-id.js';
import type { Row } from '../../core/model.js';
import { dbError, withDbErrors } from './pool.js';
import { checkScrollIndex, columnsOf, showCreateTable, type ColumnInfo } from './schema.js';

/**
 * One physical source table and the connection it is read through. A logical table spread over several
 * databases or servers has one handle per physical table.
 */
export interface SourceTable {
  /** The source server (`host:port`), for messages. */
  readonly server: string;
  readonly pool: Pool;
  readonly database: string;
  readonly tableName: string;
}

/** Binds key text as the key's values (`keyCompare`): integer columns as BigInt so MySQL never compares them as doubles. */
export function bindKey(value: string | null, kind: KeyKind): unknown[] | null {
  if (value === null) return null;
  const kinds = isComposite(kind) ? kind : [kind];
  return keyParts(value, kind).map((p, i) => (kinds[i] === 'int' ? BigInt(p) : p));
}

/** One keyset page of a source table: `(after, upTo]` of the scroll key, at most `limit` rows. */
export interface PageArgs {
  columns: readonly string[];
  scrollKey: readonly string[];
  keyKind: KeyKind;
  after: string | null;
  upTo: string | null;
  timeColumn?: string | undefined;
  window?: Window | undefined;
  limit: number;
  kinds?: Readonly<Record<string, string>> | undefined;
  /** Also read each row as the source renders it (an INSERT literal or a LOAD DATA line; bytes), as the last value of each row. */
  render?: RowRendering | undefined;
}

/** Rows per day, as `rowsPerDaySql` counts them: `all` without a time column, `null` for a NULL time. */
export interface DayCount {
  readonly day: string;
  readonly rows: number;
}

/** Reads one source table. */
export class SourceReader {
  /** `database.table`, for messages. */
  readonly id: string;

  constructor(readonly table: SourceTable) {
    this.id = idOf(table);
  }

  /**
   * One keyset page, each row an array of `columns` in order: no object per row, and the row is already the
   * list of values the copy writes.
   */
  async page(args: PageArgs): Promise<unknown[][]> {
    const { sql, params } = pageQuery({
      ...args,
      database: this.table.database,
      table: this.table.tableName,
      after: bindKey(args.after, args.keyKind),
      upTo: bindKey(args.upTo, args.keyKind),
    });
    let rows: unknown[][];
    try {
      [rows] = (await this.table.pool.query<RowDataPacket[][]>({ sql, rowsAsArray: true }, params)) as unknown as [unknown[][]];
    } catch (err) {
      throw dbError(err, `reading ${this.id} after ${args.scrollKey.join(', ')}=${args.after ?? '(start)'}`);
    }
    if (args.render) {
      const at = args.columns.length;
      for (const r of rows) {
        if (!Buffer.isBuffer(r[at])) {
          throw new ReshardError(
            `${this.id} row ${scrollLabel(args.scrollKey, (c) => r[args.columns.indexOf(c)])}: the source did not render it as one ${args.render.as === 'line' ? 'LOAD DATA line' : 'SQL literal'} ` +
              `(it is larger than the source's max_allowed_packet as text). Raise max_allowed_packet on source and targets, or set copy.rowLiterals to false.`,
          );
        }
      }
    }
    return rows;
  }

  /** The table's average row length as the server estimates it (`information_schema`), undefined when it has none. */
  async avgRowBytes(): Promise<number | undefined> {
    const [rows] = await withDbErrors(`reading the average row length of ${this.id}`, () =>
      this.table.pool.query<RowDataPacket[]>('SELECT AVG_ROW_LENGTH AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [this.table.database, this.table.tableName]),
    );
    const n = Number(rows[0]?.n);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  }

  /** Rows per day of `timeColumn` within `window` (one bucket `all` without a time column). */
  rowsPerDay(opts: { timeColumn?: string | undefined; window?: Window | undefined } = {}): Promise<DayCount[]> {
    return rowsPerDay(this.table.pool, { database: this.table.database, table: this.table.tableName, ...opts });
  }

  /** See `sampleKeys`. */
  sample(opts: { scrollKey: readonly string[]; shardKeys: readonly string[]; step: number }): Promise<{ rows: Row[]; min: unknown; max: unknown }> {
    return sampleKeys(this.table.pool, { database: this.table.database, table: this.table.tableName, ...opts });
  }

  /** Whether a row lies beyond `after` on the scroll key (within the window). */
  async hasRowAfter(opts: { scrollKey: readonly string[]; after: string; keyKind: KeyKind; timeColumn?: string | undefined; window?: Window | undefined }): Promise<boolean> {
    const { sql, params } = rowAfterSql({ ...opts, database: this.table.database, table: this.table.tableName, after: bindKey(opts.after, opts.keyKind)! });
    const [rows] = await this.table.pool.query<RowDataPacket[]>(sql, params);
    return rows.length > 0;
  }

  /** The rows (`columns`) of these record keys that exist now, in no particular order (`rowsByKeys`). */
  rowsByKeys(opts: {
    columns: readonly string[];
    recordKey: readonly string[];
    keys: readonly (readonly unknown[])[];
    readKinds?: Readonly<Record<string, string>> | undefined;
    chunk?: number;
  }): Promise<Row[]> {
    return rowsByKeys(this.table.pool, { database: this.table.database, table: this.table.tableName, ...opts });
  }

  columns(): Promise<ColumnInfo[]> {
    return columnsOf(this.table.pool, this.table.database, this.table.tableName);
  }

  /** The table's `CREATE TABLE` statement. */
  createTableSql(): Promise<string> {
    return showCreateTable(this.table.pool, { database: this.table.database, table: this.table.tableName });
  }

  /** Throws a `SchemaError` naming the index to add when no index serves a keyset scroll on `key`. */
  checkScrollIndex(key: readonly string[]): Promise<void> {
    return checkScrollIndex(this.table.pool, { database: this.table.database, table: this.table.tableName, key });
  }
}

/** Rows per day of the time column within the window (or one bucket `all` without a time column), on any server. */
export async function rowsPerDay(
  pool: Pool,
  opts: { database: string; table: string; timeColumn?: string | undefined; window?: Window | undefined },
): Promise<DayCount[]> {
  const { sql, params } = rowsPerDaySql(opts);
  const [rows] = await withDbErrors(`counting the rows per day of ${tableId(opts.database, opts.table)}`, () => pool.query<RowDataPacket[]>(sql, params));
  if (!opts.timeColumn) return [{ day: 'all', rows: Number(rows[0]?.n ?? 0) }];
  return rows.map((r) => ({ day: r.day === null ? 'null' : String(r.day), rows: Number(r.n) }));
}

/**
 * One sample of about 1/`step` of the rows (scroll key + shard keys), picked by a hash of the scroll key so
 * that periodic shard keys (sequential order numbers) do not alias with the sampling period, and returned
 * in the scroll key's order as the server sorts it (its collation), with the table's exact MIN and MAX key:
 * plan cuts segments at its quantiles — a hash sample is spread over the rows evenly, so they fall at row
 * quantiles (within ~1/√n of the rows; ±0.7% with 20,000 keys) — and routes the same rows for the skew preview.
 * One scan, and only the sample leaves the server. (Streaming every key to take every `step`-th was exact
 * but sent the whole index to Node: ~0.5 s of both processes per million rows. A window function numbering
 * every row took ~10× longer.)
 */
export async function sampleKeys(
  pool: Pool,
  opts: { database: string; table: string; scrollKey: readonly string[]; shardKeys: readonly string[]; step: number },
): Promise<{ rows: Row[]; min: unknown; max: unknown }> {
  const k = Math.max(1, Math.trunc(opts.step));
  const sql = sampleSql(opts);
  const [[sample], [ends]] = await withDbErrors(`sampling the keys of ${tableId(opts.database, opts.table)}`, () =>
    Promise.all([pool.query<RowDataPacket[]>(sql.sample, [k]), pool.query<RowDataPacket[]>({ sql: sql.ends, rowsAsArray: true })]),
  );
  // One key column: one row (MIN, MAX). A composite key: the least key's row, then the greatest's (`scrollValue`).
  const found = ends as unknown as unknown[][];
  const [lo, hi] = opts.scrollKey.length === 1 ? (found[0] ?? []) : found;
  return { rows: sample, min: lo ?? null, max: hi ?? null };
}

/** Reads rows by record key, `chunk` keys per statement (@default 500), on any server. */
export async function rowsByKeys(
  pool: Pool,
  opts: {
    database: string;
    table: string;
    columns: readonly string[];
    recordKey: readonly string[];
    keys: readonly (readonly unknown[])[];
    readKinds?: Readonly<Record<string, string>> | undefined;
    chunk?: number;
  },
): Promise<Row[]> {
  const out: Row[] = [];
  const size = opts.chunk ?? 500;
  for (let i = 0; i < opts.keys.length; i += size) {
    const part = opts.keys.slice(i, i + size);
    const [rows] = await withDbErrors(`reading ${part.length} row(s) by key from ${tableId(opts.database, opts.table)}`, () =>
      pool.query<RowDataPacket[]>(selectByKeysSql({ database: opts.database, table: opts.table, columns: opts.columns, recordKey: opts.recordKey, count: part.length, kinds: opts.readKinds }), part.flat()),
    );
    out.push(...(rows as Row[]));
  }
  return out;
}

/** Count and checksum (BIT_XOR and SUM of a per-row CRC32) of a table, optionally filtered (`where` with bound `params`). */
export async function tableChecksum(
  pool: Pool,
  opts: { database: string; table: string; columns: readonly string[]; where?: string; params?: unknown[]; readKinds?: Readonly<Record<string, string>> },
): Promise<{ rows: number; xor: string; sum: string }> {
  const [r] = await withDbErrors(`checksumming ${tableId(opts.database, opts.table)}`, () => pool.query<RowDataPacket[]>(tableChecksumSql(opts), opts.params ?? []));
  return { rows: Number(r[0]?.n ?? 0), xor: String(r[0]?.x ?? 0), sum: String(r[0]?.s ?? 0) };
}
