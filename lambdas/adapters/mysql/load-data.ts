/**
 * LOAD DATA LOCAL for the copy's fast path: the file of a page's values (`loadDataFile`), which column types
 * it can carry, a clean load of fresh rows in a transaction, the guarded upsert of rendered lines through a
 * staging table, and the server's refusal of LOAD DATA LOCAL.
 */
import type { Pool, PoolConnection, QueryOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { Readable } from 'node:stream';
import { ReshardError } from '../../core/errors.js';
import { loadLinesSql, type CopyUpsertArgs } from '../../core/sql.js';
import { stageTableSql, upsertFromStageSql } from '../../core/sql-target.js';
import { tableId } from '../../core/table-id.js';
import { dbError } from './pool.js';


/** Server answers meaning LOAD DATA LOCAL is not available (MySQL 8 has `local_infile` OFF by default)… */
const LOAD_REFUSED = new Set(['ER_NOT_ALLOWED_COMMAND', 'ER_CLIENT_LOCAL_FILES_DISABLED', 'ER_LOAD_INFILE_CAPABILITY_DISABLED', 'ER_OPTION_PREVENTS_STATEMENT']);
/** …and by number: MariaDB's 4166 (local infile capability disabled) has no name in mysql2. */
const LOAD_REFUSED_ERRNO = new Set([1148, 3948, 4166]);

/** Whether a mysql2 error is the server refusing LOAD DATA LOCAL. */
export function isLoadRefused(err: unknown): boolean {
  const { code, errno } = err as { code?: string; errno?: number };
  return (code !== undefined && LOAD_REFUSED.has(code)) || (errno !== undefined && LOAD_REFUSED_ERRNO.has(errno));
}

/** LOAD DATA LOCAL was refused by the server: with `auto` the page is written again as INSERT literals. */
export class LoadRefusedError extends ReshardError {}

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
      } else text += loadText(typeof v === 'string' ? v : String(v)); // eslint-disable-line @typescript-eslint/no-base-to-string -- numbers (dates and JSON come as text)
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
export const LOADABLE_TYPES = new Set([
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


/** The session's temporary copy of a target table that `upsertLines` loads first. */
const STAGE_TABLE = '__reshard_stage';

/** Runs `fn` on one connection of `pool` (a failure to connect named by `what`), released after. */
async function onConnection<T>(pool: Pool, what: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
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
 * LOAD DATA LOCAL of `file` (`rows` rows) into table `id` by `sql`, in a transaction, committed only if every
 * row went in fresh with no warning ('clean'); else rolled back ('rolledBack'). 'refused': the server does
 * not take LOAD DATA LOCAL.
 */
export function loadInTransaction(pool: Pool, load: { id: string; sql: string; file: Buffer; rows: number }): Promise<'clean' | 'rolledBack' | 'refused'> {
  const { id, sql, file, rows } = load;
  return onConnection(pool, `load ${id}`, async (conn) => {
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
      if (isLoadRefused(err)) return 'refused';
      throw dbError(err, `loading ${rows} rows into ${id}`);
    }
  });
}

/**
 * The guarded upsert of LOAD DATA lines: loaded into a temporary copy of the target table (on one
 * session; nothing else sees it), then `INSERT … SELECT … ON DUPLICATE KEY UPDATE` with the copy's guard
 * into the target. A warning while loading (a value that did not fit) fails the write, naming it. Returns
 * the OK packet of the INSERT … SELECT (`upsertStats` counts it).
 */
export function upsertLines(pool: Pool, args: CopyUpsertArgs, load: { file: Buffer; rows: number }): Promise<ResultSetHeader> {
  const { file, rows } = load;
  const id = tableId(args.database, args.table);
  const stage = stageTableSql(args.database, args.table, STAGE_TABLE);
  return onConnection(pool, `write ${id}`, async (conn) => {
    try {
      await conn.query(stage.drop);
      await conn.query(stage.create);
      const [loaded] = await conn.query<ResultSetHeader>({ sql: loadLinesSql(args.database, STAGE_TABLE, args.columns), infileStreamFactory: () => Readable.from([file]) } as QueryOptions);
      const out = loadOutcome(loaded.info);
      if (out.warnings > 0 || out.skipped > 0 || loaded.affectedRows !== rows) {
        const [warnings] = await conn.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 5');
        throw new ReshardError(
          `writing ${rows} rows into ${id}: ${loaded.affectedRows} of them loaded, ${out.skipped} skipped, ${out.warnings} warning(s): ` +
            warnings.map((w) => `${String(w.Code)} ${String(w.Message)}`).join('; '),
        );
      }
      const [header] = await conn.query<ResultSetHeader>(upsertFromStageSql(args, STAGE_TABLE));
      return header;
    } catch (err) {
      throw dbError(err, `writing ${rows} rows into ${id}`);
    } finally {
      await conn.query(stage.drop).catch(() => undefined);
    }
  });
}
