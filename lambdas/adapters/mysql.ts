/**
 * MySQL adapter: pools, the keyset source reader, the batched target writer, schema inspection and
 * target preparation. mysql2 errors are converted into our typed errors at this boundary.
 */
import mysql, { type Pool, type PoolConnection, type PoolOptions, type QueryOptions, type RowDataPacket, type ResultSetHeader } from 'mysql2/promise';
import { Readable } from 'node:stream';
import type { ConnectionConfig } from '../core/config.js';
import { ConfigError, ReshardError, SchemaError, TransientError } from '../core/errors.js';
import { kindOfType, type ColumnKinds } from '../core/rowdiff.js';
import { copyInsertSql, copyUpsertSql, copyUpsertTail, insertHead, loadLinesSql, pageQuery, q, qt, rowCrcExpr, windowPredicates, type LiteralKind, type ReadKind, type RowRendering, type Window } from '../core/sql.js';
import type { KeyKind } from '../core/segments.js';

export type Row = Record<string, unknown>;

/** mysql2 error codes worth retrying. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'POOL_CLOSED',
]);

/** Converts a mysql2 error into a typed one, naming where it happened. */
export function dbError(err: unknown, where: string): Error {
  if (err instanceof ReshardError) return err;
  const e = err as { code?: string; message?: string; sqlMessage?: string };
  const text = `${where}: ${e.code ? `${e.code} ` : ''}${e.sqlMessage ?? e.message ?? String(err)}`;
  if (e.code && TRANSIENT.has(e.code)) return new TransientError(text, { cause: err });
  if (e.code === 'ER_ACCESS_DENIED_ERROR' || e.code === 'ENOTFOUND' || e.code === 'ER_BAD_DB_ERROR') return new ConfigError(text);
  if (e.code === 'ER_NO_SUCH_TABLE' || e.code === 'ER_BAD_FIELD_ERROR') return new SchemaError(text);
  return new ReshardError(text, { cause: err });
}

/** A connection's password: from its environment variable when `passwordEnv` is set. */
export function passwordOf(c: ConnectionConfig): string | undefined {
  return c.passwordEnv ? process.env[c.passwordEnv] : c.password;
}

export function poolOptions(c: ConnectionConfig, database?: string): PoolOptions {
  const password = passwordOf(c);
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: password ?? '',
    ...(database ? { database } : {}),
    connectionLimit: c.poolSize,
    connectTimeout: c.connectTimeoutMs,
    waitForConnections: true,
    charset: 'utf8mb4_general_ci',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    multipleStatements: false,
    enableKeepAlive: true,
    // JSON, dates and big numbers as text: exact, and written back unchanged.
    jsonStrings: true,
    // Without FOUND_ROWS, an upsert that changes nothing counts 0: we can tell inserted / updated / skipped.
    flags: ['-FOUND_ROWS'],
    queryFormat: formatQuery,
  };
}

/**
 * mysql2's formatting, except that a statement without values is sent as it is: mysql2 would still scan it
 * for `?` (and copy it) although there is nothing to put in. (With no values mysql2 leaves any `?` as it is
 * too: the text sent is the same.) A statement given as bytes (`statementBytes`) is never formatted.
 */
function formatQuery(this: { config: { stringifyObjects?: boolean; timezone?: string } }, sql: string, values: unknown): string {
  if (values === undefined || (Array.isArray(values) && values.length === 0)) return sql;
  return mysql.format(sql, values as Parameters<typeof mysql.format>[1], this.config.stringifyObjects ?? false, this.config.timezone);
}

/**
 * Session settings of every connection: UTC, so TIMESTAMP values move between servers unchanged; and
 * backslashes as escapes in string literals (NO_BACKSLASH_ESCAPES taken out of a server's default
 * sql_mode), as the statements' literals are written — by mysql2 and by the source's QUOTE() alike.
 */
export const SESSION_SETUP =
  "SET time_zone = '+00:00', sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))";

/** A pool whose sessions are set up with `SESSION_SETUP`. */
export function createPool(c: ConnectionConfig, database?: string): Pool {
  const pool = mysql.createPool(poolOptions(c, database));
  pool.pool.on('connection', (conn) => {
    conn.query(SESSION_SETUP);
  });
  return pool;
}

export async function ping(pool: Pool, where: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw dbError(err, `cannot reach ${where}`);
  }
}

export interface ColumnInfo {
  readonly name: string;
  readonly dataType: string;
  readonly columnType: string;
  readonly nullable: boolean;
}

export async function columnsOf(pool: Pool, database: string, table: string): Promise<ColumnInfo[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
  return rows.map((r) => ({ name: String(r.name), dataType: String(r.dataType), columnType: String(r.columnType), nullable: r.nullable === 'YES' }));
}

/** Types whose text never contains the checksum's separator `|` and never reads `n`: numbers, dates, times, addresses. */
const PLAIN_TYPES = new Set([
  'tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'double', 'real', 'bool', 'boolean',
  'date', 'datetime', 'timestamp', 'time', 'year', 'inet4', 'inet6', 'uuid',
]);
/** Other types bounded by the 64 KB row size, whose text may hold any byte (strings, BIT, ENUM/SET labels). */
const SHORT_TYPES = new Set(['bit', 'char', 'varchar', 'binary', 'varbinary', 'enum', 'set']);

/**
 * How columns are read and checksummed (`selectList`, `rowCrcExpr`): FLOAT (single precision) through
 * DOUBLE so every stored digit round-trips ('float-single'); numbers, dates and times as they are ('plain':
 * their text can hold neither the separator nor the NULL marker); other bounded types as they are, length-
 * prefixed in the checksum ('short'); other columns (TEXT, BLOB, JSON, …) are absent: read as they are,
 * checksummed by their own CRC32.
 */
export function readKindsOf(columns: readonly ColumnInfo[]): Record<string, ReadKind> {
  const out: Record<string, ReadKind> = {};
  for (const c of columns) {
    const t = c.dataType.toLowerCase();
    if (t === 'float') out[c.name] = 'float-single';
    else if (PLAIN_TYPES.has(t)) out[c.name] = 'plain';
    else if (SHORT_TYPES.has(t)) out[c.name] = 'short';
  }
  return out;
}

/** Column types the source renders exactly as SQL literals (`rowRenderExpr`), by literal kind. */
const LITERAL_KINDS: Readonly<Record<string, LiteralKind>> = {
  ...Object.fromEntries(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real'].map((t) => [t, 'number'])),
  bit: 'bit',
  // Spatial values as their stored bytes (SRID + WKB), which the server takes back as they are.
  ...Object.fromEntries(
    ['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection'].map(
      (t) => [t, 'binary'],
    ),
  ),
  ...Object.fromEntries(
    ['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'json', 'enum', 'set', 'date', 'datetime', 'timestamp', 'time', 'year'].map((t) => [t, 'text']),
  ),
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
    out[c.name] = kind;
  }
  return out;
}

export function kindsOf(columns: readonly ColumnInfo[]): ColumnKinds {
  return Object.fromEntries(columns.map((c) => [c.name, kindOfType(c.dataType)]));
}

export function keyKindOf(columns: readonly ColumnInfo[], scrollKey: string): KeyKind {
  const col = columns.find((c) => c.name === scrollKey);
  return col && kindOfType(col.dataType) === 'int' ? 'int' : 'string';
}

/** Binds a cursor: integer keys as BigInt so MySQL never compares them as doubles. */
export function bindKey(value: string | null, kind: KeyKind): unknown {
  if (value === null) return null;
  return kind === 'int' ? BigInt(value) : value;
}

/** The source side: reads keyset pages. */
export class SourceReader {
  constructor(
    private readonly pool: Pool,
    private readonly database: string,
  ) {}

  /**
   * One keyset page, each row an array of `columns` in order: no object per row, and the row is already the
   * list of values the copy writes.
   */
  async page(args: PageArgs): Promise<unknown[][]> {
    const { sql, params } = pageQuery({
      ...args,
      database: this.database,
      after: bindKey(args.after, args.keyKind),
      upTo: bindKey(args.upTo, args.keyKind),
    });
    let rows: unknown[][];
    try {
      [rows] = (await this.pool.query<RowDataPacket[][]>({ sql, rowsAsArray: true }, params)) as unknown as [unknown[][]];
    } catch (err) {
      throw dbError(err, `reading ${this.database}.${args.table} after ${args.scrollKey}=${args.after ?? '(start)'}`);
    }
    if (args.render) {
      const at = args.columns.length;
      const key = args.columns.indexOf(args.scrollKey);
      for (const r of rows) {
        if (!Buffer.isBuffer(r[at])) {
          throw new ReshardError(
            `${this.database}.${args.table} row ${args.scrollKey}=${String(r[key])}: the source did not render it as one ${args.render.as === 'line' ? 'LOAD DATA line' : 'SQL literal'} ` +
              `(it is larger than the source's max_allowed_packet as text). Raise max_allowed_packet on source and targets, or set copy.rowLiterals to false.`,
          );
        }
      }
    }
    return rows;
  }
}

/** One keyset page of a source table: `(after, upTo]` of the scroll key, at most `limit` rows. */
export interface PageArgs {
  table: string;
  columns: readonly string[];
  scrollKey: string;
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

/** Server answers meaning LOAD DATA LOCAL is not available (MySQL 8 has `local_infile` OFF by default)… */
const LOAD_REFUSED = new Set(['ER_NOT_ALLOWED_COMMAND', 'ER_CLIENT_LOCAL_FILES_DISABLED', 'ER_LOAD_INFILE_CAPABILITY_DISABLED', 'ER_OPTION_PREVENTS_STATEMENT']);
/** …and by number: MariaDB's 4166 (local infile capability disabled) has no name in mysql2. */
const LOAD_REFUSED_ERRNO = new Set([1148, 3948, 4166]);

const LOAD_SPECIAL = /[\\\t\n\0]/;
const LOAD_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\0': '\\0' };
const loadText = (t: string) => (LOAD_SPECIAL.test(t) ? t.replace(/[\\\t\n\0]/g, (c) => LOAD_ESCAPES[c]!) : t);

/** Escapes the bytes LOAD DATA's defaults treat specially (`\\`, tab, newline, NUL) in a binary value. */
function loadBytes(v: Buffer): Buffer {
  if (!v.some((b) => b === 0x5c || b === 0x09 || b === 0x0a || b === 0x00)) return v;
  const out: number[] = [];
  for (const b of v) {
    if (b === 0x5c) out.push(0x5c, 0x5c);
    else if (b === 0x09) out.push(0x5c, 0x74);
    else if (b === 0x0a) out.push(0x5c, 0x6e);
    else if (b === 0x00) out.push(0x5c, 0x30);
    else out.push(b);
  }
  return Buffer.from(out);
}

/**
 * The rows as a LOAD DATA file: fields separated by tabs, rows by newlines, `\N` for NULL, `\\`-escapes;
 * text as UTF-8 (the statement says `CHARACTER SET utf8mb4`, and the server converts it to each column's
 * charset), binary values as their raw bytes. Built as one string, and one Buffer, per run of text.
 */
export function loadDataFile(rows: readonly (readonly unknown[])[]): Buffer {
  const parts: Buffer[] = [];
  let text = '';
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      if (i > 0) text += '\t';
      const v = r[i];
      if (v === null || v === undefined) text += '\\N';
      else if (Buffer.isBuffer(v)) {
        parts.push(Buffer.from(text, 'utf8'), loadBytes(v));
        text = '';
      } else text += loadText(typeof v === 'string' ? v : String(v));
    }
    text += '\n';
  }
  if (parts.length === 0) return Buffer.from(text, 'utf8');
  parts.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(parts);
}

/**
 * Column types LOAD DATA reads back exactly from their text (or, for binary ones, raw bytes). Others — BIT
 * (raw bytes are not its text form), spatial types, addresses, anything unknown — go through INSERT.
 */
const LOADABLE_TYPES = new Set([
  'tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real',
  'date', 'datetime', 'timestamp', 'time', 'year',
  'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'json', 'enum', 'set',
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob',
]);

/** What a LOAD DATA's OK packet says ("Records: 3  Deleted: 0  Skipped: 1  Warnings: 1"). */
export function loadOutcome(info: string | undefined): { records: number; skipped: number; warnings: number } {
  const n = (name: string) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(info ?? '')?.[1] ?? NaN);
  return { records: n('Records'), skipped: n('Skipped'), warnings: n('Warnings') };
}

/** The target side: one pool per distinct target connection. */
export class TargetWriter {
  /** Whether LOAD DATA LOCAL is used for fresh rows (`auto` turns it off after the server refuses it). */
  private load: boolean;
  /** Per target table: whether all its columns can be loaded (`LOADABLE_TYPES`), looked up once. */
  private readonly loadable = new Map<string, Promise<boolean>>();

  constructor(
    private readonly pools: readonly Pool[],
    method: WriteMethod = 'insert',
  ) {
    this.load = method !== 'insert';
    this.method = method;
  }

  private readonly method: WriteMethod;

  poolFor(db: number): Pool {
    const p = this.pools[db] ?? this.pools[0];
    if (!p) throw new ConfigError('no target connection configured');
    return p;
  }

  private canLoad(pool: Pool, database: string, table: string, columns: readonly string[]): Promise<boolean> {
    const id = `${database}.${table}`;
    let known = this.loadable.get(id);
    if (!known) {
      known = pool
        .query<RowDataPacket[]>(`SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, [database, table])
        .then(([rows]) => {
          const types = new Map(rows.map((r) => [String(r.name), String(r.type).toLowerCase()]));
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
  private async loadFresh(pool: Pool, args: { database: string; table: string; columns: readonly string[]; values: readonly (readonly unknown[])[] }): Promise<boolean> {
    const sql = `LOAD DATA LOCAL INFILE 'reshard-page.tsv' INTO TABLE ${qt(args.database, args.table)} CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${args.columns.map(q).join(', ')})`;
    const out = await this.loadInTransaction(pool, args, sql, loadDataFile(args.values), args.values.length);
    if (out === 'refused') {
      const err = this.refused(`${args.database}.${args.table}`);
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

  /** Runs `fn` on one connection of `pool` (a failure to connect named by `what`), released after. */
  private async onConnection<T>(pool: Pool, what: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    let conn: PoolConnection;
    try {
      conn = await pool.getConnection();
    } catch (err) {
      throw dbError(err, `connecting to ${what}`);
    }
    try {
      return await fn(conn);
    } finally {
      conn.release();
    }
  }

  /**
   * LOAD DATA LOCAL of `file` (`rows` rows) in a transaction, committed only if every row went in fresh with
   * no warning ('clean'); else rolled back ('rolledBack'). 'refused': the server does not take LOAD DATA LOCAL.
   */
  private loadInTransaction(pool: Pool, args: { database: string; table: string }, sql: string, file: Buffer, rows: number): Promise<'clean' | 'rolledBack' | 'refused'> {
    return this.onConnection(pool, `load ${args.database}.${args.table}`, async (conn) => {
      let open = false;
      try {
        await conn.query('START TRANSACTION');
        open = true;
        const [header] = await conn.query<ResultSetHeader>({ sql, infileStreamFactory: () => Readable.from([file]) } as QueryOptions);
        const out = loadOutcome(header.info);
        const clean = out.records === rows && out.skipped === 0 && out.warnings === 0 && header.affectedRows === rows;
        await conn.query(clean ? 'COMMIT' : 'ROLLBACK');
        open = false;
        return clean ? 'clean' : 'rolledBack';
      } catch (err) {
        if (open) await conn.query('ROLLBACK').catch(() => undefined);
        const { code, errno } = err as { code?: string; errno?: number };
        if ((code && LOAD_REFUSED.has(code)) || (errno !== undefined && LOAD_REFUSED_ERRNO.has(errno))) return 'refused';
        throw dbError(err, `loading ${rows} rows into ${args.database}.${args.table}`);
      }
    });
  }

  /**
   * The guarded upsert of LOAD DATA lines: loaded into a temporary copy of the target table (on one
   * session; nothing else sees it), then `INSERT … SELECT … ON DUPLICATE KEY UPDATE` with the copy's guard
   * into the target. A warning while loading (a value that did not fit) fails the write, naming it.
   */
  private upsertLines(pool: Pool, args: CopyWrite, file: Buffer, rows: number): Promise<WriteStats> {
    const target = qt(args.database, args.table);
    const stage = qt(args.database, STAGE_TABLE);
    return this.onConnection(pool, `write ${args.database}.${args.table}`, async (conn) => {
      try {
        await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${stage}`);
        await conn.query(`CREATE TEMPORARY TABLE ${stage} LIKE ${target}`);
        const [loaded] = await conn.query<ResultSetHeader>({ sql: loadLinesSql(args.database, STAGE_TABLE, args.columns), infileStreamFactory: () => Readable.from([file]) } as QueryOptions);
        const out = loadOutcome(loaded.info);
        if (out.warnings > 0 || out.skipped > 0 || loaded.affectedRows !== rows) {
          const [warnings] = await conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 5');
          throw new ReshardError(
            `writing ${rows} rows into ${args.database}.${args.table}: ${loaded.affectedRows} of them loaded, ${out.skipped} skipped, ${out.warnings} warning(s): ` +
              warnings.map((w) => `${String(w.Code)} ${String(w.Message)}`).join('; '),
          );
        }
        const cols = args.columns.map(q).join(', ');
        const [header] = await conn.query<ResultSetHeader>(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${stage}${copyUpsertTail(args, { qualified: true })}`);
        return upsertStats(header, rows);
      } catch (err) {
        throw dbError(err, `writing ${rows} rows into ${args.database}.${args.table}`);
      } finally {
        await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${stage}`).catch(() => undefined);
      }
    });
  }

  /**
   * Per target table: statements left to write with the guarded upsert straight away, after a plain INSERT
   * met a row already there (a resumed page, a rerun segment, rows CDC wrote first): it will meet more.
   */
  private readonly guardedFor = new Map<string, number>();

  /**
   * Writes rows into one target table, never overwriting a row that is there (or, with a version column,
   * only with a strictly newer one). Fast paths for fresh rows: LOAD DATA LOCAL (`load`/`auto`, tables of
   * `LOADABLE_TYPES`), kept only if every row went in as a fresh row with no warning (`loadFresh`); else a
   * plain multi-row INSERT, which fails whole on a key already there. Then, or when the table met such rows
   * in its last statements, the multi-row guarded upsert (`copyUpsertSql`) decides row by row. Rows given
   * as literals skip LOAD DATA (it needs values).
   */
  async upsert(args: {
    db: number;
    database: string;
    table: string;
    columns: readonly string[];
    recordKey: readonly string[];
    versionColumn?: string | undefined;
    /** The rows, each an array of `columns` in order (as `SourceReader.page` reads them)… */
    values?: readonly (readonly unknown[])[] | undefined;
    /** …or each one SQL literal `(v1, …)` of `columns`: utf8mb4 bytes, as the source rendered them (`rowRenderExpr`)… */
    literals?: readonly Buffer[] | undefined;
    /** …or each one LOAD DATA line of `columns` (`rowRenderExpr`): needs LOAD DATA LOCAL (`loadsLines`). */
    lines?: readonly Buffer[] | undefined;
  }): Promise<WriteStats> {
    const { values, literals, lines } = args;
    const n = lines?.length ?? literals?.length ?? values?.length ?? 0;
    if (n === 0) return { inserted: 0, updated: 0, skipped: 0 };
    const pool = this.poolFor(args.db);
    if (lines) return this.writeLines(pool, args, lines);
    // A load that was not clean met existing rows (or bad values): straight to the guarded upsert.
    let loadFailed = false;
    if (values && this.load && (await this.canLoad(pool, args.database, args.table, args.columns))) {
      if (await this.loadFresh(pool, { ...args, values })) return { inserted: n, updated: 0, skipped: 0 };
      loadFailed = this.load; // (false when the server refused LOAD DATA: the plain INSERT is worth trying)
    }
    const id = `${args.database}.${args.table}`;
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
      throw dbError(err, `writing ${n} rows into ${args.database}.${args.table}`);
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
  private async writeLines(pool: Pool, args: CopyWrite, lines: readonly Buffer[]): Promise<WriteStats> {
    const file = Buffer.concat(lines);
    const id = `${args.database}.${args.table}`;
    if (!this.stillGuarded(id)) {
      const out = await this.loadInTransaction(pool, args, loadLinesSql(args.database, args.table, args.columns), file, lines.length);
      if (out === 'clean') return { inserted: lines.length, updated: 0, skipped: 0 };
      if (out === 'refused') throw this.refused(id);
      this.guardedFor.set(id, GUARDED_AFTER_DUPLICATE);
    }
    return this.upsertLines(pool, args, file, lines.length);
  }

  /** Whether this statement of table `id` goes guarded straight away (and counts it). */
  private stillGuarded(id: string): boolean {
    const left = this.guardedFor.get(id) ?? 0;
    if (left > 0) this.guardedFor.set(id, left - 1);
    return left > 0;
  }
}

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

/** What a copy write names: the target table, its columns and the guard's keys. */
interface CopyWrite {
  database: string;
  table: string;
  columns: readonly string[];
  recordKey: readonly string[];
  versionColumn?: string | undefined;
}

/** The session's temporary copy of a target table that `upsertLines` loads first. */
const STAGE_TABLE = '__reshard_stage';

/** LOAD DATA LOCAL was refused by the server: with `auto` the page is written again as INSERT literals. */
export class LoadRefusedError extends ReshardError {}

/** A plain INSERT that met an existing key (1062; 1586 names the key). */
const DUPLICATE_KEY = new Set(['ER_DUP_ENTRY', 'ER_DUP_ENTRY_WITH_KEY_NAME']);
/** Statements of a table written guarded after a plain INSERT met an existing key. */
const GUARDED_AFTER_DUPLICATE = 16;

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}

/** Checks that a keyset scroll on `key` is served by an index (EXPLAIN), naming the index to add if not. */
export async function checkScrollIndex(pool: Pool, database: string, table: string, key: string): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>(`EXPLAIN SELECT ${q(key)} FROM ${qt(database, table)} WHERE ${q(key)} > 0 ORDER BY ${q(key)} LIMIT 100`);
  const plan: RowDataPacket = rows[0] ?? ({} as RowDataPacket);
  const usedKey = plan.key as string | null | undefined;
  const extra = String(plan.Extra ?? '');
  if (!usedKey || /filesort/i.test(extra)) {
    throw new SchemaError(
      `${database}.${table}: no index serves the keyset scroll on ${key} (EXPLAIN: key=${usedKey ?? 'NULL'}${extra ? `, ${extra}` : ''}). ` +
        `Add one: ALTER TABLE ${qt(database, table)} ADD INDEX ${q(`idx_${key}`)} (${q(key)});`,
    );
  }
}

export async function showCreateTable(pool: Pool, database: string, table: string): Promise<string> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(`SHOW CREATE TABLE ${qt(database, table)}`);
    return String(rows[0]?.['Create Table']);
  } catch (err) {
    throw dbError(err, `reading the definition of ${database}.${table}`);
  }
}

/** Rewrites a source `CREATE TABLE` for a target table: new name, IF NOT EXISTS, no AUTO_INCREMENT counter. */
export function targetDdl(createSql: string, database: string, table: string): string {
  return createSql
    .replace(/^CREATE TABLE `(?:[^`]|``)+`/, `CREATE TABLE IF NOT EXISTS ${qt(database, table)}`)
    .replace(/\s+AUTO_INCREMENT=\d+/, '');
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
  writer: TargetWriter;
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
      await args.writer.poolFor(db).query(`CREATE DATABASE IF NOT EXISTS ${q(database)} CHARACTER SET utf8mb4`);
    } catch (err) {
      throw dbError(err, `creating target database ${database}`);
    }
  });
  await inParallel(args.targets, args.concurrency, async (t) => {
    const pool = args.writer.poolFor(t.db);
    const cols = await columnsOf(pool, t.database, t.tableName);
    if (cols.length > 0) {
      const why = sameColumns(args.sourceColumns, cols);
      if (why) throw new SchemaError(`target table ${t.database}.${t.tableName} exists with different columns: ${why}`);
      existing++;
      return;
    }
    try {
      await pool.query(targetDdl(args.createSql, t.database, t.tableName));
      created++;
    } catch (err) {
      throw dbError(err, `creating target table ${t.database}.${t.tableName}`);
    }
  });
  return { created, existing };
}

/** Rows per day of the time column within the window (or one bucket `all` without a time column). */
export async function rowsPerDay(
  pool: Pool,
  database: string,
  table: string,
  timeColumn: string | undefined,
  window: Window | undefined,
): Promise<{ day: string; rows: number }[]> {
  if (!timeColumn) {
    const [r] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qt(database, table)}`);
    return [{ day: 'all', rows: Number(r[0]?.n ?? 0) }];
  }
  const params: unknown[] = [];
  const where = windowPredicates(timeColumn, window, params);
  // Grouped by DATE() and formatted per group: formatting every row's text first took 2.4× as long.
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT DATE_FORMAT(d, '%Y-%m-%d') AS day, n FROM (SELECT DATE(${q(timeColumn)}) AS d, COUNT(*) AS n FROM ${qt(database, table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY d) AS per_day ORDER BY d`,
    params,
  );
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
  database: string,
  table: string,
  scrollKey: string,
  shardKeys: readonly string[],
  step: number,
): Promise<{ rows: Row[]; min: unknown; max: unknown }> {
  const k = Math.max(1, Math.trunc(step));
  const key = q(scrollKey);
  const cols = [scrollKey, ...shardKeys.filter((c) => c !== scrollKey)].map(q).join(', ');
  const [[sample], [ends]] = await Promise.all([
    pool.query<RowDataPacket[]>(`SELECT ${cols} FROM ${qt(database, table)} WHERE MOD(CRC32(${key}), ?) = 0 ORDER BY ${key}`, [k]),
    pool.query<RowDataPacket[]>(`SELECT MIN(${key}) AS lo, MAX(${key}) AS hi FROM ${qt(database, table)}`),
  ]);
  return { rows: sample as Row[], min: ends[0]?.lo ?? null, max: ends[0]?.hi ?? null };
}

/** Count and checksum (BIT_XOR and SUM of a per-row CRC32) of a table, optionally filtered. */
export async function tableChecksum(
  pool: Pool,
  database: string,
  table: string,
  columns: readonly string[],
  where = '',
  params: unknown[] = [],
  readKinds: Readonly<Record<string, string>> = {},
): Promise<{ rows: number; xor: string; sum: string }> {
  const crc = rowCrcExpr(columns, readKinds);
  const [r] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, BIT_XOR(${crc}) AS x, SUM(${crc}) AS s FROM ${qt(database, table)}${where ? ` WHERE ${where}` : ''}`,
    params,
  );
  return { rows: Number(r[0]?.n ?? 0), xor: String(r[0]?.x ?? 0), sum: String(r[0]?.s ?? 0) };
}
