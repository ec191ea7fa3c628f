/**
 * Freezing writes to source tables for a cut-over, and thawing them: a session holding FLUSH TABLES … WITH
 * READ LOCK (granted only once the transactions writing them have ended), or the server's read-only switch.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { readOnlyVariable, type Dialect } from '../../core/dialect.js';
import { qt } from '../../core/sql.js';
import { dbError } from './pool.js';

/** A held table lock: its session's id (to end it from elsewhere) and how to let it go. */
export interface HeldLock {
  readonly sessionId: number;
  release(): Promise<void>;
}

/**
 * Takes a read lock on `tables` of one server in a session of its own, waiting at most `waitSeconds` for
 * the transactions that write them to end.
 */
export async function lockTables(pool: Pool, tables: readonly { database: string; table: string }[], waitSeconds: number): Promise<HeldLock> {
  let conn: PoolConnection | undefined;
  try {
    conn = await pool.getConnection();
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    await conn.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(waitSeconds))}`);
    await conn.query(`FLUSH TABLES ${tables.map((t) => qt(t.database, t.table)).join(', ')} WITH READ LOCK`);
    const held = conn;
    return {
      sessionId: Number(row!.id),
      // The session ends with the lock (never back to the pool): an abort that kills its id later cannot hit another user of it.
      release: async () => {
        try {
          await held.query('UNLOCK TABLES');
        } finally {
          held.destroy();
        }
      },
    };
  } catch (err) {
    conn?.destroy();
    throw dbError(err, `freezing ${tables.map((t) => `${t.database}.${t.table}`).join(', ')} (FLUSH TABLES … WITH READ LOCK)`);
  }
}

/**
 * Turns the server's read-only switch on or off (`super_read_only` on MySQL, `read_only` on MariaDB). Turning
 * it on waits for sessions holding table locks or committing; that wait ends after `waitSeconds` with an error.
 */
export async function setReadOnly(pool: Pool, dialect: Dialect, on: boolean, waitSeconds = 30): Promise<void> {
  const variable = readOnlyVariable(dialect);
  let conn: PoolConnection | undefined;
  try {
    conn = await pool.getConnection();
    await conn.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(waitSeconds))}`);
    await conn.query(`SET GLOBAL ${variable} = ${on ? 'ON' : 'OFF'}`);
  } catch (err) {
    throw dbError(err, `SET GLOBAL ${variable} = ${on ? 'ON' : 'OFF'}`);
  } finally {
    // The session's lock_wait_timeout stays with it: never back to the pool.
    conn?.destroy();
  }
}

/** Ends a session (a lock left by a cut-over that died); a session already gone is fine. */
export async function endSession(pool: Pool, sessionId: number): Promise<void> {
  try {
    await pool.query(`KILL CONNECTION ${Math.trunc(sessionId)}`);
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_NO_SUCH_THREAD') return;
    throw dbError(err, `ending session ${sessionId}`);
  }
}
