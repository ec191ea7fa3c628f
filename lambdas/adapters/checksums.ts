/**
 * Verification's reads and repair writes: checksums, batch edges and rows, on the source (`SourceChecks`)
 * and on the target tables (`TargetChecks`). The SQL text comes from `core/verify-sql.ts` and
 * `core/sql.ts`; mysql2 errors become typed errors (`dbError`) naming the table and what was being done.
 */
import { idOf } from '../core/table-id.js';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { ColumnKinds } from '../core/rowdiff.js';
import type { TargetName } from '../core/routing.js';
import type { Row } from '../core/model.js';
import type { ReadKind } from '../core/sql.js';
import { edgeSql, keyedCrcSql, rowsSql, sumsSql, type RangeWhere } from '../core/verify-sql.js';
import { sumsOfRow, totalOf, type Sums, type TargetSums } from '../core/verify-sums.js';
import { inParallel } from '../core/parallel.js';
import { withDbErrors } from './mysql/pool.js';
import { columnsOf, kindsOf, readKindsOf } from './mysql/schema.js';
import { rowsByKeys, type SourceTable } from './mysql/source.js';
import type { TargetWriter } from './mysql/target.js';


/** Reads of one physical source table for verification. */
class TableChecks {
  private readonly pool: Pool;
  private readonly database: string;
  private readonly table: string;

  constructor(readonly source: SourceTable) {
    this.pool = source.pool;
    this.database = source.database;
    this.table = source.tableName;
  }

  private where(doing: string): string {
    return `${doing} ${idOf(this.source)} on ${this.source.server} to verify`;
  }

  async columnKinds(): Promise<{ kinds: ColumnKinds; readKinds: Record<string, ReadKind> }> {
    const info = await withDbErrors(this.where('reading the columns of'), () => columnsOf(this.pool, this.database, this.table));
    return { kinds: kindsOf(info), readKinds: readKindsOf(info) };
  }

  /** The scroll key `rows` keys into `range` as `keyText` takes it (`scrollValue`), or undefined. */
  async edge(scrollKey: readonly string[], range: RangeWhere, rows: number): Promise<unknown> {
    const [edge] = (await withDbErrors(this.where('finding a batch of'), () =>
      this.pool.query({ sql: edgeSql({ database: this.database, table: this.table, scrollKey, where: range.where, rows }), rowsAsArray: true }, range.params),
    )) as unknown as [unknown[][]];
    const row = edge[0];
    return row && (scrollKey.length === 1 ? row[0] : row);
  }

  async totals(crc: string, range: RangeWhere): Promise<Sums> {
    const [r] = await withDbErrors(this.where('checksumming'), () =>
      this.pool.query<RowDataPacket[]>(sumsSql({ database: this.database, table: this.table, crc, where: range.where }), range.params),
    );
    const { rows, xor, sum } = sumsOfRow(r[0]);
    return { rows, xor, sum };
  }

  async keyedCrcs(columns: readonly string[], crc: string, range: RangeWhere): Promise<unknown[][]> {
    const [rows] = (await withDbErrors(this.where('checksumming the rows of'), () =>
      this.pool.query({ sql: keyedCrcSql({ database: this.database, table: this.table, columns, crc, where: range.where }), rowsAsArray: true }, range.params),
    )) as unknown as [unknown[][]];
    return rows;
  }

  async rows(columns: readonly string[], readKinds: Readonly<Record<string, string>>, range: RangeWhere, crc?: string): Promise<Row[]> {
    const [rows] = await withDbErrors(this.where('reading'), () =>
      this.pool.query<RowDataPacket[]>(rowsSql({ database: this.database, table: this.table, columns, readKinds, where: range.where, crc }), range.params),
    );
    return rows;
  }

  async rowsByKeys(columns: readonly string[], recordKey: readonly string[], keys: readonly (readonly unknown[])[], readKinds: Readonly<Record<string, string>> = {}): Promise<Row[]> {
    return withDbErrors(this.where('reading rows by key of'), () => rowsByKeys(this.pool, { database: this.database, table: this.table, columns, recordKey, keys, readKinds }));
  }
}

/** Physical source tables read at once. */
const SOURCE_CONCURRENCY = 8;

/**
 * Reads of a logical table's source for verification: its one physical table, or every physical table of a
 * sharded source together (a key range then holds the rows of all of them; sums add up across tables).
 */
export class SourceChecks {
  private readonly tables: TableChecks[];

  constructor(sources: readonly SourceTable[]) {
    if (!sources.length) throw new RangeError('no source tables to verify');
    this.tables = sources.map((s) => new TableChecks(s));
  }

  /** How many physical tables are read together. */
  get count(): number {
    return this.tables.length;
  }

  private each<R>(fn: (t: TableChecks) => Promise<R>): Promise<R[]> {
    return inParallel(this.tables, SOURCE_CONCURRENCY, fn);
  }

  /** How the table's columns compare (`kinds`) and are read and checksummed (`readKinds`): those of the first physical table (plan checked they are all alike). */
  columnKinds(): Promise<{ kinds: ColumnKinds; readKinds: Record<string, ReadKind> }> {
    return this.tables[0]!.columnKinds();
  }

  /**
   * Per physical table, the scroll key `rows` keys into `range` (the index only), or `undefined` where the
   * range holds fewer rows.
   */
  edges(scrollKey: readonly string[], range: RangeWhere, rows: number): Promise<unknown[]> {
    return this.each((t) => t.edge(scrollKey, range, rows));
  }

  /** Count, BIT_XOR and SUM of the row CRCs over `range`, in SQL (no key columns leave the server), over every physical table. */
  async totals(crc: string, range: RangeWhere): Promise<Sums> {
    const all = await this.each((t) => t.totals(crc, range));
    return totalOf(all.map((s) => ({ ...s, off: 0 })));
  }

  /** Each row over `range` as an array: its `columns`, then its CRC (`keyedCrcSql`). */
  async keyedCrcs(columns: readonly string[], crc: string, range: RangeWhere): Promise<unknown[][]> {
    return (await this.each((t) => t.keyedCrcs(columns, crc, range))).flat();
  }

  /** The rows over `range` (`rowsSql`), with `crc` each with its CRC under `CRC_COLUMN`. */
  async rows(columns: readonly string[], readKinds: Readonly<Record<string, string>>, range: RangeWhere, crc?: string): Promise<Row[]> {
    return (await this.each((t) => t.rows(columns, readKinds, range, crc))).flat();
  }

  /** The rows with these record keys (each key's values in `recordKey` order). */
  async rowsByKeys(columns: readonly string[], recordKey: readonly string[], keys: readonly (readonly unknown[])[], readKinds: Readonly<Record<string, string>> = {}): Promise<Row[]> {
    return (await this.each((t) => t.rowsByKeys(columns, recordKey, keys, readKinds))).flat();
  }
}

/** A repair of one target table: rows upserted as the source has them, or rows deleted by record key. */
export type RepairWrite =
  | { readonly upsert: readonly Row[]; readonly columns: readonly string[]; readonly recordKey: readonly string[] }
  | { readonly deleteKeys: readonly (readonly unknown[])[]; readonly recordKey: readonly string[] };

/** Reads and repair writes of the target tables for verification. */
export class TargetChecks {
  constructor(private readonly writer: TargetWriter) {}

  /**
   * One target table's count, BIT_XOR and SUM of the row CRCs over `range`, all in SQL — and with
   * `notProven` (a `builtInPlacementSql` check for this table), how many of its rows the server cannot prove
   * belong here.
   */
  async sums(t: TargetName, crc: string, range: RangeWhere, notProven?: string): Promise<TargetSums> {
    // Prepared (each target's statement runs once per batch; mysql2 keeps it per connection): the server
    // parses the long checksum expression once, not 64 times per batch.
    const [r] = await withDbErrors(`checksumming ${idOf(t)} to verify`, () =>
      this.writer
        .poolFor(t.db)
        .execute<RowDataPacket[]>(sumsSql({ database: t.database, table: t.tableName, crc, where: range.where, notProven }), range.params as Parameters<Pool['execute']>[1]),
    );
    return sumsOfRow(r[0]);
  }

  /** The rows of one target table over `range`, read as the source's are. */
  async rows(t: TargetName, columns: readonly string[], readKinds: Readonly<Record<string, string>>, range: RangeWhere): Promise<Row[]> {
    const [rows] = await withDbErrors(`reading ${idOf(t)} to verify`, () =>
      this.writer.poolFor(t.db).query<RowDataPacket[]>(rowsSql({ database: t.database, table: t.tableName, columns, readKinds, where: range.where }), range.params),
    );
    return rows;
  }

  /**
   * Writes one repair to a target table through the target writer, the copy's and apply's write path: upserts
   * (the source's row wins: no version column) or deletes by record key. Returns the rows written or keys deleted.
   */
  async repair(t: TargetName, write: RepairWrite): Promise<number> {
    if ('upsert' in write) {
      const { columns } = write;
      await this.writer.applyUpsert({ target: t, columns, recordKey: write.recordKey, rows: write.upsert.map((r) => columns.map((c) => r[c] ?? null)) });
      return write.upsert.length;
    }
    await this.writer.deleteByKeys({ target: t, recordKey: write.recordKey, keys: write.deleteKeys });
    return write.deleteKeys.length;
  }
}
