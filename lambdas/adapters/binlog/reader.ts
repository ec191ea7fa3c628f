/**
 * A resumable reader of the row changes of a set of tables, over the binlog stream (stream.ts).
 *
 * Positions: `ChangeEvent.position` is the start offset of the rows event that carried the row (identical
 * on every replay); `rowIndex` orders rows inside it. `readChanges` resolves with a *resumable* position
 * (core/safe-point.ts): every change before it has been delivered, none after it, and restarting there is
 * safe. It therefore only stops where no rows event of the current statement can follow: after a rows event
 * flagged STMT_END, a commit, DDL or file boundary. It always stops just before a DDL of a table read
 * (`stoppedBy: 'ddl'`, with the statement and the position after it). `maxEvents`, `deadlineMs` and `idleMs` may be exceeded by
 * the rest of one statement (up to the commit when the statement's last rows event belongs to a table not
 * read).
 *
 * Column metadata: with `columns`, rows are decoded with the columns given per table (as they were at
 * `from`; reading never crosses a DDL of a table read). Without them, and unless the server writes
 * binlog_row_metadata=FULL that zongji can use, zongji reads each table's *current* definition from
 * INFORMATION_SCHEMA when it first meets the table.
 */
import { ConfigError, ReshardError } from '../../core/errors.js';
import type { Ddl, TableRef } from '../../core/ddl.js';
import type { ChangeEvent } from '../../core/events/model.js';
import { comparePositions, type BinlogPosition } from '../../core/position.js';
import { formatGtidPosition, GtidTracker, parseGtidPosition, type GtidPosition } from '../../core/gtid.js';
import { SafePointTracker, type BinlogItem } from '../../core/safe-point.js';
import { BinlogStream, type BinlogConnection, type PhysicalTable } from './stream.js';
import type { BinlogColumn } from '../../core/model.js';

export type { PhysicalTable } from './stream.js';

export interface ReadChangesOptions {
  connection: BinlogConnection;
  /** Replica id announced to the server: unique among everything reading this server's binlog, ≠ its server_id. */
  serverId: number;
  /** Where to start: a position from `currentPosition` or a previous `readChanges`. */
  from: BinlogPosition;
  /** Change events at `from` delivered before (a previous read's `skip`): read again, not delivered. */
  skip?: number | undefined;
  /**
   * Whether the deadline (or an abort) may stop the read inside a statement, once it delivered at least one
   * event: the result's `skip` then says how many events after `position` were delivered. For statements too
   * large to read and hand on within one budget; each read still reads the statement from its start.
   */
  stopInsideStatements?: boolean | undefined;
  /** The database whose `tables` are read (events name them as they are), unless `sources` are given. */
  database?: string | undefined;
  tables?: readonly string[] | undefined;
  /**
   * The physical tables to read, each under the name its events carry (`as`, the logical table): the tables
   * of a sharded source on this server. Replaces `database` and `tables`.
   */
  sources?: readonly PhysicalTable[] | undefined;
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
  /** Per physical table (`database.table`): the columns to decode its rows with (see BinlogStreamOptions.columns). */
  columns?: ReadonlyMap<string, readonly BinlogColumn[]> | undefined;
  /** MariaDB: the GTID position at `from`; the result then has the GTID position at its own position. */
  gtid?: string | undefined;
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

export type StopReason = 'maxEvents' | 'idle' | 'deadline' | 'until' | 'aborted' | 'ddl';

/** A DDL of a table read, or of the ghost of one (`ghost`), where the read stopped (`position` is just before it). */
export interface DdlStop {
  readonly ddl: Ddl;
  /** The database it ran in. */
  readonly schema: string;
  /** The physical tables read that it touches, each with its logical table (`as`); none for a ghost's DDL. */
  readonly touched: readonly (TableRef & { readonly as: string })[];
  /** A DDL of the ghost of a table read (an online schema change tool's, `core/osc.ts`), not of the table. */
  readonly ghost?: true;
  /** The position after it: where reading goes on once it is dealt with. */
  readonly next: BinlogPosition;
  /** With the `gtid` option: the GTID position at `next`. */
  readonly nextGtid?: string;
}

export interface ReadChangesResult {
  /** Resumable (with `skip`): reading again from here delivers nothing already delivered and misses nothing. */
  position: BinlogPosition;
  /** Events after `position` already delivered (0 unless the read stopped inside a statement). */
  skip: number;
  events: number;
  stoppedBy: StopReason;
  /** Set when stopped by a DDL of a table read (stoppedBy 'ddl'). */
  ddl?: DdlStop;
  /** With the `gtid` option: the GTID position at `position` (the event groups ended before it). */
  gtid?: string;
}

/**
 * Streams the row changes of `database`.`tables` (or of `sources`) from `from`, in binlog order, in batches handed to
 * `onBatch` (awaited: the binlog connection is paused while too much is pending). Resolves when
 * `maxEvents`, `until`, `idleMs`, `deadlineMs` or `signal` says so — at the next point a restart is safe from.
 */
export async function readChanges(opts: ReadChangesOptions): Promise<ReadChangesResult> {
  validate(opts);
  const batchSize = opts.batchSize ?? 500;
  const sources = opts.sources ?? (opts.tables ?? []).map((table) => ({ database: opts.database!, table, as: table }));
  const stream = new BinlogStream({ ...opts, sources, highWater: batchSize * 4, lowWater: batchSize, gtids: opts.gtid !== undefined });
  opts.signal?.addEventListener('abort', stream.notify);
  stream.start();
  const reader = new ChangeReader(opts, stream, batchSize);
  try {
    return await reader.run();
  } finally {
    opts.signal?.removeEventListener('abort', stream.notify);
    await stream.stop();
  }
}

function validate(opts: ReadChangesOptions): void {
  const issues: string[] = [];
  if (!Number.isInteger(opts.serverId) || opts.serverId < 1 || opts.serverId > 0xffffffff) issues.push(`serverId: must be an integer in 1..4294967295 (got ${opts.serverId})`);
  if (!opts.from || typeof opts.from.file !== 'string' || !opts.from.file) issues.push('from.file: must name a binlog file');
  if (!opts.from || !Number.isInteger(opts.from.position) || opts.from.position < 4 || opts.from.position > 0xffffffff) {
    issues.push(`from.position: must be an integer in 4..4294967295 (got ${opts.from?.position})`);
  }
  if (opts.sources) {
    if (!opts.sources.length) issues.push('sources: at least one table');
  } else {
    if (!opts.database) issues.push('database: required');
    if (!opts.tables?.length) issues.push('tables: at least one table');
  }
  if (opts.maxEvents !== undefined && !(Number.isInteger(opts.maxEvents) && opts.maxEvents > 0)) issues.push('maxEvents: must be a positive integer');
  if (opts.idleMs !== undefined && !(opts.idleMs >= 0)) issues.push('idleMs: must be ≥ 0');
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) issues.push('batchSize: must be a positive integer');
  if (opts.maxEvents === undefined && opts.idleMs === undefined && opts.deadlineMs === undefined && !opts.until && !opts.signal) {
    issues.push('one of maxEvents, idleMs, deadlineMs, until or signal is required (the binlog never ends)');
  }
  if (issues.length) throw new ConfigError('invalid readChanges options', issues);
}

/** The consumer side of one `readChanges`: takes items off the stream, batches their events, decides when to stop. */
class ChangeReader {
  private readonly safePoint: SafePointTracker;
  /** Events taken, not yet handed to onBatch. */
  private batch: ChangeEvent[] = [];
  private taken = 0;
  private skipLeft: number;
  private ddl: DdlStop | undefined;
  /** With a seed: the GTID position of what was taken… */
  private readonly gtids: GtidTracker | undefined;
  /** …which is the one at the last safe point while its version is this; else the copy kept. */
  private safeVersion = 0;
  private safeCopy: GtidPosition | undefined;

  constructor(
    private readonly opts: ReadChangesOptions,
    private readonly stream: BinlogStream,
    private readonly batchSize: number,
  ) {
    this.safePoint = new SafePointTracker(opts.from);
    this.skipLeft = opts.skip ?? 0;
    if (opts.gtid !== undefined) {
      const seed = parseGtidPosition(opts.gtid);
      if (!seed) throw new ConfigError(`invalid readChanges options`, [`gtid: not a GTID position (domain-server-seq, …): ${opts.gtid}`]);
      this.gtids = new GtidTracker(seed);
    }
  }

  /**
   * Events after the result's position already delivered: while the last safe point is still `from`, the
   * ones delivered before this read (`skip`, even those not read again yet) plus this read's; after a later
   * safe point, those taken since it.
   */
  private resumeSkip(): number {
    const { safePoint, opts } = this;
    if (comparePositions(safePoint.position, opts.from) === 0) return (opts.skip ?? 0) + this.taken;
    return safePoint.pending;
  }

  async run(): Promise<ReadChangesResult> {
    const { stream, safePoint } = this;
    let stoppedBy: StopReason | undefined;
    while (stoppedBy === undefined) {
      if (stream.failure) throw stream.failure;
      const reason = this.stopReason();
      if (reason && (safePoint.canStop || this.mayStopInside(reason))) {
        stoppedBy = reason;
        break;
      }
      const item = stream.peek();
      if (!item) {
        stoppedBy = await this.whenQueueEmpty();
        continue;
      }
      if (this.wouldPassMaxEvents(item)) {
        stoppedBy = 'maxEvents';
        break;
      }
      if (item.kind === 'ddl') {
        // A DDL commits what came before it: the position before it is resumable, and nothing after it is read.
        if (!safePoint.canStop) throw new ReshardError(`DDL at ${item.at.file}:${item.at.position} inside a statement of a table read: ${item.ddl.statement}`);
        const gtids = this.gtids;
        const nextGtid = gtids && formatGtidPosition(item.gtid ? gtids.with(item.gtid) : gtids.snapshot());
        this.ddl = { ddl: item.ddl, schema: item.schema, touched: item.touched, ...(item.ghost ? { ghost: true as const } : {}), next: item.at, ...(nextGtid !== undefined ? { nextGtid } : {}) };
        stoppedBy = 'ddl';
        break;
      }
      stream.shift();
      this.take(item);
      while (this.batch.length >= this.batchSize) await this.flush(this.batchSize);
    }
    await this.flush();
    return {
      position: { ...safePoint.position },
      skip: this.resumeSkip(),
      events: this.taken,
      stoppedBy,
      ...(this.ddl ? { ddl: this.ddl } : {}),
      ...(this.gtids ? { gtid: formatGtidPosition(this.safeCopy ?? this.gtids.snapshot()) } : {}),
    };
  }

  /** A stop inside a statement: allowed at the deadline or an abort, once this read delivered something new. */
  private mayStopInside(reason: StopReason): boolean {
    return !!this.opts.stopInsideStatements && (reason === 'deadline' || reason === 'aborted') && this.taken > 0;
  }

  /** Why the read should end now, if it should (it ends at the next safe point). */
  private stopReason(): StopReason | undefined {
    const { opts } = this;
    if (opts.signal?.aborted) return 'aborted';
    if (opts.deadlineMs !== undefined && Date.now() >= opts.deadlineMs) return 'deadline';
    if (opts.maxEvents !== undefined && this.taken >= opts.maxEvents) return 'maxEvents';
    if (opts.until && this.safePoint.reached(opts.until)) return 'until';
    return undefined;
  }

  /** Taking this rows event would pass maxEvents, and the read can stop before it. */
  private wouldPassMaxEvents(item: BinlogItem): boolean {
    const { maxEvents } = this.opts;
    return item.kind === 'rows' && maxEvents !== undefined && this.safePoint.canStop && this.taken > 0 && this.taken + item.events.length > maxEvents;
  }

  private take(item: BinlogItem): void {
    if (item.kind === 'rows') {
      // Events a previous read delivered already (its `skip`) are read again and dropped.
      const skipped = Math.min(this.skipLeft, item.events.length);
      this.skipLeft -= skipped;
      for (let i = skipped; i < item.events.length; i++) this.batch.push(item.events[i]!);
      this.taken += item.events.length - skipped;
    }
    const { gtids, safePoint } = this;
    const ended = item.kind === 'gtid' || item.kind === 'mark' ? item.gtid : undefined;
    if (gtids && ended) {
      // A group that ends where the safe point stays: keep the position of the safe point first.
      if (!(item.kind === 'mark' && safePoint.movesTo(item.at)) && !this.safeCopy && this.safeVersion === gtids.version) this.safeCopy = gtids.snapshot();
      gtids.ended(ended);
    }
    const before = safePoint.position;
    safePoint.take(item);
    if (gtids && safePoint.position !== before) {
      this.safeVersion = gtids.version;
      this.safeCopy = undefined;
    }
  }

  /**
   * Nothing queued: hands on what is batched; else stops when idle, or sleeps until an item arrives or a
   * timer that can still change the outcome fires (inside a statement, a passed idle time or deadline must
   * wait for the statement's remaining rows).
   */
  private async whenQueueEmpty(): Promise<StopReason | undefined> {
    if (this.batch.length) {
      await this.flush();
      return undefined;
    }
    const { opts, stream } = this;
    const now = Date.now();
    const idleAt = opts.idleMs !== undefined ? stream.lastArrival + opts.idleMs : Infinity;
    if (now >= idleAt && this.safePoint.canStop) return 'idle';
    let wakeAt = now + 60_000;
    if (idleAt > now) wakeAt = Math.min(wakeAt, idleAt);
    if (opts.deadlineMs !== undefined && opts.deadlineMs > now) wakeAt = Math.min(wakeAt, opts.deadlineMs);
    await stream.wait(wakeAt - now);
    return undefined;
  }

  /** Hands the first `count` batched events (all by default) to onBatch. */
  private async flush(count = this.batch.length): Promise<void> {
    const { batch } = this;
    if (!batch.length) return;
    const events = batch.length <= count ? batch : batch.slice(0, count);
    this.batch = batch.length <= count ? [] : batch.slice(count);
    await this.opts.onBatch(events, this.batch.length ? null : this.safePoint.checkpoint());
    this.stream.lastArrival = Math.max(this.stream.lastArrival, Date.now());
  }
}
