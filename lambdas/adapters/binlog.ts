/**
 * Binlog capture adapter over `@vlasky/zongji`: the current binlog position, the server settings row-based
 * capture needs, and a resumable reader of row changes for a set of tables.
 *
 * Values are converted to what `poolOptions` (lambdas/adapters/mysql/pool.ts) reads for the same row from a session
 * in UTC (`createPool`): DATETIME / TIMESTAMP / DATE / TIME as text with the column's fractional digits
 * (TIMESTAMP in UTC), DECIMAL as exact text, BIGINT (signed or not) always as text, other integers as numbers,
 * JSON as its text, BLOB / BINARY / VARBINARY / BIT as a Buffer (copied out of the packet), NULL as null,
 * text columns decoded in their charset (utf8mb4 included), FLOAT as the server prints it (6 significant
 * digits, or the declared scale), YEAR 0000 as 0, the empty ENUM value as ''.
 *
 * Positions: `ChangeEvent.position` is the start offset of the rows event that carried the row (identical
 * on every replay); `rowIndex` orders rows inside it. `readChanges` resolves with a *resumable* position:
 * every change before it has been delivered, none after it, and restarting there is safe (never between a
 * TableMap and the rows events that need it: a rows event whose TableMap was not read is dropped by zongji
 * without a word). It therefore only stops where no rows event of the current statement can follow: after a
 * rows event flagged STMT_END, a commit, DDL or file boundary. `maxEvents`, `deadlineMs` and `idleMs` may be
 * exceeded by the rest of one statement (up to the commit when the statement's last rows event belongs to a
 * table not read). Positions come from the events' end_log_pos (start = end - length); rows events of other
 * tables are filtered inside zongji, so the position only moves at boundaries the reader sees (commits of any
 * table, statement ends of the tables read).
 *
 * Column metadata: unless the server runs with binlog_row_metadata=FULL, zongji reads each table's columns
 * from INFORMATION_SCHEMA when it first meets the table, i.e. the *current* definition: reading a backlog
 * across an ALTER TABLE of a table read can misdecode rows written before it.
 */
import ZongJi, { type AnyBinlogEvent, type RotateEvent, type TableMapEntry, type UpdateRowsEvent, type WriteRowsEvent } from '@vlasky/zongji';
import type { ConnectionOptions } from 'mysql2';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { ConfigError, ReshardError, SchemaError, TransientError } from '../core/errors.js';
import { dbError } from './mysql/pool.js';

export interface BinlogPosition {
  file: string;
  position: number;
}

export type ChangeOp = 'insert' | 'update' | 'delete';

export interface ChangeEvent {
  table: string;
  op: ChangeOp;
  /** The row before the change (update, delete). */
  before?: Record<string, unknown>;
  /** The row after the change (insert, update). */
  after?: Record<string, unknown>;
  /** Start of the rows event carrying this row. */
  position: BinlogPosition;
  /** Index of the row inside its rows event. */
  rowIndex: number;
  /** When the statement ran on the source (binlog event header, second precision), ms since the epoch. */
  timestamp: number;
}

export interface BinlogConnection {
  host: string;
  port: number;
  user: string;
  password?: string | undefined;
  connectTimeoutMs?: number | undefined;
}

export interface ReadChangesOptions {
  connection: BinlogConnection;
  /** Replica id announced to the server: unique among everything reading this server's binlog, ≠ its server_id. */
  serverId: number;
  /** Where to start: a position from `currentPosition` or a previous `readChanges`. */
  from: BinlogPosition;
  database: string;
  tables: readonly string[];
  /** Stop once this many events were delivered (a soft limit: the rest of a statement is always delivered). */
  maxEvents?: number | undefined;
  /**
   * Stop after this long without anything arriving on the binlog connection (caught up; traffic of other
   * tables counts as arriving). Time spent in `onBatch` does not count.
   */
  idleMs?: number | undefined;
  /** Absolute time (ms since the epoch) to stop at. */
  deadlineMs?: number | undefined;
  /**
   * Stop once everything up to this position was read (e.g. `currentPosition` taken before the call: a
   * bounded catch-up that does not depend on the server falling quiet).
   */
  until?: BinlogPosition | undefined;
  /** Stop (at the next safe point) when aborted. */
  signal?: AbortSignal | undefined;
  /** Largest batch handed to `onBatch`. @default 500 */
  batchSize?: number | undefined;
  /**
   * Per table: the columns of an update's before image that are wanted (e.g. its keys). The other columns
   * of DECIMAL, DATETIME(n), string, BLOB, JSON and spatial types are skipped undecoded and left out of the
   * image (the rest are decoded as usual). Default: every column.
   */
  updateBeforeColumns?: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  /**
   * Receives the events in binlog order; awaited before anything more is delivered. `checkpoint` is a
   * resumable position covering this batch and everything before it, or null when the batch ends inside a
   * statement.
   */
  onBatch: (events: ChangeEvent[], checkpoint: BinlogPosition | null) => Promise<void>;
}

export interface ReadChangesResult {
  /** Resumable: reading again from here delivers nothing already delivered and misses nothing. */
  position: BinlogPosition;
  events: number;
  stoppedBy: 'maxEvents' | 'idle' | 'deadline' | 'until' | 'aborted';
}

/** The requested binlog position does not exist (purged, rotated away, past the end, or not an event boundary). */
export class BinlogPositionError extends ReshardError {}

// ---------------------------------------------------------------------------------------------------------
// Server state

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

/** Orders positions: file by its numeric extension (binlog.000009 < binlog.000010 < binlog.1000000), then offset. */
export function compareBinlogPositions(a: BinlogPosition, b: BinlogPosition): number {
  if (a.file !== b.file) {
    const na = fileSequence(a.file);
    const nb = fileSequence(b.file);
    if (na !== nb) return na < nb ? -1 : 1;
    return a.file < b.file ? -1 : 1;
  }
  return a.position - b.position;
}

function fileSequence(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m ? Number(m[1]) : -1;
}

// ---------------------------------------------------------------------------------------------------------
// Value conversion

const T = { VARCHAR: 15, BIT: 16, FLOAT: 4, DOUBLE: 5, LONGLONG: 8, YEAR: 13, ENUM: 247, VAR_STRING: 253, STRING: 254 } as const;
/** Wire types whose values may be Buffers (binary strings, BLOBs, BIT, MariaDB COMPRESSED columns). */
const BUFFER_TYPES = new Set<number>([T.VARCHAR, T.BIT, T.VAR_STRING, T.STRING, 249, 250, 251, 252, 140, 141]);

type Convert = (v: unknown) => unknown;
/** The columns whose zongji value differs from what poolOptions reads, and how to fix each. */
interface TableConverter {
  readonly names: readonly string[];
  readonly convert: readonly Convert[];
}

const toText: Convert = (v) => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : v);
/** Buffers are slices of the packet: copied, so a kept value does not pin the whole packet. */
const copyBuffer: Convert = (v) => (Buffer.isBuffer(v) ? Buffer.from(v) : v);
const fixed = (scale: number): Convert => (v) => (typeof v === 'number' ? Number(v.toFixed(scale)) : v);

/** Builds the per-column conversions for one table map (cached per TableMapEntry object). */
function converterFor(entry: TableMapEntry): TableConverter {
  const names: string[] = [];
  const convert: Convert[] = [];
  (entry.columns ?? []).forEach((c, i) => {
    const columnType = (entry.columnSchemas[i]?.COLUMN_TYPE ?? '').toLowerCase();
    const scale = /\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(columnType)?.[1];
    let f: Convert | undefined;
    switch (c.type) {
      case T.LONGLONG:
        // bigNumberStrings: BIGINT is always text, whatever its size (zongji: a number when safe).
        f = toText;
        break;
      case T.FLOAT:
        // The server prints FLOAT with 6 significant digits (or its declared scale); zongji gives the raw float32.
        f = scale !== undefined ? fixed(Number(scale)) : (v) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(6)) : v);
        break;
      case T.DOUBLE:
        if (scale !== undefined) f = fixed(Number(scale));
        break;
      case T.YEAR:
        // zongji adds 1900 to the stored byte; YEAR 0000 is stored as 0 (1900 itself is not a valid YEAR).
        f = (v) => (v === 1900 ? 0 : v);
        break;
      case T.ENUM:
        // The empty (invalid) ENUM value has index 0, which zongji maps to undefined.
        f = (v) => (v === undefined ? '' : v);
        break;
      default:
        if (BUFFER_TYPES.has(c.type)) f = copyBuffer;
    }
    if (f) {
      names.push(c.name);
      convert.push(f);
    }
  });
  return { names, convert };
}

/** Converts zongji's row object in place (it is not shared) and returns it. */
function convertRow(row: Record<string, unknown>, conv: TableConverter): Record<string, unknown> {
  const { names, convert } = conv;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = row[name];
    if (v !== null && v !== undefined) row[name] = convert[i]!(v) ?? null; // (undefined: a column not decoded)
  }
  return row;
}

// ---------------------------------------------------------------------------------------------------------
// Reader

/** Rows events flag: the last rows event of its statement. */
const STMT_END_F = 0x0001;
/** Events after which no rows event of the current statement can follow, and which carry a real end position. */
const BOUNDARY_EVENTS = new Set(['xid', 'query', 'format', 'mariadbgtidlist', 'binlogcheckpoint', 'previousgtids', 'xaprepare']);
const ROWS_EVENTS = new Set(['writerows', 'updaterows', 'deleterows']);

type Item =
  | { kind: 'rows'; events: ChangeEvent[]; end: BinlogPosition; stmtEnd: boolean }
  | { kind: 'table' }
  | { kind: 'mark'; at: BinlogPosition };

interface PausableConnection {
  pause(): void;
  resume(): void;
}

/**
 * zongji pauses the binlog connection itself while it fetches a table's columns; a counted gate lets our
 * backpressure pause coexist with it (the connection runs only when nobody holds it).
 */
function installPauseGate(conn: PausableConnection): void {
  let holds = 0;
  const pause = conn.pause.bind(conn);
  const resume = conn.resume.bind(conn);
  conn.pause = () => {
    if (holds++ === 0) pause();
  };
  conn.resume = () => {
    if (holds === 0) return;
    if (--holds === 0) resume();
  };
}

function validate(opts: ReadChangesOptions): void {
  const issues: string[] = [];
  if (!Number.isInteger(opts.serverId) || opts.serverId < 1 || opts.serverId > 0xffffffff) issues.push(`serverId: must be an integer in 1..4294967295 (got ${opts.serverId})`);
  if (!opts.from || typeof opts.from.file !== 'string' || !opts.from.file) issues.push('from.file: must name a binlog file');
  if (!opts.from || !Number.isInteger(opts.from.position) || opts.from.position < 4 || opts.from.position > 0xffffffff) {
    issues.push(`from.position: must be an integer in 4..4294967295 (got ${opts.from?.position})`);
  }
  if (!opts.database) issues.push('database: required');
  if (!opts.tables.length) issues.push('tables: at least one table');
  if (opts.maxEvents !== undefined && !(Number.isInteger(opts.maxEvents) && opts.maxEvents > 0)) issues.push('maxEvents: must be a positive integer');
  if (opts.idleMs !== undefined && !(opts.idleMs >= 0)) issues.push('idleMs: must be ≥ 0');
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) issues.push('batchSize: must be a positive integer');
  if (opts.maxEvents === undefined && opts.idleMs === undefined && opts.deadlineMs === undefined && !opts.until && !opts.signal) {
    issues.push('one of maxEvents, idleMs, deadlineMs, until or signal is required (the binlog never ends)');
  }
  if (issues.length) throw new ConfigError('invalid readChanges options', issues);
}

function binlogError(err: unknown, from: BinlogPosition): Error {
  const e = err as { errno?: number; code?: string; message?: string; sqlMessage?: string };
  const where = `reading the binlog from ${from.file}:${from.position}`;
  if (e.errno === 1236 || e.code === 'ER_MASTER_FATAL_ERROR_READING_BINLOG') {
    return new BinlogPositionError(`${where}: ${e.sqlMessage ?? e.message ?? String(err)} (the file was purged, or the position is not the start of an event)`, { cause: err });
  }
  if (err instanceof Error && !e.code && !e.errno) return new ReshardError(`${where}: ${err.message}`, { cause: err });
  return dbError(err, where);
}

/**
 * Streams the row changes of `database`.`tables` from `from`, in binlog order, in batches handed to
 * `onBatch` (awaited: the binlog connection is paused while too much is pending). Resolves when
 * `maxEvents`, `until`, `idleMs`, `deadlineMs` or `signal` says so — at the next point a restart is safe from.
 */
export async function readChanges(opts: ReadChangesOptions): Promise<ReadChangesResult> {
  validate(opts);
  const { database, onBatch } = opts;
  const tables = new Set(opts.tables);
  const batchSize = opts.batchSize ?? 500;
  const highWater = batchSize * 4;
  const lowWater = batchSize;

  const connectionOptions: ConnectionOptions = {
    host: opts.connection.host,
    port: opts.connection.port,
    user: opts.connection.user,
    password: opts.connection.password ?? '',
    connectTimeout: opts.connection.connectTimeoutMs ?? 10_000,
    charset: 'utf8mb4_general_ci',
    // The same value representations as poolOptions (mysql/pool.ts); TIMESTAMP text in UTC.
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    timezone: 'Z',
  };
  const zongji = new ZongJi(connectionOptions);
  // Read by patches/@vlasky+zongji+*.patch (rows_event.js), keyed by 'schema.table'.
  if (opts.updateBeforeColumns)
    (zongji as unknown as { updateBeforeColumns: Map<string, ReadonlySet<string>> }).updateBeforeColumns = new Map(
      [...opts.updateBeforeColumns].map(([table, cols]) => [`${opts.database}.${table}`, cols]),
    );

  // ---- producer state (zongji's synchronous 'binlog' handler)
  const queue: Item[] = [];
  let queuedRows = 0;
  let file = opts.from.file;
  let failure: Error | undefined;
  let finished = false;
  let paused = false;
  let lastArrival = Date.now();
  let wake: (() => void) | undefined;
  const converters = new WeakMap<TableMapEntry, TableConverter>();
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: Error) => {
    failure ??= err;
    notify();
  };
  // Backpressure: the binlog connection is paused while more than highWater rows (or items) wait.
  const push = (item: Item) => {
    queue.push(item);
    if (item.kind === 'rows') queuedRows += item.events.length;
    if (!paused && queuedRows + queue.length >= highWater && zongji.connection) {
      paused = true;
      (zongji.connection as unknown as PausableConnection).pause();
    }
    notify();
  };
  const headerLength = () => (zongji.useChecksum ? 23 : 19);

  const onBinlog = (event: AnyBinlogEvent) => {
    if (finished || failure) return;
    lastArrival = Date.now();
    const name = event.getEventName();
    if (name === 'rotate') {
      const r = event as RotateEvent;
      file = r.binlogName;
      push({ kind: 'mark', at: { file, position: Number(r.position) } });
      return;
    }
    if (name === 'tablemap') {
      push({ kind: 'table' });
      return;
    }
    if (ROWS_EVENTS.has(name)) {
      const r = event as WriteRowsEvent | UpdateRowsEvent;
      const entry = zongji.tableMap[r.tableId];
      if (!entry || entry.parentSchema !== database || !tables.has(entry.tableName)) return;
      if (!(r.nextPosition > 0)) {
        fail(
          new ReshardError(
            `rows event of ${database}.${entry.tableName} after ${file} has no end position (end_log_pos = 0, as MariaDB 11.4+ writes inside transactions): ` +
              'this reader needs servers that write event end positions',
          ),
        );
        return;
      }
      let conv = converters.get(entry);
      if (!conv) converters.set(entry, (conv = converterFor(entry)));
      const start = r.nextPosition - (r.size + headerLength());
      const position: BinlogPosition = { file, position: start };
      const op: ChangeOp = name === 'writerows' ? 'insert' : name === 'updaterows' ? 'update' : 'delete';
      const table = entry.tableName;
      const timestamp = r.timestamp;
      const events: ChangeEvent[] = new Array<ChangeEvent>(r.rows.length);
      for (let i = 0; i < r.rows.length; i++) {
        if (op === 'update') {
          const row = (r as UpdateRowsEvent).rows[i]!;
          events[i] = { table, op, before: convertRow(row.before, conv), after: convertRow(row.after, conv), position, rowIndex: i, timestamp };
        } else {
          const row = convertRow((r as WriteRowsEvent).rows[i]!, conv);
          events[i] = op === 'insert' ? { table, op, after: row, position, rowIndex: i, timestamp } : { table, op, before: row, position, rowIndex: i, timestamp };
        }
      }
      push({ kind: 'rows', events, end: { file, position: r.nextPosition }, stmtEnd: (r.flags & STMT_END_F) !== 0 });
      return;
    }
    if (BOUNDARY_EVENTS.has(name) && event.nextPosition > 0) push({ kind: 'mark', at: { file, position: event.nextPosition } });
  };

  zongji.on('binlog', onBinlog);
  zongji.on('error', (err: Error) => {
    if (!finished) fail(binlogError(err, opts.from));
  });
  const onAbort = () => notify();
  opts.signal?.addEventListener('abort', onAbort);

  zongji.start({
    serverId: opts.serverId,
    filename: opts.from.file,
    position: opts.from.position,
    includeSchema: { [database]: [...tables] },
  });
  if (zongji.connection) {
    installPauseGate(zongji.connection as unknown as PausableConnection);
    // Events of other tables are dropped inside zongji unseen; bytes arriving still mean "not caught up".
    const stream = (zongji.connection as unknown as { stream?: NodeJS.EventEmitter }).stream;
    stream?.on('data', () => {
      lastArrival = Date.now();
    });
    stream?.on('close', () => {
      if (!finished) fail(new TransientError(`reading the binlog from ${opts.from.file}:${opts.from.position}: the server closed the binlog connection`));
    });
  }

  // ---- consumer state
  let resume: BinlogPosition = { ...opts.from };
  /** `resume` covers everything taken so far. */
  let safe = true;
  /** Events taken since `resume` was last moved (they are not covered by it while !safe). */
  let sinceSafe = 0;
  let taken = 0;
  let batch: ChangeEvent[] = [];
  const canStop = () => safe || sinceSafe === 0;

  /** Hands the first `count` pending events (all by default) to onBatch. */
  const flush = async (count = batch.length) => {
    if (!batch.length) return;
    const events = batch.length <= count ? batch : batch.slice(0, count);
    batch = batch.length <= count ? [] : batch.slice(count);
    await onBatch(events, !batch.length && canStop() ? { ...resume } : null);
    lastArrival = Math.max(lastArrival, Date.now());
  };

  const timeReason = (): ReadChangesResult['stoppedBy'] | undefined => {
    if (opts.signal?.aborted) return 'aborted';
    if (opts.deadlineMs !== undefined && Date.now() >= opts.deadlineMs) return 'deadline';
    return undefined;
  };

  let stoppedBy: ReadChangesResult['stoppedBy'] | undefined;
  try {
    for (;;) {
      if (failure) throw failure;
      const reason =
        timeReason() ??
        (opts.maxEvents !== undefined && taken >= opts.maxEvents ? 'maxEvents' : undefined) ??
        (opts.until && compareBinlogPositions(resume, opts.until) >= 0 ? 'until' : undefined);
      if (reason && canStop()) {
        stoppedBy = reason;
        break;
      }
      const item = queue[0];
      if (!item) {
        if (batch.length) {
          await flush();
          continue;
        }
        const now = Date.now();
        const idleAt = opts.idleMs !== undefined ? lastArrival + opts.idleMs : Infinity;
        if (now >= idleAt && canStop()) {
          stoppedBy = 'idle';
          break;
        }
        // Sleep until an item arrives or a timer that can still change the outcome fires (inside a statement,
        // a passed idle time or deadline must wait for the statement's remaining rows).
        let wakeAt = now + 60_000;
        if (idleAt > now) wakeAt = Math.min(wakeAt, idleAt);
        if (opts.deadlineMs !== undefined && opts.deadlineMs > now) wakeAt = Math.min(wakeAt, opts.deadlineMs);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            wake = undefined;
            resolve();
          }, Math.max(1, wakeAt - now));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      if (item.kind === 'rows' && opts.maxEvents !== undefined && canStop() && taken > 0 && taken + item.events.length > opts.maxEvents) {
        // Taking this rows event would pass maxEvents, and we can stop before it.
        stoppedBy = 'maxEvents';
        break;
      }
      queue.shift();
      if (item.kind === 'rows') queuedRows -= item.events.length;
      if (paused && queuedRows + queue.length <= lowWater && zongji.connection) {
        paused = false;
        (zongji.connection as unknown as PausableConnection).resume();
      }
      if (item.kind === 'rows') {
        for (const e of item.events) batch.push(e);
        taken += item.events.length;
        if (item.stmtEnd) {
          safe = true;
          resume = item.end;
          sinceSafe = 0;
        } else {
          safe = false;
          sinceSafe += item.events.length;
        }
      } else if (item.kind === 'table') {
        // Inside a statement of a table read: restarting here would lose its TableMap. (A TableMap after rows
        // events without the statement-end flag is not proof of a new statement: MariaDB may write a table's
        // map lazily, when the statement first changes it.)
        safe = false;
      } else if (item.at.file !== resume.file || item.at.position >= resume.position) {
        // A commit, DDL or file boundary: no rows event of the current statement can follow.
        safe = true;
        resume = item.at;
        sinceSafe = 0;
      }
      while (batch.length >= batchSize) await flush(batchSize);
    }
    await flush();
  } finally {
    finished = true;
    opts.signal?.removeEventListener('abort', onAbort);
    await stopZongji(zongji);
  }
  return { position: { ...resume }, events: taken, stoppedBy };
}

async function stopZongji(zongji: ZongJi): Promise<void> {
  zongji.removeAllListeners('binlog');
  zongji.removeAllListeners('error');
  zongji.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000);
    zongji.once('stopped', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      zongji.stop();
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
