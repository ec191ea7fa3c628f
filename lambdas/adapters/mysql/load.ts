/**
 * How busy a server is, for the copy's throttle (`core/throttle.ts`): `Threads_running`, InnoDB's history list
 * length, and a replica's lag. mysql2 errors become typed ones (`dbError`).
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ConfigError } from '../../core/errors.js';
import { historyListLengthOf } from '../../core/throttle.js';
import { dbError } from './pool.js';

/** How a server's history list length is read: the first of these that answers on it. */
type HistorySource = 'status' | 'metrics' | 'innodb-status' | 'none';

const denied = (err: unknown) => ['ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_TABLEACCESS_DENIED_ERROR'].includes((err as { code?: string }).code ?? '');

/**
 * Reads one server's load. The history list length comes from the status variable `Innodb_history_list_length`
 * (MariaDB; read with `Threads_running`, no privilege needed), else `information_schema.INNODB_METRICS`
 * (`trx_rseg_history_len`), else `SHOW ENGINE INNODB STATUS` (both need `PROCESS`); a server that answers
 * none of them is not asked again, and its history list length stays unknown.
 */
export class LoadReader {
  private history: HistorySource = 'status';

  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    private readonly where: string,
  ) {}

  async read(): Promise<{ threadsRunning?: number; historyListLength?: number }> {
    let rows: RowDataPacket[];
    try {
      [rows] = await this.pool.query<RowDataPacket[]>('SHOW GLOBAL STATUS WHERE Variable_name IN (?, ?)', ['Threads_running', 'Innodb_history_list_length']);
    } catch (err) {
      throw dbError(err, `reading Threads_running on ${this.where}`);
    }
    const status = new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), Number(r.Value)]));
    const threadsRunning = status.get('threads_running');
    let historyListLength = this.history === 'status' ? status.get('innodb_history_list_length') : undefined;
    if (historyListLength === undefined) {
      if (this.history === 'status') this.history = 'metrics';
      historyListLength = await this.historyListLength();
    }
    return { ...(threadsRunning !== undefined ? { threadsRunning } : {}), ...(historyListLength !== undefined ? { historyListLength } : {}) };
  }

  private async historyListLength(): Promise<number | undefined> {
    if (this.history === 'metrics') {
      try {
        const [rows] = await this.pool.query<RowDataPacket[]>('SELECT `COUNT` AS n FROM information_schema.INNODB_METRICS WHERE NAME = ?', ['trx_rseg_history_len']);
        if (rows[0]) return Number(rows[0].n);
      } catch (err) {
        if (!denied(err)) throw dbError(err, `reading the history list length on ${this.where}`);
      }
      this.history = 'innodb-status';
    }
    if (this.history === 'innodb-status') {
      try {
        const [rows] = await this.pool.query<RowDataPacket[]>('SHOW ENGINE INNODB STATUS');
        const n = historyListLengthOf(String(rows[0]?.Status ?? ''));
        if (n !== undefined) return n;
      } catch (err) {
        if (!denied(err)) throw dbError(err, `reading SHOW ENGINE INNODB STATUS on ${this.where}`);
      }
      this.history = 'none';
    }
    return undefined;
  }
}

/**
 * A replica's lag in seconds (`Seconds_Behind_Master`, `Seconds_Behind_Source` on MySQL 8.0.22+): null while its
 * replication is not running. A server that is no replica is a ConfigError (the setting names it).
 */
export async function replicaLagSeconds(pool: Pick<Pool, 'query'>, where: string): Promise<number | null> {
  let rows: RowDataPacket[];
  try {
    [rows] = await pool.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  } catch (err) {
    // MySQL 8.4 has only SHOW REPLICA STATUS.
    if ((err as { code?: string }).code !== 'ER_PARSE_ERROR') throw dbError(err, `reading the replica status of ${where}`);
    try {
      [rows] = await pool.query<RowDataPacket[]>('SHOW REPLICA STATUS');
    } catch (again) {
      throw dbError(again, `reading the replica status of ${where}`);
    }
  }
  const row = rows[0];
  if (!row) throw new ConfigError(`throttle.replica: ${where} is not a replica (SHOW SLAVE STATUS is empty)`);
  const lag: unknown = row.Seconds_Behind_Master ?? row.Seconds_Behind_Source;
  return lag === null || lag === undefined ? null : Number(lag);
}
