/**
 * The target side (gh-ost's applier): every write to the target tables — the copy's guarded writes, CDC
 * apply's upserts and deletes, verification's repairs — goes through one `TargetWriter`, and every failure
 * through one error mapping (`dbError`).
 */
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import { ConfigError } from '../../core/errors.js';
import { applyUpsertTail, copyInsertSql, copyUpsertSql, copyUpsertTail, deleteByKeysSql, insertHead, loadLinesSql, type CopyUpsertArgs, type Window } from '../../core/sql.js';
import { loadValuesSql } from '../../core/sql-target.js';
import { idOf, tableId } from '../../core/table-id.js';
import { LOADABLE_TYPES, LoadRefusedError, loadDataFile, loadInTransaction, upsertLines } from './load-data.js';
import type { Row } from '../../core/model.js';
import { dbError, withDbErrors } from './pool.js';
import { valuesStatement } from './values.js';
import { columnsOf } from './schema.js';
import { rowsByKeys, rowsPerDay, type DayCount } from './source.js';

export interface WriteStats {
  inserted: number;
  updated: number;
  skipped: number;
}

/**
 * What a multi-row `INSERT … ON DUPLICATE KEY UPDATE` did, from its OK packet (found rows off): every
 * inserted row counts 1 and every changed row 2 in `affectedRows`, and `info` ("Records: N  Duplicates: D
 * Warnings: W"; empty for a single row) counts as duplicates only the rows it changed — a row that met an
 * existing key and was left as it was counts in neither (checked on MariaDB 10.11). Unchanged rows are `skipped`.
 */
export function upsertStats(header: Pick<ResultSetHeader, 'affectedRows' | 'info'>, rows: number): WriteStats {
  const m = /Duplicates:\s*(\d+)/.exec(header.info ?? '');
  const updated = m ? Number(m[1]) : rows === 1 && header.affectedRows === 2 ? 1 : 0;
  const inserted = m || rows === 1 ? Math.max(0, header.affectedRows - 2 * updated) : Math.min(rows, header.affectedRows);
  return { inserted, updated, skipped: Math.max(0, rows - inserted - updated) };
}

export type WriteMethod = 'auto' | 'insert' | 'load';

/**
 * The rows of a copy write, in one of three forms:
 * - `values`: each an array of the write's `columns` in order (as `SourceReader.page` reads them);
 * - `literals`: each one SQL literal `(v1, …)` of `columns`: utf8mb4 bytes, as the source rendered them (`rowRenderExpr`);
 * - `lines`: each one LOAD DATA line of `columns` (`rowRenderExpr`): needs LOAD DATA LOCAL (`loadsLines`).
 */
export type RowPayload =
  | { readonly kind: 'values'; readonly values: readonly (readonly unknown[])[] }
  | { readonly kind: 'literals'; readonly literals: readonly Buffer[] }
  | { readonly kind: 'lines'; readonly lines: readonly Buffer[] };

/** One copy write: the target table, its columns and the guard's keys (`CopyUpsertArgs`), and the rows. */
export interface CopyWriteArgs extends CopyUpsertArgs {
  /** Target database index (which connection). */
  db: number;
  rows: RowPayload;
}

/** A target table as the router names it. */
export interface TargetTable {
  readonly db: number;
  readonly database: string;
  readonly tableName: string;
}

/** A plain INSERT that met an existing key (1062; 1586 names the key). */
const DUPLICATE_KEY = new Set(['ER_DUP_ENTRY', 'ER_DUP_ENTRY_WITH_KEY_NAME']);
/** Statements of a table written guarded after a plain INSERT met an existing key. */
const GUARDED_AFTER_DUPLICATE = 16;

const COMMA = Buffer.from(',');

/** `head` + the literals separated by commas + `tail`, as one utf8 Buffer. */
export function statementBytes(head: string, literals: readonly Buffer[], tail = ''): Buffer {
  const parts = new Array<Buffer>(2 * literals.length + 1);
  parts[0] = Buffer.from(head, 'utf8');
  let n = 1;
  for (let i = 0; i < literals.length; i++) {
    if (i > 0) parts[n++] = COMMA;
    parts[n++] = literals[i]!;
  }
  if (tail) parts[n++] = Buffer.from(tail, 'utf8');
  parts.length = n;
  return Buffer.concat(parts);
}

const rowCount = (rows: RowPayload): number => (rows.kind === 'values' ? rows.values.length : rows.kind === 'literals' ? rows.literals.length : rows.lines.length);

/** The target side: one pool per distinct target connection. */
export class TargetWriter {
  /** Whether LOAD DATA LOCAL is used for fresh rows (`auto` turns it off after the server refuses it). */
  private load: boolean;
  /** Per target table: whether all its columns can be loaded (`LOADABLE_TYPES`), looked up once. */
  private readonly loadable = new Map<string, Promise<boolean>>();
  private readonly method: WriteMethod;

  /**
   * @param pools one pool per target database index (entries may share a pool)
   * @param method how fresh rows go in @default 'insert'
   */
  constructor(
    private readonly pools: readonly Pool[],
    method: WriteMethod = 'insert',
  ) {
    this.load = method !== 'insert';
    this.method = method;
  }

  poolFor(db: number): Pool {
    const p = this.pools[db] ?? this.pools[0];
    if (!p) throw new ConfigError('no target connection configured');
    return p;
  }

  private canLoad(pool: Pool, database: string, table: string, columns: readonly string[]): Promise<boolean> {
    const id = tableId(database, table);
    let known = this.loadable.get(id);
    if (!known) {
      known = columnsOf(pool, database, table).then((infos) => {
        const types = new Map(infos.map((c) => [c.name, c.dataType.toLowerCase()]));
        return columns.every((c) => LOADABLE_TYPES.has(types.get(c) ?? ''));
      });
      known.catch(() => this.loadable.delete(id));
      this.loadable.set(id, known);
    }
    return known;
  }

  /**
   * LOAD DATA LOCAL of fresh rows, in a transaction: with LOCAL the server cannot stop the file half way, so
   * it behaves as with IGNORE — a row whose key exists is skipped and a value that does not fit is clamped,
   * each only a warning. Any skipped row or warning rolls the load back (`false`: the caller writes the rows
   * with the guarded upsert, which decides row by row and fails loudly on a bad value).
   */
  private async loadFresh(pool: Pool, args: CopyUpsertArgs, values: readonly (readonly unknown[])[]): Promise<boolean> {
    const id = tableId(args.database, args.table);
    const out = await loadInTransaction(pool, { id, sql: loadValuesSql(args.database, args.table, args.columns), file: loadDataFile(values), rows: values.length });
    if (out === 'refused') {
      const err = this.refused(id);
      if (this.load) throw err;
      return false; // auto: the plain INSERT is worth trying
    }
    return out === 'clean';
  }

  /** The server refused LOAD DATA LOCAL: `auto` stops loading for good; the error says so, or (`load`) what to change. */
  private refused(id: string): LoadRefusedError {
    if (this.method === 'auto') this.load = false;
    return new LoadRefusedError(`${id}: the server refuses LOAD DATA LOCAL (local_infile)${this.method === 'auto' ? '' : '; use copy.writeMethod auto or insert'}`);
  }

  /**
   * Per target table: statements left to write with the guarded upsert straight away, after a plain INSERT
   * met a row already there (a resumed page, a rerun segment, rows CDC wrote first): it will meet more.
   */
  private readonly guardedFor = new Map<string, number>();

  /**
   * The copy's write of rows into one target table, never overwriting a row that is there (or, with a
   * version column, only with a strictly newer one). Fast paths for fresh rows: LOAD DATA LOCAL
   * (`load`/`auto`, tables of `LOADABLE_TYPES`), kept only if every row went in as a fresh row with no
   * warning (`loadFresh`); else a plain multi-row INSERT, which fails whole on a key already there. Then, or
   * when the table met such rows in its last statements, the multi-row guarded upsert (`copyUpsertSql`)
   * decides row by row. Rows given as literals skip LOAD DATA (it needs values).
   */
  async upsert(args: CopyWriteArgs): Promise<WriteStats> {
    const { rows } = args;
    const n = rowCount(rows);
    if (n === 0) return { inserted: 0, updated: 0, skipped: 0 };
    const pool = this.poolFor(args.db);
    if (rows.kind === 'lines') return this.writeLines(pool, args, rows.lines);
    const values = rows.kind === 'values' ? rows.values : undefined;
    const literals = rows.kind === 'literals' ? rows.literals : undefined;
    // A load that was not clean met existing rows (or bad values): straight to the guarded upsert.
    let loadFailed = false;
    if (values && this.load && (await this.canLoad(pool, args.database, args.table, args.columns))) {
      if (await this.loadFresh(pool, args, values)) return { inserted: n, updated: 0, skipped: 0 };
      loadFailed = this.load; // (false when the server refused LOAD DATA: the plain INSERT is worth trying)
    }
    const id = tableId(args.database, args.table);
    // Bound rows are formatted by mysql2; literal rows are copied between the statement's head and tail,
    // and the statement is sent as bytes (the connection's charset is utf8mb4, as the literals are; mysql2
    // takes a Buffer as the SQL text through patches/mysql2+*.patch).
    const run = (sql: string, tail = '') =>
      literals ? pool.query<ResultSetHeader>({ sql: statementBytes(sql, literals, tail) as unknown as string }) : pool.query<ResultSetHeader>(sql + tail, [values]);
    try {
      if (!loadFailed && !this.stillGuarded(id)) {
        try {
          const [header] = await run(literals ? insertHead(args) : copyInsertSql(args));
          return { inserted: header.affectedRows, updated: 0, skipped: 0 };
        } catch (err) {
          if (!DUPLICATE_KEY.has((err as { code?: string }).code ?? '')) throw err;
          this.guardedFor.set(id, GUARDED_AFTER_DUPLICATE);
        }
      }
      const [header] = await run(literals ? insertHead(args) : copyUpsertSql(args), literals ? copyUpsertTail(args) : '');
      return upsertStats(header, n);
    } catch (err) {
      throw dbError(err, `writing ${n} rows into ${id}`);
    }
  }

  /**
   * Whether pages should be read as LOAD DATA lines for this writer: `load`/`auto` until a server refused
   * LOAD DATA LOCAL (then `upsert` of lines throws `LoadRefusedError`, and the page is read again as literals).
   */
  get loadsLines(): boolean {
    return this.load;
  }

  /** LOAD DATA lines: a clean load of fresh rows, else (or after one that was not, `GUARDED_AFTER_DUPLICATE`) `upsertLines`. */
  private async writeLines(pool: Pool, args: CopyUpsertArgs, lines: readonly Buffer[]): Promise<WriteStats> {
    const file = Buffer.concat(lines);
    const id = tableId(args.database, args.table);
    if (!this.stillGuarded(id)) {
      const out = await loadInTransaction(pool, { id, sql: loadLinesSql(args.database, args.table, args.columns), file, rows: lines.length });
      if (out === 'clean') return { inserted: lines.length, updated: 0, skipped: 0 };
      if (out === 'refused') throw this.refused(id);
      this.guardedFor.set(id, GUARDED_AFTER_DUPLICATE);
    }
    return upsertStats(await upsertLines(pool, args, { file, rows: lines.length }), lines.length);
  }

  /** Whether this statement of table `id` goes guarded straight away (and counts it). */
  private stillGuarded(id: string): boolean {
    const left = this.guardedFor.get(id) ?? 0;
    if (left > 0) this.guardedFor.set(id, left - 1);
    return left > 0;
  }

  /**
   * CDC apply's (and repair's) multi-row upsert of full row images (`applyUpsertSql`): the image wins, except
   * over a target row with a strictly newer version. `rows` are arrays of `columns` in order. Rows of strings,
   * numbers and NULLs are written straight into the statement's bytes (`valuesStatement`), others by mysql2.
   */
  async applyUpsert(args: {
    target: TargetTable;
    columns: readonly string[];
    recordKey: readonly string[];
    versionColumn?: string | undefined;
    rows: readonly (readonly unknown[])[];
  }): Promise<WriteStats> {
    if (args.rows.length === 0) return { inserted: 0, updated: 0, skipped: 0 };
    const { target } = args;
    const sql = { database: target.database, table: target.tableName, columns: args.columns, recordKey: args.recordKey, versionColumn: args.versionColumn };
    const head = insertHead(sql);
    const tail = applyUpsertTail(sql);
    const bytes = valuesStatement(head, args.rows, tail);
    const pool = this.poolFor(target.db);
    const [header] = await withDbErrors(`writing ${args.rows.length} row(s) into ${idOf(target)}`, () =>
      bytes ? pool.query<ResultSetHeader>({ sql: bytes as unknown as string }) : pool.query<ResultSetHeader>(`${head}?${tail}`, [args.rows]),
    );
    return upsertStats(header, args.rows.length);
  }

  /** Deletes the rows of these record keys (`recordKey` order); returns how many were there. */
  async deleteByKeys(args: { target: TargetTable; recordKey: readonly string[]; keys: readonly (readonly unknown[])[] }): Promise<number> {
    if (args.keys.length === 0) return 0;
    const { target } = args;
    const sql = deleteByKeysSql({ database: target.database, table: target.tableName, recordKey: args.recordKey, count: args.keys.length });
    const [header] = await withDbErrors(`deleting ${args.keys.length} row(s) from ${idOf(target)}`, () => this.poolFor(target.db).query<ResultSetHeader>(sql, args.keys.flat()));
    return header.affectedRows;
  }

  /** The rows (`columns`) of these record keys that exist now in a target table, in no particular order. */
  readRows(args: { target: TargetTable; columns: readonly string[]; recordKey: readonly string[]; keys: readonly (readonly unknown[])[]; readKinds?: Readonly<Record<string, string>> }): Promise<Row[]> {
    const { target, ...rest } = args;
    return rowsByKeys(this.poolFor(target.db), { database: target.database, table: target.tableName, ...rest });
  }

  /** Rows per day of a target table, counted as the source's (`SourceReader.rowsPerDay`). */
  rowsPerDay(target: TargetTable, opts: { timeColumn?: string | undefined; window?: Window | undefined } = {}): Promise<DayCount[]> {
    return rowsPerDay(this.poolFor(target.db), { database: target.database, table: target.tableName, ...opts });
  }
}
