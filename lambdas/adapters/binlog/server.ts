/**
 * The source server's binlog state, read over an ordinary connection: its current position, and the
 * settings row-based capture needs.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { SchemaError } from '../../core/errors.js';
import type { BinlogPosition } from '../../core/position.js';
import { dbError } from '../mysql/pool.js';

/** The server's current binlog file and position: everything written from now on comes after it. */
export async function currentPosition(pool: Pick<Pool, 'query'>): Promise<BinlogPosition> {
  let rows: RowDataPacket[];
  try {
    [rows] = await pool.query<RowDataPacket[]>('SHOW MASTER STATUS');
  } catch (err) {
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

