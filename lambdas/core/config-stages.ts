/** The migration config's settings per stage: copy, throttle, CDC, cut-over and verification. */
import { z } from 'zod';
import { connectionSchema } from './config-connection.js';

export const copySchema = z
  .object({
    /** Most rows per keyset page (and per checkpoint). */
    pageSize: z.number().int().min(1).max(100_000).default(20_000),
    /**
     * About how many bytes of rows a page holds: a table of wide rows gets pages of fewer than `pageSize`
     * rows (measured per page; the first from the table's average row length), so that a page and the one
     * read ahead fit in the function's memory.
     */
    pageBytes: z.number().int().min(65_536).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Key-range segments per table (each one a Map iteration). */
    segments: z.number().int().min(1).max(10_000).default(8),
    /** Segments copied at once (Map MaxConcurrency). */
    concurrency: z.number().int().min(1).max(1000).default(4),
    /** Concurrent target-table writes per page. */
    writeConcurrency: z.number().int().min(1).max(64).default(8),
    /**
     * How rows are written: `load` = LOAD DATA LOCAL INFILE (needs `local_infile` on the target), `insert` =
     * multi-row INSERT, `auto` (default) = load, falling back to insert once a server refuses it. A load runs
     * in a transaction and is kept only if every row went in fresh with no warning (LOCAL makes the server
     * skip existing keys and clamp bad values instead of failing); otherwise the rows go through the guarded
     * upsert (a temporary copy of the table, then INSERT … SELECT with the guard), which fails loudly on a
     * value that does not fit. With `copy.rowLiterals` the source renders each row as a line of the load
     * file, and the target server reads it without its SQL parser: on the 1M-row bench here the servers'
     * CPU −20–25% against INSERT. Tables with BIT columns are written with INSERT.
     */
    writeMethod: z.enum(['auto', 'load', 'insert']).default('auto'),
    /**
     * The source renders each row as one value — a LOAD DATA line (see `writeMethod`) or an INSERT literal
     * (QUOTE(), HEX()) — that the copy writes as it is, instead of reading every column as a value and
     * escaping it again: Node's CPU per row about −50%. Tables with a column type the rendering is not known
     * to reproduce exactly (INET4/INET6, UUID, …) are read as values anyway.
     */
    rowLiterals: z.boolean().default(true),
    /** 0 = unlimited. */
    maxRowsPerSec: z.number().min(0).default(0),
    /** A copy-batch call stops taking new pages after this long and returns `{done:false}`. */
    timeBudgetSeconds: z.number().min(1).max(840).default(600),
    /** Segment lease length; renewed at every checkpoint. */
    leaseSeconds: z.number().min(1).max(3600).default(120),
  })
  .strict()
  .prefault({});

/**
 * The copy pauses while a server is busy (gh-ost's and pt-online-schema-change's throttle, Vitess' throttler):
 * checked before a page, at most every `checkIntervalMs`, on the source servers and the target servers, on
 * `replica` when set, and against change capture's lag (CDC has priority over the copy).
 */
export const throttleSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Pause while `Threads_running` (SHOW GLOBAL STATUS) on a source or target server is above this (pt-online-schema-change's default). */
    maxThreadsRunning: z.number().int().min(1).max(100_000).default(25),
    /**
     * Pause while InnoDB's history list length (undo logs not purged yet) on a source or target server is
     * above this: past about a million, reads slow down and purge falls further behind.
     */
    maxHistoryListLength: z.number().int().min(1).default(1_000_000),
    /** Pause while `replica` is further behind its primary than this, or its replication is not running (Vitess' default). */
    maxReplicaLagSeconds: z.number().min(0).max(86_400).default(5),
    /**
     * With CDC: pause while change capture of a source server is further behind than this. On AWS capture runs
     * once a minute, so up to a minute behind is its normal rhythm.
     */
    maxCdcLagSeconds: z.number().min(1).max(86_400).default(120),
    /** Readings are taken before a page, at most this often; a paused copy reads again after this long. */
    checkIntervalMs: z.number().int().min(100).max(60_000).default(1000),
    /** A replica of the source whose lag the copy watches (its user needs `REPLICATION CLIENT`, `SLAVE MONITOR` on MariaDB). */
    replica: connectionSchema.optional(),
  })
  .strict()
  .prefault({});

export const cdcSchema = z
  .object({
    /** Capture the source binlog from plan time on and apply the changes to the targets. */
    enabled: z.boolean().default(false),
    /** Replica id announced to the source: unique among its replicas, different from its server_id. */
    serverId: z.number().int().min(1).max(4294967295).default(7001),
    /**
     * FIFO message group of a change: `target` (default) = the row's target table, `shardKey` = the row's
     * shard key. Both keep every key's changes in binlog order (a key always routes to one target); `target`
     * lets one message carry many changes (far fewer SQS requests), `shardKey` gives the most parallel groups.
     */
    messageGroup: z.enum(['target', 'shardKey']).default('target'),
    /** Read and pack the binlog in a worker thread beside capture's sends (experimental; ~20% faster on the bench). */
    worker: z.boolean().default(false),
    /** Receives before a change message goes to the DLQ. */
    maxReceiveCount: z.number().int().min(1).max(1000).default(5),
    /** Concurrent apply invocations (Lambda maximum concurrency; local pollers). */
    applyConcurrency: z.number().int().min(1).max(1000).default(4),
    /** One capture run's budget (it is started every minute on AWS). */
    captureBudgetSeconds: z.number().min(1).max(840).default(50),
    /**
     * A DDL on a migrated source table (ALTER, RENAME, DROP, TRUNCATE, CREATE/DROP INDEX, an online schema
     * change tool's table swap): `stop` (default) stops capture of that server just before it until
     * `reshard ddl apply` or `reshard ddl skip`; `exec` runs an ALTER, TRUNCATE or index change on every target
     * table itself once the changes before it are applied, and goes on (anything else stops as under `stop`);
     * `ignore` goes on past DDL that changes no column (indexes, comments) and stops at any other.
     */
    onDdl: z.enum(['stop', 'exec', 'ignore']).default('stop'),
    /**
     * A source endpoint that reaches another server than the one capture's position is of (a failover):
     * `stop` (default) stops capture of it until `reshard capture-source accept`; `gtid` (MariaDB) goes on by
     * itself where the changes after capture's GTID position begin in that server's binlog, and stops as
     * under `stop` when that server has not got them all.
     */
    onSourceChange: z.enum(['stop', 'gtid']).default('stop'),
  })
  .strict()
  .prefault({});

export const cutoverSchema = z
  .object({
    /** Precheck refuses while CDC on any source server is further behind than this. */
    maxLagSeconds: z.number().min(0).max(3600).default(5),
    /**
     * How writes to the migrated source tables stop: `lock` (a session holding FLUSH TABLES … WITH READ LOCK
     * on them; granted once in-flight transactions end), `read-only` (SET GLOBAL read_only, super_read_only
     * on MySQL, on each source server: users with the privilege to bypass it are not stopped), `external`
     * (the application stops writing; the operator confirms).
     */
    freeze: z.enum(['lock', 'read-only', 'external']).default('lock'),
    /** Catch-up and the final check must finish within this after the freeze, else the source is thawed and the cut-over fails. */
    freezeTimeoutSeconds: z.number().min(1).max(3600).default(30),
    /**
     * Precheck, then wait ready to switch (capture keeps following the binlog) until the operator sends the go:
     * `reshard cutover --go`, or SendTaskSuccess on the Cutover execution's ReadyToSwitch task from the console.
     */
    postpone: z.boolean().default(false),
    /**
     * Reverse replication for rollback: at the switch, capture starts on every target server from its position
     * then, and carries the changes made on the new layout back to the old one (the same capture, FIFO and apply
     * pipeline, routed by the source's rule), until `reshard rollback`. Needs CDC, binary logging (ROW, FULL)
     * on the target servers, and `source.routing` when the source is sharded.
     */
    reverse: z.boolean().default(false),
  })
  .strict()
  .prefault({});

export const verifySchema = z
  .object({
    /** Verify every segment after it is copied (the state machine's VerifySegments stage). */
    enabled: z.boolean().default(true),
    /** Rewrite differing/missing rows from a fresh source read and delete extras, then compare again. */
    repair: z.boolean().default(false),
    /**
     * Source rows per verification batch (one checksum query on the source and one per target table, one
     * dirty-record state item). 100,000 proved ~12% faster than 50,000 on the bench (fewer statements per
     * row); a batch that differs is compared row by row whole, so smaller batches make dirty ones cheaper.
     */
    batchRows: z.number().int().min(100).max(1_000_000).default(100_000),
    /** One verify-batch call's budget before it returns its cursor to the state machine. */
    timeBudgetSeconds: z.number().min(1).max(840).default(600),
    /** With CDC: how long a batch that differs waits for CDC to catch up before it is compared again. */
    settleSeconds: z.number().min(1).max(840).default(120),
  })
  .strict()
  .prefault({});
