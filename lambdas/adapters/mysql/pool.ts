/**
 * MySQL connections: pool options, the session every connection starts with, and the conversion of mysql2
 * errors into our typed errors (`dbError`), used by every reader and writer of this adapter.
 */
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import type { ConnectionConfig } from '../../core/config.js';
import { ConfigError, ReshardError, SchemaError, TransientError } from '../../core/errors.js';


/** A pool of connections to one server (mysql2's). */
export type { Pool };

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
