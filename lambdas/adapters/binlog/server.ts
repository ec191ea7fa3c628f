/**
 * The source server's binlog state, read over an ordinary connection: its current position, and the
 * settings row-based capture needs.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { SchemaError } from '../../core/errors.js';
import type { BinlogPosition } from '../../core/position.js';
import { covers, coversAll, formatGtidPosition, gtidListOfEventInfo, gtidOfEventInfo, parseGtidPosition, type GtidPosition } from '../../core/gtid.js';
import { dbError } from '../mysql/pool.js';
import { binlogStatusSql, dialectOf, replicaStatusSql, replicaUpdatesVariable, serverIdentityOf, serverIdentitySql, settingsIssues, settingsSql, type Dialect, type SourceSettings } from '../../core/dialect.js';

/** The server's dialect (MariaDB or MySQL, and its version), from `VERSION()` and `@@version_comment`. */
export async function detectDialect(pool: Pick<Pool, 'query'>): Promise<Dialect> {
  try {
    const [[row]] = await pool.query<RowDataPacket[]>('SELECT VERSION() AS v, @@version_comment AS c');
    return dialectOf(String(row?.v ?? ''), String(row?.c ?? ''));
  } catch (err) {
    throw dbError(err, 'reading the server version');
  }
}

/**
 * The identity of the server behind `pool` (`serverIdentityOf`): a binlog position means something only on
 * the server it was read from.
 */
export async function serverIdentity(pool: Pick<Pool, 'query'>, dialect?: Dialect): Promise<string> {
  const d = dialect ?? (await detectDialect(pool));
  const sql = serverIdentitySql(d);
  let row: RowDataPacket | undefined;
  try {
    [[row]] = await pool.query<RowDataPacket[]>(sql);
  } catch (err) {
    throw dbError(err, `reading the server's identity (${sql})`);
  }
  const id = serverIdentityOf(d, row?.id);
  if (!id) throw new SchemaError(`the server has no identity (${sql} returned ${String(row?.id)}): give it a --server-id`);
  return id;
}

/**
 * MariaDB: the GTID position at `position` of the server's binlog (`BINLOG_GTID_POS`; the server reads its
 * binlog file up to there), or undefined when it cannot say (MySQL, or a position it does not have).
 */
export async function gtidAt(pool: Pick<Pool, 'query'>, dialect: Dialect, position: BinlogPosition): Promise<string | undefined> {
  if (dialect.flavor !== 'mariadb') return undefined;
  let row: RowDataPacket | undefined;
  try {
    [[row]] = await pool.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS g', [position.file, position.position]);
  } catch (err) {
    throw dbError(err, `reading the GTID position at ${position.file}:${position.position}`);
  }
  return typeof row?.g === 'string' ? row.g : undefined;
}

/**
 * MariaDB: where the changes after the GTID position `after` begin in this server's binlog — the `Gtid` event
 * of the first event group `after` does not cover (the current position when there is none yet). The binlog
 * file is the newest whose `Gtid_list` (what it holds before its first group) `after` covers; it is read
 * with `SHOW BINLOG EVENTS` in pages of `page` events. Refuses a server whose binlog lacks groups `after`
 * has (it is behind, or its binlog was purged past that point).
 */
export async function positionAfterGtid(pool: Pick<Pool, 'query'>, after: GtidPosition, page = 1000): Promise<BinlogPosition> {
  const ask = async <T extends RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> => {
    try {
      const [rows] = await pool.query<T[]>(sql, params);
      return rows;
    } catch (err) {
      throw dbError(err, `finding GTID ${formatGtidPosition(after)} (${sql})`);
    }
  };
  const [state] = await ask<RowDataPacket>('SELECT @@GLOBAL.gtid_binlog_pos AS g');
  const has = parseGtidPosition(String(state?.g ?? ''));
  if (!has || !coversAll(has, after))
    throw new SchemaError(`this server's binlog has not got every change before GTID ${formatGtidPosition(after)} (its gtid_binlog_pos is ${String(state?.g ?? '')}): it is behind the server capture read, or not of the same replication`);
  const files = (await ask<RowDataPacket>('SHOW BINARY LOGS')).map((r) => String(r.Log_name));
  let first = -1;
  for (let i = files.length - 1; i >= 0 && first < 0; i--) {
    const head = await ask<RowDataPacket>('SHOW BINLOG EVENTS IN ? LIMIT 4', [files[i]]);
    const list = head.find((r) => r.Event_type === 'Gtid_list');
    const before = list ? gtidListOfEventInfo(String(list.Info)) : undefined;
    if (before && coversAll(after, before)) first = i;
  }
  if (first < 0) throw new SchemaError(`no binlog file of this server starts at or before GTID ${formatGtidPosition(after)}: the binlog was purged past it`);
  for (const file of files.slice(first)) {
    for (let from = 4; ; ) {
      const rows = await ask<RowDataPacket>(`SHOW BINLOG EVENTS IN ? FROM ? LIMIT ${Math.trunc(page)}`, [file, from]);
      for (const r of rows) {
        const g = r.Event_type === 'Gtid' ? gtidOfEventInfo(String(r.Info)) : undefined;
        if (g && !covers(after, g)) return { file, position: Number(r.Pos) };
      }
      if (rows.length < page) break;
      from = Number(rows[rows.length - 1]!.End_log_pos);
    }
  }
  return currentPosition(pool);
}

/**
 * Refuses a source whose settings keep change capture from working, naming each variable and the fix:
 * binary logging off, not ROW, not FULL row images (`checkRowImage`), compressed binlog events, a replica that
 * does not log what it replicates. Returns how long the server keeps binlogs (seconds; 0 = forever), and a
 * warning when the user may not ask whether the server is a replica.
 */
export async function checkSourceSettings(pool: Pick<Pool, 'query'>, dialect: Dialect): Promise<{ expireSeconds: number; warnings: string[] }> {
  await checkRowImage(pool);
  let settings: RowDataPacket | undefined;
  let replicaRows: RowDataPacket[] = [];
  const warnings: string[] = [];
  try {
    [[settings]] = await pool.query<RowDataPacket[]>(settingsSql(dialect));
  } catch (err) {
    throw dbError(err, 'reading binlog settings');
  }
  try {
    [replicaRows] = await pool.query<RowDataPacket[]>(replicaStatusSql(dialect));
  } catch (err) {
    // MariaDB 10.5+ wants REPLICA MONITOR for it, which capture itself does not need.
    if ((err as { code?: string }).code !== 'ER_SPECIFIC_ACCESS_DENIED_ERROR') throw dbError(err, `reading ${replicaStatusSql(dialect)}`);
    warnings.push(
      `the source user may not run ${replicaStatusSql(dialect)}, so plan cannot tell whether the source is a replica: if it is, ${replicaUpdatesVariable(dialect)} must be ON or the changes it replicates are not captured`,
    );
  }
  const s: SourceSettings = { compression: settings?.compression as unknown, replicaUpdates: settings?.replicaUpdates as unknown, expireSeconds: settings?.expireSeconds as unknown };
  const issues = settingsIssues(dialect, s, replicaRows.length > 0);
  if (issues.length) throw new SchemaError(`the source's settings stop change capture: ${issues.join('; ')}`);
  return { expireSeconds: Number(s.expireSeconds ?? 0) || 0, warnings };
}

/**
 * The server's current binlog file and position: everything written from now on comes after it. With the
 * server's dialect, its statement; without, `SHOW MASTER STATUS` and then MySQL 8.4's `SHOW BINARY LOG STATUS`.
 */
export async function currentPosition(pool: Pick<Pool, 'query'>, dialect?: Dialect): Promise<BinlogPosition> {
  let rows: RowDataPacket[];
  try {
    [rows] = await pool.query<RowDataPacket[]>(dialect ? binlogStatusSql(dialect) : 'SHOW MASTER STATUS');
  } catch (err) {
    if (dialect) throw dbError(err, `reading the binlog position (${binlogStatusSql(dialect)})`);
    // MySQL 8.4 removed SHOW MASTER STATUS.
    if ((err as { code?: string }).code !== 'ER_PARSE_ERROR') throw dbError(err, 'reading the binlog position (SHOW MASTER STATUS)');
    try {
      [rows] = await pool.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
    } catch (err2) {
      throw dbError(err2, 'reading the binlog position (SHOW BINARY LOG STATUS)');
    }
  }
  const row = rows[0];
  if (!row || !row.File) {
    throw new SchemaError(
      'binary logging is off on the source (SHOW MASTER STATUS returned no row): start the server with --log-bin --binlog-format=ROW --binlog-row-image=FULL and a --server-id',
    );
  }
  return { file: String(row.File), position: Number(row.Position) };
}

/**
 * Row changes can only be captured and routed from full row images: throws a SchemaError naming the variable,
 * its value and the fix when binary logging is off, `binlog_format` is not ROW or `binlog_row_image` is not FULL.
 * Checks the GLOBAL values (what new sessions use).
 */
export async function checkRowImage(pool: Pick<Pool, 'query'>): Promise<void> {
  let row: RowDataPacket | undefined;
  try {
    [[row]] = await pool.query<RowDataPacket[]>('SELECT @@GLOBAL.log_bin AS logBin, @@GLOBAL.binlog_format AS format, @@GLOBAL.binlog_row_image AS rowImage');
  } catch (err) {
    throw dbError(err, 'reading binlog settings');
  }
  const logBin = String(row?.logBin ?? '');
  const format = String(row?.format ?? '').toUpperCase();
  const rowImage = String(row?.rowImage ?? '').toUpperCase();
  if (logBin !== '1' && logBin.toUpperCase() !== 'ON') {
    throw new SchemaError(`binary logging is off on the source (log_bin = ${logBin || 'OFF'}): start the server with --log-bin --binlog-format=ROW --binlog-row-image=FULL`);
  }
  if (format !== 'ROW') {
    throw new SchemaError(
      `binlog_format is ${format || '(unset)'} on the source; change capture needs ROW (statement events carry no rows): ` +
        `SET GLOBAL binlog_format = 'ROW' and put binlog_format = ROW in the server configuration (sessions already open keep their format until they reconnect)`,
    );
  }
  if (rowImage !== 'FULL') {
    throw new SchemaError(
      `binlog_row_image is ${rowImage || '(unset)'} on the source; change capture needs FULL (with ${rowImage || 'it'}, an update or delete carries only some columns, so rows cannot be routed or applied): ` +
        `SET GLOBAL binlog_row_image = 'FULL' and put binlog_row_image = FULL in the server configuration`,
    );
  }
}

