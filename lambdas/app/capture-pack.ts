/**
 * How capture cuts the events it reads into SQS FIFO messages: each event's group, key-only stand-ins for
 * rows too large to send, update before images cut to their keys, and flushes of a read's batches. Needs only
 * the config and its router, so a reader in a worker thread packs exactly as capture's own thread would.
 */
import { idOf } from '../core/table-id.js';
import { bindingsOf, keyColumnsOf, recordKeyOf, type MigrationConfig } from '../core/config.js';
import { RowRoutingError } from '../core/errors.js';
import type { ChangeEvent, OutgoingMessage } from '../core/events/model.js';
import { packMessages } from '../core/events/pack.js';
import type { Row } from '../core/model.js';
import { REVERSE_GROUP_PREFIX } from '../core/reverse.js';
import type { TableRouter, TargetName } from '../core/routing.js';
import { routerFor, tableConfig, type AppContext } from './context.js';

/** What packing needs of a context. */
export type PackContext = Pick<AppContext, 'config' | 'routeFn' | 'reverse'>;

/**
 * The FIFO group of an event (config `cdc.messageGroup`): its row's target table (for a binding group's
 * tables: the group and the target's database and table index), or its shard key. Either way all changes of
 * one order stay in order; a shard-key change is grouped where the row goes.
 */
export function groupOf(ctx: PackContext): (e: ChangeEvent) => string {
  if (ctx.reverse) {
    // Reverse changes share the change queue: their groups say which migration applies them.
    const forward = groupOf({ ...ctx, reverse: false });
    return (e) => REVERSE_GROUP_PREFIX + forward(e);
  }
  const byTarget = ctx.config.cdc.messageGroup === 'target';
  const bindings = bindingsOf(ctx.config);
  // Per event: one router lookup by table name and, by target, one name per target table (not a string each).
  const routers = new Map<string, TableRouter>();
  const names = new Map<TargetName, string>();
  return (e) => {
    const image = (e.after ?? e.before)!;
    let router = routers.get(e.table);
    if (!router) routers.set(e.table, (router = routerFor(ctx, tableConfig(ctx, e.table))));
    try {
      if (!byTarget) return router.shardKey(image);
      const t = router.route(image);
      let name = names.get(t);
      if (name === undefined) {
        // A binding group's tables share one group per target index: an order's changes and its items' in binlog order.
        const bound = bindings.get(e.table);
        name = bound ? `${bound.group}+${t.db}.${t.table}` : idOf(t);
        names.set(t, name);
      }
      return name;
    } catch (err) {
      if (!(err instanceof RowRoutingError)) throw err;
      // Unroutable rows still travel (apply reports them, the DLQ keeps them) in a group of their own.
      return `${e.table}#${recordKeyOf(tableConfig(ctx, e.table)).map((c) => String(image[c])).join(',')}`;
    }
  };
}

/**
 * A key-only event for rows too large for one SQS message: apply re-reads the row from the source. Images
 * keep the record key and shard key columns, so a shard-key change still deletes the row where it was.
 */
export function keyOnly(ctx: PackContext): (e: ChangeEvent) => ChangeEvent {
  return (e) => {
    const table = tableConfig(ctx, e.table);
    const cols = keyColumnsOf(table);
    const slim = (image: Row | undefined) => (image ? Object.fromEntries(cols.map((c) => [c, image[c] ?? null])) : undefined);
    const before = slim(e.before);
    const after = slim(e.after);
    return { table: e.table, op: e.op, ...(before ? { before } : {}), ...(after ? { after } : {}), position: e.position, rowIndex: e.rowIndex, timestamp: e.timestamp, reread: true };
  };
}

/**
 * An update's `before` image is only used for its keys (where the row was, if its shard key changed):
 * sending just the record key and shard key columns halves the bytes on the queue.
 */
export function keysOnlyBefore(ctx: PackContext): (e: ChangeEvent) => ChangeEvent {
  const colsOf = new Map(ctx.config.tables.map((t) => [t.name, keyColumnsOf(t)]));
  return (e) => {
    if (e.op !== 'update' || !e.before) return e;
    const cols = colsOf.get(e.table);
    if (!cols) return e;
    const before: Row = {};
    for (const c of cols) before[c] = e.before[c] ?? null;
    return { ...e, before };
  };
}

/**
 * Deduplication ids of different source servers (and of the reverse migration) never meet: their binlogs
 * share file names and positions, and SQS deduplicates across the whole queue.
 */
export function dedupPrefixOf(reverse: boolean, server: number): string {
  return `${reverse ? 'r' : ''}${server || reverse ? `s${server}:` : ''}`;
}

/**
 * Packs one flush (events in binlog order) into messages, uncompressed: capture compresses them in its send
 * chain.
 */
export function packerFor(ctx: PackContext, dedupPrefix: string): (events: readonly ChangeEvent[]) => OutgoingMessage[] {
  const group = groupOf(ctx);
  const slim = keyOnly(ctx);
  const slimBefore = keysOnlyBefore(ctx);
  return (events) => packMessages(events.map(slimBefore), { groupOf: group, keyOnly: slim, compress: false, dedupPrefix });
}

/**
 * The events a read handed over and not yet packed. The reader hands over what arrived per tick (often a
 * few hundred events); buffering up to `sendEvents` lets each group's message carry many events, and
 * `maxBufferMs` bounds how long an event waits (lag).
 */
export class FlushBuffer {
  private events: ChangeEvent[] = [];
  private since = 0;

  constructor(
    private readonly sendEvents: number,
    private readonly maxBufferMs: number,
  ) {}

  /** Adds a batch; true when a flush is due (full enough, or waited long enough). */
  add(batch: readonly ChangeEvent[]): boolean {
    if (!this.events.length) this.since = Date.now();
    for (const e of batch) this.events.push(e);
    return this.events.length >= this.sendEvents || Date.now() - this.since >= this.maxBufferMs;
  }

  /** Everything buffered, in order (the buffer is then empty). */
  take(): ChangeEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }
}

/**
 * What a reader that packs on its own side (`ReadChanges`' `pack`) needs: plain data, as it crosses to a
 * worker thread. The worker routes with the config's router (`loadRouter`), as every context is built.
 */
export interface PackRequest {
  readonly config: MigrationConfig;
  readonly reverse: boolean;
  readonly dedupPrefix: string;
  readonly sendEvents: number;
  readonly maxBufferMs: number;
}

/** One flush packed by the reader: its messages (uncompressed), how many events they carry, the last one's source time. */
export interface PackedFlush {
  readonly messages: OutgoingMessage[];
  readonly events: number;
  readonly lastEventAt: number;
  /** When the reader handed it over (ms since the epoch). */
  readonly postedAt: number;
}
