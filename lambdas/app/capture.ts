/**
 * CDC capture: read ROW events from the checkpointed binlog position, send them to the SQS FIFO queue
 * (group = shard key, dedup id = binlog position + row index, consecutive events of one group packed into
 * one message), and only then move the checkpoint. One capture at a time (DynamoDB lease); a run stops
 * before its time budget and the next one resumes from the checkpoint. A crash between send and
 * checkpoint resends the same messages (same dedup ids; apply is idempotent beyond the dedup window).
 */
import { keyColumnsOf, type MigrationConfig } from '../core/config.js';
import { readChanges, type DdlStop, type PhysicalTable, type ReadChangesOptions } from '../adapters/binlog/reader.js';
import { dealWithDdl, decodeColumns, drained, pausedDdl, swapOf, whyStopped, type DdlOutcome } from './ddl.js';
import { afterGhostDdl, withoutGhost } from '../core/osc.js';
import { sourceServer, sourceUnits } from '../core/source-layout.js';
import { freshCredentials, passwordOf, tlsOptions, userOf } from '../adapters/mysql/pool.js';
import { AccessDeniedError } from '../core/errors.js';
import { compressMessages, compressMessagesNow } from '../core/events/compress.js';
import type { ChangeEvent, OutgoingMessage } from '../core/events/model.js';
import { comparePositions, type BinlogPosition } from '../core/position.js';
import type { ChangeQueue } from '../adapters/sqs.js';
import type { BinlogColumn, CaptureState, PausedDdl } from '../core/model.js';
import type { AppContext } from './context.js';
import { REVERSE_SUFFIX } from '../core/reverse-id.js';
import { dedupPrefixOf, FlushBuffer, packerFor, type PackedFlush, type PackRequest } from './capture-pack.js';
import { captureWorkerFile, prewarmCaptureWorker, readPackedInWorker } from './capture-pipeline.js';
import { checkCaptureSource } from './capture-source.js';

export { groupOf, keyOnly, keysOnlyBefore } from './capture-pack.js';

/** Reads change events from `from` (see `adapters/binlog/reader.ts`), awaiting `onBatch` before reading on. */
export type ReadChanges = (opts: {
  from: BinlogPosition;
  /** Events at `from` sent before (a checkpoint inside a statement): read again, not delivered. */
  skip?: number;
  /** MariaDB: the GTID position at `from`; the result then has the one at its position. */
  gtid?: string;
  /** The deadline may stop the read inside a statement (the result's `skip` says where). */
  stopInsideStatements?: boolean;
  /** The physical tables to read on this server, each with its logical table (`capturedTables`). */
  sources: PhysicalTable[];
  maxEvents: number;
  idleMs: number;
  /** Absolute time (ms since the epoch) to stop at. */
  deadlineMs: number;
  /** Stop once everything up to this position was read. */
  until?: BinlogPosition;
  /** Largest batch handed to `onBatch` (one SendMessageBatch sequence; bigger batches pack fuller messages). */
  batchSize?: number;
  /** Per physical table (`database.table`): the columns to decode its rows with (`decodeColumns`). */
  columns?: ReadonlyMap<string, readonly BinlogColumn[]>;
  onBatch: (events: ChangeEvent[]) => Promise<void>;
  /**
   * Offered by capture: a reader may pack on its own side (the source reader does, in a worker thread) and
   * hand over packed flushes, in order, through `onPacked` instead of events through `onBatch`; one or the
   * other for a whole read. Readers that do not pack ignore it.
   */
  pack?: PackRequest & { readonly onPacked: (flush: PackedFlush) => Promise<void> };
}) => Promise<{ position: BinlogPosition; skip?: number; events: number; ddl?: DdlStop; gtid?: string }>;

/**
 * Reads the binlog of source server `server` (index into the source servers) as the configured replica
 * (`cdc.serverId`, or `serverId` for a reader running beside capture): the physical tables of every logical
 * table placed on it, each event named by its logical table.
 */
export function sourceBinlogReader(config: MigrationConfig, server = 0, serverId = config.cdc.serverId): ReadChanges {
  const src = sourceServer(config.source, server);
  // The login as the secrets hold it now: a rotated password is read again after a refused login, once.
  const connection = () => ({ host: src.host, port: src.port, user: userOf(src), password: passwordOf(src), connectTimeoutMs: src.connectTimeoutMs, tls: tlsOptions(src) });
  // Capture's own reader loads its worker now, while capture takes its lease; a reader beside capture (another
  // replica id, e.g. the cut-over's check) is never asked to pack and needs none.
  if (config.cdc.worker && serverId === config.cdc.serverId) void prewarmCaptureWorker();
  return async ({ onBatch, pack, ...opts }) => {
    // With `cdc.worker`, capture's reads run in a worker thread that packs too (capture-pipeline.ts); other reads, on this one.
    const worker = pack && config.cdc.worker ? captureWorkerFile() : undefined;
    const read = () => {
      const o = { ...opts, connection: connection(), ...captureReadOptions(config), serverId };
      return pack && worker ? readPackedInWorker(o, pack, worker) : readChanges({ ...o, onBatch });
    };
    try {
      return await read();
    } catch (err) {
      // Refused at connect, before any event was delivered.
      if (!(err instanceof AccessDeniedError)) throw err;
      await freshCredentials();
      return read();
    }
  };
}

/** The physical tables whose changes capture reads on source server `server`, each with its logical table. */
export function capturedTables(config: MigrationConfig, server: number): PhysicalTable[] {
  return config.tables.flatMap((t) =>
    sourceUnits(config.source, t)
      .filter((u) => u.server === server)
      .map((u) => ({ database: u.database, table: u.tableName, as: t.name })),
  );
}

/**
 * The replica id of a binlog reader running while capture is connected (the cut-over's check): a server drops
 * a replica when another connects with the same id. `cdc.serverId + 1` (− 1 at the top of the range).
 */
export function sideReaderServerId(config: MigrationConfig): number {
  return config.cdc.serverId < 0xffffffff ? config.cdc.serverId + 1 : config.cdc.serverId - 1;
}

/**
 * How capture reads the binlog: as the configured replica, and decoding of an update's before image only
 * its keys (it travels with its keys only: `keysOnlyBefore`).
 */
export function captureReadOptions(config: MigrationConfig): Pick<ReadChangesOptions, 'serverId' | 'updateBeforeColumns'> {
  return { serverId: config.cdc.serverId, updateBeforeColumns: new Map(config.tables.map((t) => [t.name, new Set(keyColumnsOf(t))])) };
}

export interface CaptureDeps {
  readonly queue: ChangeQueue;
  readonly read: ReadChanges;
}

export interface CaptureRun {
  readonly events: number;
  readonly messages: number;
  readonly position: BinlogPosition;
  readonly caughtUp: boolean;
  /** Source time (ms) of the last event the checkpoint covers, if any. */
  readonly lastEventAt?: number;
  /** Set when capture of this server is stopped before a DDL (until `reshard ddl apply|skip`). */
  readonly paused?: PausedDdl;
  /** The DDL this run dealt with itself (`cdc.onDdl` exec or ignore). */
  readonly ddl?: readonly DdlOutcome[];
  /** Why this capture reads nothing (`switchedAway`). */
  readonly idle?: string;
  /** Set when this run went on from another server, found by GTID (`cdc.onSourceChange: gtid`). */
  readonly followed?: { readonly was: string | undefined; readonly now: string; readonly gtid: string | undefined; readonly from: BinlogPosition; readonly to: BinlogPosition };
}

/**
 * A capture with nothing to do: forward capture once the switch started reverse replication (the old layout
 * now takes the reverse changes, which must not travel forward again), reverse capture before that switch
 * (no position yet) and after a rollback switched back.
 */
async function switchedAway(ctx: AppContext, server: number): Promise<{ why: string; position: BinlogPosition } | undefined> {
  const { config, store } = ctx;
  if (!ctx.reverse && !config.cutover.reverse) return undefined;
  const forwardId = ctx.reverse ? config.migrationId.slice(0, -REVERSE_SUFFIX.length) : config.migrationId;
  const cutover = await store.getCutover(forwardId);
  const switched = cutover?.status === 'DONE' && !!cutover.reverseFrom;
  // Forward capture before any switch (its usual case) reads nothing more.
  if (!ctx.reverse && !switched) return undefined;
  const state = await store.getCapture(config.migrationId, server);
  const position = state?.position ?? { file: '', position: 0 };
  if (!ctx.reverse) return { why: 'switched to the new layout: reverse replication carries changes back', position };
  if (!state || !switched) return { why: 'no switch with reverse replication', position };
  // A rollback of an earlier switch does not stop the reverse replication of this one.
  const rollback = await store.getCutover(config.migrationId);
  return rollback?.status === 'DONE' && rollback.startedAt > (cutover.frozenAt ?? cutover.startedAt) ? { why: 'rolled back to the old layout', position } : undefined;
}

/** `{ gtid }` when a read reported its GTID position, else nothing (the stored one stays). */
const gtidOf = (r: { gtid?: string | undefined }): { gtid?: string } => (r.gtid !== undefined ? { gtid: r.gtid } : {});

/** How capture cuts a read's events into flushes when the caller does not say: events per flush, and how long an event may wait. */
export const FLUSH_DEFAULTS = { sendEvents: 5000, maxBufferMs: 200 } as const;

/** Packed flushes whose sends may be pending while the binlog is read on. */
const MAX_FLUSHES_IN_FLIGHT = 2;

export async function captureRun(
  ctx: AppContext,
  deps: CaptureDeps,
  opts: { owner: string; budgetMs: number; leaseMs?: number; maxEventsPerRead?: number; idleMs?: number; batchSize?: number; sendEvents?: number; maxBufferMs?: number; server?: number },
): Promise<CaptureRun> {
  const { config, store } = ctx;
  const server = opts.server ?? 0;
  sourceServer(config.source, server);
  const sources = capturedTables(config, server);
  const watched = new Set(sources.map((t) => `${t.database}.${t.table}`));
  const leaseMs = opts.leaseMs ?? Math.max(60_000, opts.budgetMs + 30_000);
  const deadline = Date.now() + opts.budgetMs;
  const idle = await switchedAway(ctx, server);
  if (idle) return { events: 0, messages: 0, position: idle.position, caughtUp: true, idle: idle.why };
  let held: CaptureState = await store.acquireCapture(config.migrationId, opts.owner, leaseMs, server);
  if (held.paused) {
    // Stopped before a DDL: nothing is read until it is dealt with.
    await store.releaseCapture(config.migrationId, held, opts.owner, undefined, server);
    return { events: 0, messages: 0, position: held.position, caughtUp: false, paused: held.paused, ...(held.lastEventAt !== undefined ? { lastEventAt: held.lastEventAt } : {}) };
  }
  const before = held;
  try {
    // The position means something only in the binlog of the server it was read from.
    held = await checkCaptureSource(ctx, held, opts.owner, server);
  } catch (err) {
    await store.releaseCapture(config.migrationId, held, opts.owner, undefined, server);
    throw err;
  }
  const dealt: DdlOutcome[] = [];
  // Positions of different servers (and of the reverse migration's) never share a deduplication id.
  const dedupPrefix = dedupPrefixOf(!!ctx.reverse, server);
  const pack = packerFor(ctx, dedupPrefix);
  const sendEvents = opts.sendEvents ?? FLUSH_DEFAULTS.sendEvents;
  const maxBufferMs = opts.maxBufferMs ?? FLUSH_DEFAULTS.maxBufferMs;
  let events = 0;
  let messages = 0;
  let caughtUp = false;
  // Sends run one flush after another (so a group's later messages never overtake its earlier ones) while
  // the binlog is read on; at most `MAX_FLUSHES_IN_FLIGHT` flushes wait, and all are done before a commit.
  let sending: Promise<void> = Promise.resolve();
  let flushesInFlight = 0;
  const settled = () => sending.then(() => undefined, () => undefined);
  /**
   * Queues a flush's messages for sending; resolves once the sends are close enough behind (backpressure).
   * Bodies above COMPRESS_ABOVE are compressed in the send chain: here when a worker reads (this thread has
   * time to spare), else on zlib's thread pool while this thread reads on. After a failed send nothing later
   * is sent (the chain stays rejected); the error surfaces below.
   */
  const enqueue = async (packed: readonly OutgoingMessage[], readingHere: boolean) => {
    flushesInFlight++;
    const earlier = sending;
    const compressed = readingHere ? compressMessages(packed) : Promise.resolve(compressMessagesNow(packed));
    compressed.catch(() => undefined); // its error surfaces through `sending`
    sending = earlier.then(async () => deps.queue.send(await compressed)).then(
      () => {
        messages += packed.length;
        flushesInFlight--;
      },
      (err: unknown) => {
        flushesInFlight--;
        throw err;
      },
    );
    sending.catch(() => undefined); // awaited later; not an unhandled rejection meanwhile
    // Backpressure: wait for the earlier flushes (this one goes on sending while the binlog is read).
    if (flushesInFlight > MAX_FLUSHES_IN_FLIGHT) await earlier;
  };
  try {
    while (Date.now() < deadline) {
      let lastEventAt: number | undefined;
      // Events handed over by a reader that does not pack, until a flush is due. Everything is sent before the commit.
      const buffer = new FlushBuffer(sendEvents, maxBufferMs);
      const flush = async () => {
        const batch = buffer.take();
        if (!batch.length) return;
        lastEventAt = batch[batch.length - 1]!.timestamp;
        await enqueue(pack(batch), true);
      };
      const res = await deps.read({
        from: held.position,
        ...(held.skip ? { skip: held.skip } : {}),
        // The GTID position travels with the binlog position, to find it on another server after a failover.
        ...(held.gtid !== undefined ? { gtid: held.gtid } : {}),
        // A statement too large for one run is read across runs: the checkpoint may fall inside it.
        stopInsideStatements: true,
        sources,
        // Read again each time: a DDL dealt with changes them.
        columns: await decodeColumns(ctx, sources),
        maxEvents: opts.maxEventsPerRead ?? 20_000,
        idleMs: opts.idleMs ?? 300,
        deadlineMs: deadline,
        batchSize: opts.batchSize ?? 5000,
        onBatch: async (batch) => {
          if (buffer.add(batch)) await flush();
        },
        pack: {
          config,
          reverse: !!ctx.reverse,
          dedupPrefix,
          sendEvents,
          maxBufferMs,
          onPacked: async (f) => {
            lastEventAt = f.lastEventAt;
            await enqueue(f.messages, false);
          },
        },
      });
      await flush();
      await sending; // every message of this read is on the queue before the checkpoint moves past it
      if (res.ddl) {
        if (res.events > 0 || comparePositions(res.position, held.position) !== 0)
          held = await store.commitCapture(config.migrationId, held, opts.owner, leaseMs, { position: res.position, skip: 0, events: res.events, ...(lastEventAt !== undefined ? { lastEventAt } : {}), ...gtidOf(res) }, server);
        events += res.events;
        const next = { position: res.ddl.next, skip: 0, events: 0, ...gtidOf({ gtid: res.ddl.nextGtid }) };
        if (res.ddl.ghost) {
          // An online schema change builds a ghost of a table read: what it does to it is kept for the swap.
          held = await store.commitCapture(config.migrationId, held, opts.owner, leaseMs, { ...next, ghosts: afterGhostDdl(held.ghosts ?? {}, res.ddl.ddl, res.ddl.schema, watched) }, server);
          continue;
        }
        const swap = await swapOf(ctx, held, res.ddl);
        const stop = pausedDdl(res.ddl, res.position, '', Date.now(), swap && !('why' in swap) ? swap : undefined);
        const why = whyStopped(config, stop);
        if (why) {
          const reason = swap && 'why' in swap ? `${why}; it swaps in an online schema change's ghost, but ${swap.why}` : why;
          held = await store.pauseCapture(config.migrationId, held, opts.owner, { ...stop, reason }, server);
          break;
        }
        // exec: the targets take the DDL once every change before it is applied (else the next run tries again).
        const exec = config.cdc.onDdl === 'exec';
        if (exec && !(await drained(() => deps.queue.backlog(), deadline))) break;
        dealt.push(await dealWithDdl(ctx, stop, exec ? 'exec' : 'ignore'));
        held = await store.commitCapture(config.migrationId, held, opts.owner, leaseMs, { ...next, ...(stop.swap ? { ghosts: withoutGhost(held.ghosts, stop.swap.ghost) } : {}) }, server);
        continue;
      }
      const skip = res.skip ?? 0;
      if (res.events === 0) {
        caughtUp = skip === 0;
        if (comparePositions(res.position, held.position) === 0 && skip === (held.skip ?? 0)) break;
      }
      held = await store.commitCapture(
        config.migrationId,
        held,
        opts.owner,
        leaseMs,
        {
          position: res.position,
          skip,
          events: res.events,
          ...(lastEventAt !== undefined ? { lastEventAt } : {}),
          ...gtidOf(res),
        },
        server,
      );
      events += res.events;
      if (caughtUp) break;
    }
  } finally {
    // A send still in flight must land before another capture may start (it would race this one's order).
    await settled();
    await store.releaseCapture(config.migrationId, held, opts.owner, caughtUp ? Date.now() : undefined, server);
  }
  return {
    events,
    messages,
    position: held.position,
    caughtUp,
    ...(held.lastEventAt !== undefined ? { lastEventAt: held.lastEventAt } : {}),
    ...(held.paused ? { paused: held.paused } : {}),
    ...(dealt.length ? { ddl: dealt } : {}),
    ...(before.sourceId !== undefined && held.sourceId !== before.sourceId
      ? { followed: { was: before.sourceId, now: held.sourceId!, gtid: before.gtid, from: before.position, to: held.position } }
      : {}),
  };
}
