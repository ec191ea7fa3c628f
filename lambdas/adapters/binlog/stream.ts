/**
 * The binlog connection (zongji) as a queue of items for one database's tables: rows events of the tables
 * read as change events, TableMaps, and the boundaries a reader may resume after (core/safe-point.ts).
 * zongji's 'binlog' handler is synchronous; the queue decouples it from a consumer that awaits, pausing the
 * connection while too much waits (backpressure).
 *
 * Positions come from the events' end_log_pos (start = end - length). Rows events of other tables are
 * filtered inside zongji, so marks only appear at boundaries the stream sees (commits of any table, DDL,
 * rotations). Rows events need a real end position: servers that write end_log_pos = 0 inside transactions
 * (MariaDB 11.4+) fail the stream.
 */
import ZongJi, { type AnyBinlogEvent, type MariadbGtidEvent, type QueryEvent, type RotateEvent, type TableMapEntry, type UpdateRowsEvent, type WriteRowsEvent } from '@vlasky/zongji';
import type { ConnectionOptions, SslOptions } from 'mysql2';
import { ReshardError, SchemaError, TransientError } from '../../core/errors.js';
import { parseDdl, refKey, touchedTables } from '../../core/ddl.js';
import type { ChangeOp } from '../../core/events/model.js';
import type { BinlogPosition } from '../../core/position.js';
import type { BinlogItem } from '../../core/safe-point.js';
import type { BinlogColumn } from '../../core/model.js';
import { GroupTracker } from '../../core/gtid.js';
import { ghostDdlOf } from '../../core/osc.js';
import { dbError } from '../mysql/pool.js';
import { changeEventsOf, converterFor, type TableConverter } from './values.js';

export interface BinlogConnection {
  host: string;
  port: number;
  user: string;
  password?: string | undefined;
  connectTimeoutMs?: number | undefined;
  /** mysql2's TLS options (`tlsOptions`); plain TCP when absent. */
  tls?: SslOptions | undefined;
}

/** The requested binlog position does not exist (purged, rotated away, past the end, or not an event boundary). */
export class BinlogPositionError extends ReshardError {}

export interface BinlogStreamOptions {
  readonly connection: BinlogConnection;
  /** Replica id announced to the server. */
  readonly serverId: number;
  readonly from: BinlogPosition;
  /** The tables read, each with the name its events carry. */
  readonly sources: readonly PhysicalTable[];
  /** Per table (the name events carry): the columns of an update's before image to decode (see ReadChangesOptions). */
  readonly updateBeforeColumns?: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  /**
   * Per physical table (`database.table`): its columns as they were when the position `from` was written, in
   * INFORMATION_SCHEMA.COLUMNS form (`binlogColumnsOf`). Rows are decoded with these, not with the table's
   * current definition, so a backlog read after a DDL already ran decodes right. A TableMap whose column
   * count differs fails the stream (the table changed without a DDL seen here). Absent: the current definition.
   */
  readonly columns?: ReadonlyMap<string, readonly BinlogColumn[]> | undefined;
  /** Pause the connection once this many rows plus items wait. */
  readonly highWater: number;
  /** Resume it once no more than this many wait. */
  readonly lowWater: number;
  /** Follow MariaDB event groups: marks carry the group they end (`BinlogItem`). */
  readonly gtids?: boolean | undefined;
}

/** A table read from the binlog, and the name its events carry (`as`: the logical table). */
export interface PhysicalTable {
  readonly database: string;
  readonly table: string;
  readonly as: string;
}

/** Rows events flag: the last rows event of its statement. */
const STMT_END_F = 0x0001;
/** Events after which no rows event of the current statement can follow, and which carry a real end position. */
const BOUNDARY_EVENTS = new Set(['xid', 'query', 'format', 'mariadbgtidlist', 'binlogcheckpoint', 'previousgtids', 'xaprepare']);
const ROW_OPS = new Map<string, ChangeOp>([
  ['writerows', 'insert'],
  ['updaterows', 'update'],
  ['deleterows', 'delete'],
]);

/** What a boundary event ends (`GroupTracker.boundary`): a commit its event group, any other statement itself. */
function endsOf(name: string, event: AnyBinlogEvent): 'group' | 'statement' | undefined {
  if (name === 'xid') return 'group';
  if (name !== 'query') return undefined;
  const sql = (event as QueryEvent).query.trim().toUpperCase();
  return sql === 'COMMIT' || sql === 'ROLLBACK' || sql.startsWith('XA COMMIT') || sql.startsWith('XA ROLLBACK') ? 'group' : 'statement';
}

interface PausableConnection {
  pause(): void;
  resume(): void;
}

/** Connection options giving the same value representations as poolOptions (mysql.ts); TIMESTAMP text in UTC. */
function connectionOptions(c: BinlogConnection): ConnectionOptions {
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password ?? '',
    connectTimeout: c.connectTimeoutMs ?? 10_000,
    ...(c.tls ? { ssl: c.tls } : {}),
    charset: 'utf8mb4_general_ci',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    timezone: 'Z',
  };
}

export class BinlogStream {
  /** Set once the stream failed; the consumer throws it. */
  failure: Error | undefined;
  /** When anything last arrived on the connection (or the consumer last finished handing events on), ms. */
  lastArrival = Date.now();
  private readonly zongji: ZongJi;
  private readonly queue: BinlogItem[] = [];
  private queuedRows = 0;
  private paused = false;
  private finished = false;
  private file: string;
  private wake: (() => void) | undefined;
  private readonly converters = new WeakMap<TableMapEntry, TableConverter>();
  /** `database.table` → the name its events carry. */
  private readonly names = new Map<string, string>();
  private readonly watched: ReadonlySet<string>;
  /** A DDL of a table read was queued: later events are dropped. */
  private pastDdl = false;
  /** With `gtids`: the MariaDB event group being read. */
  private readonly groups: GroupTracker | undefined;

  constructor(private readonly opts: BinlogStreamOptions) {
    this.file = opts.from.file;
    this.groups = opts.gtids ? new GroupTracker() : undefined;
    this.zongji = new ZongJi(connectionOptions(opts.connection));
    for (const s of opts.sources) this.names.set(`${s.database}.${s.table}`, s.as);
    this.watched = new Set(this.names.keys());
    // Read by patches/@vlasky+zongji+*.patch (rows_event.js), keyed by 'schema.table'.
    const before = opts.updateBeforeColumns;
    if (before)
      (this.zongji as unknown as { updateBeforeColumns: Map<string, ReadonlySet<string>> }).updateBeforeColumns = new Map(
        opts.sources.flatMap((s) => (before.has(s.as) ? [[`${s.database}.${s.table}`, before.get(s.as)!] as const] : [])),
      );
  }

  /** Connects and starts streaming from `from`. */
  start(): void {
    const { zongji, opts } = this;
    this.decodeWithKnownColumns();
    zongji.on('binlog', (event: AnyBinlogEvent) => this.onBinlog(event));
    zongji.on('error', (err: Error) => {
      if (!this.finished) this.fail(binlogError(err, opts.from));
    });
    const includeSchema: Record<string, string[]> = {};
    for (const s of opts.sources) (includeSchema[s.database] ??= []).push(s.table);
    zongji.start({ serverId: opts.serverId, filename: opts.from.file, position: opts.from.position, includeSchema });
    if (zongji.connection) {
      installPauseGate(zongji.connection);
      // Events of other tables are dropped inside zongji unseen; bytes arriving still mean "not caught up".
      const stream = (zongji.connection as unknown as { stream?: NodeJS.EventEmitter }).stream;
      stream?.on('data', () => {
        this.lastArrival = Date.now();
      });
      stream?.on('close', () => {
        if (!this.finished) this.fail(new TransientError(`reading the binlog from ${opts.from.file}:${opts.from.position}: the server closed the binlog connection`));
      });
    }
  }

  /** The next item, left in the queue. */
  peek(): BinlogItem | undefined {
    return this.queue[0];
  }

  /** Removes the next item; resumes the connection once the queue is down to `lowWater`. */
  shift(): void {
    const item = this.queue.shift();
    if (item?.kind === 'rows') this.queuedRows -= item.events.length;
    if (this.paused && this.queuedRows + this.queue.length <= this.opts.lowWater && this.zongji.connection) {
      this.paused = false;
      (this.zongji.connection as unknown as PausableConnection).resume();
    }
  }

  /** Resolves when an item arrives, the stream fails, `notify` is called, or after `ms` (at least 1). */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, Math.max(1, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends a pending `wait`. */
  readonly notify = (): void => {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  };

  /** Stops streaming and closes the connection (waits up to 3 s for zongji to stop). */
  async stop(): Promise<void> {
    this.finished = true;
    const { zongji } = this;
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

  private fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  /** Queues an item; pauses the connection while more than highWater rows (or items) wait. */
  private push(item: BinlogItem): void {
    this.queue.push(item);
    if (item.kind === 'rows') this.queuedRows += item.events.length;
    if (!this.paused && this.queuedRows + this.queue.length >= this.opts.highWater && this.zongji.connection) {
      this.paused = true;
      (this.zongji.connection as unknown as PausableConnection).pause();
    }
    this.notify();
  }

  private onBinlog(event: AnyBinlogEvent): void {
    // Nothing after a DDL of a table read is delivered: the reader stops before it.
    if (this.finished || this.failure || this.pastDdl) return;
    this.lastArrival = Date.now();
    const name = event.getEventName();
    if (name === 'rotate') {
      const r = event as RotateEvent;
      this.file = r.binlogName;
      this.push({ kind: 'mark', at: { file: this.file, position: Number(r.position) } });
      return;
    }
    if (name === 'tablemap') {
      this.push({ kind: 'table' });
      return;
    }
    const op = ROW_OPS.get(name);
    if (op) {
      this.onRows(event as WriteRowsEvent | UpdateRowsEvent, op);
      return;
    }
    const groups = this.groups;
    if (name === 'mariadbgtid') {
      if (!groups) return;
      const g = event as MariadbGtidEvent;
      const ended = groups.begin({ domain: g.domainId, server: g.serverId, seq: BigInt(g.seqNo) }, g.standalone);
      if (ended) this.push({ kind: 'gtid', gtid: ended });
      return;
    }
    if (name === 'query' && event.nextPosition > 0 && this.onQuery(event as QueryEvent)) return;
    if (BOUNDARY_EVENTS.has(name) && event.nextPosition > 0) {
      const ends = groups && endsOf(name, event);
      const gtid = ends && groups.boundary(ends);
      this.push({ kind: 'mark', at: { file: this.file, position: event.nextPosition }, ...(gtid ? { gtid } : {}) });
    }
  }

  /** Queues a DDL of a table read as a `ddl` item; false for any other statement. */
  private onQuery(q: QueryEvent): boolean {
    const sql = q.query;
    if (sql.length < 8 || sql === 'BEGIN' || sql === 'COMMIT') return false;
    const ddl = parseDdl(sql, q.schema);
    if (!ddl) return false;
    const touched = touchedTables(ddl, this.watched);
    const ghost = !touched.length && ghostDdlOf(ddl, this.watched) !== undefined;
    if (!touched.length && !ghost) return false;
    this.pastDdl = true;
    const gtid = this.groups?.standalone;
    this.push({
      kind: 'ddl',
      ddl,
      schema: q.schema,
      touched: touched.map((t) => ({ ...t, as: this.names.get(refKey(t))! })),
      ...(ghost ? { ghost: true as const } : {}),
      at: { file: this.file, position: q.nextPosition },
      ...(gtid ? { gtid } : {}),
    });
    return true;
  }

  /**
   * zongji reads a table's columns from INFORMATION_SCHEMA when it meets a TableMap it has not seen: the
   * current definition. For the tables given `columns`, the known ones are used instead (checked against the
   * TableMap's column count).
   */
  private decodeWithKnownColumns(): void {
    const known = this.opts.columns;
    if (!known?.size) return;
    const zongji = this.zongji as unknown as {
      tableMap: Record<number, unknown>;
      _fetchTableInfo: (ev: { tableId: number; schemaName: string; tableName: string; columnCount: number }, next: () => void) => void;
    };
    const fetchCurrent = zongji._fetchTableInfo.bind(zongji);
    zongji._fetchTableInfo = (ev, next) => {
      const columns = known.get(`${ev.schemaName}.${ev.tableName}`);
      // Past a DDL of a table read nothing is delivered: any definition will do.
      if (!columns || this.pastDdl) return fetchCurrent(ev, next);
      if (columns.length !== ev.columnCount) {
        this.fail(
          new SchemaError(
            `${ev.schemaName}.${ev.tableName} has ${ev.columnCount} columns in the binlog after ${this.file} but ${columns.length} in the plan ` +
              `(${columns.map((c) => c.COLUMN_NAME).join(', ')}): its definition changed without a DDL capture saw (e.g. before the plan's start position). ` +
              'Plan the table again (reshard plan), or align the plan with `reshard ddl apply` after running the change on the targets',
          ),
        );
        return;
      }
      // zongji adjusts the entries it gets (signedness): each TableMap gets copies.
      zongji.tableMap[ev.tableId] = { columnSchemas: columns.map((c) => ({ ...c })), parentSchema: ev.schemaName, tableName: ev.tableName };
      next();
    };
  }

  private onRows(r: WriteRowsEvent | UpdateRowsEvent, op: ChangeOp): void {
    const entry = this.zongji.tableMap[r.tableId];
    const name = entry && this.names.get(`${entry.parentSchema}.${entry.tableName}`);
    if (!entry || name === undefined) return;
    const file = this.file;
    if (!(r.nextPosition > 0)) {
      this.fail(
        new ReshardError(
          `rows event of ${entry.parentSchema}.${entry.tableName} after ${file} has no end position (end_log_pos = 0, as MariaDB 11.4+ writes inside transactions): ` +
            'this reader needs servers that write event end positions',
        ),
      );
      return;
    }
    let conv = this.converters.get(entry);
    if (!conv) this.converters.set(entry, (conv = converterFor(entry)));
    const headerLength = this.zongji.useChecksum ? 23 : 19;
    const position: BinlogPosition = { file, position: r.nextPosition - (r.size + headerLength) };
    const events = changeEventsOf(r, op, name, position, conv);
    this.push({ kind: 'rows', events, end: { file, position: r.nextPosition }, stmtEnd: (r.flags & STMT_END_F) !== 0 });
  }
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

function binlogError(err: unknown, from: BinlogPosition): Error {
  const e = err as { errno?: number; code?: string; message?: string; sqlMessage?: string };
  const where = `reading the binlog from ${from.file}:${from.position}`;
  if (e.errno === 1236 || e.code === 'ER_MASTER_FATAL_ERROR_READING_BINLOG') {
    return new BinlogPositionError(
      `${where}: ${e.sqlMessage ?? e.message ?? String(err)} (the file was purged, or the position is not the start of an event). ` +
        'If it was purged, the changes since then can no longer be captured: keep binlogs longer (RDS/Aurora: binlog retention hours) and start the migration again',
      { cause: err },
    );
  }
  if (err instanceof Error && !e.code && !e.errno) return new ReshardError(`${where}: ${err.message}`, { cause: err });
  return dbError(err, where);
}
