/**
 * CDC apply: a window of change events (binlog order per shard key) → merge to the last change per
 * record key → route → one guarded multi-row upsert (the filter of DESIGN §4, decided in the statement)
 * and one batched delete per target table, through the target writer. Re-applying any window changes
 * nothing (the writes are row images, not deltas).
 */
import { bindingsOf, keyColumnsOf, recordKeyOf, type TableConfig } from '../core/config.js';
import { ReshardError, SchemaError } from '../core/errors.js';
import { inWindow } from '../core/window.js';
import type { ChangeEvent, RowImage } from '../core/events/model.js';
import type { TableRouter, TargetName } from '../core/routing.js';
import { inParallel } from '../core/parallel.js';
import { SegmentStatus, sortableKey, type Checkpoint, type Tombstone } from '../core/model.js';
import { inSegment, keyText, scrollValue, textOrdered } from '../core/segments.js';
import { freshPlan, planFor, routerFor, sourcesFor, tableConfig, type AppContext } from './context.js';

export interface ApplyStats {
  events: number;
  merged: number;
  inserted: number;
  updated: number;
  deleted: number;
  skipped: number;
}

/** One effective change of a record at one target after merging: its final image, or its deletion. */
interface Change {
  readonly op: 'upsert' | 'delete';
  /** The row image: the one to write (upsert), the one deleted (delete). */
  readonly image: RowImage;
}

/**
 * The merged changes of one target table: the last change per record key, in the order of each key's last
 * change (as `mergeLatest`). Keyed by the record key's value when it is one string or number (a number and
 * its text differ), else by a token standing for its JSON text: no string is built per event.
 */
interface TargetChanges {
  readonly table: TableConfig;
  readonly target: TargetName;
  readonly byKey: Map<unknown, Change>;
}

const doneTables = new WeakMap<AppContext, Set<string>>();

/**
 * The segments of a table whose copy is not DONE yet (none once every segment is: remembered, as a finished
 * copy stays finished with CDC on). `undefined` when the table is not planned yet (every delete counts).
 */
async function unfinishedSegments(ctx: AppContext, table: string): Promise<Checkpoint[] | undefined> {
  // Reverse replication copies nothing: no copy can race a delete.
  if (ctx.reverse) return [];
  let done = doneTables.get(ctx);
  if (!done) doneTables.set(ctx, (done = new Set()));
  if (done.has(table)) return [];
  const segments = await ctx.store.segments(ctx.config.migrationId, table);
  if (segments.length === 0) return undefined;
  const open = segments.filter((s) => s.status !== SegmentStatus.DONE);
  if (open.length === 0) done.add(table);
  return open;
}

function keyOf(table: TableConfig, image: RowImage): unknown[] {
  return recordKeyOf(table).map((c) => {
    const v = image[c];
    if (v === undefined || v === null) throw new ReshardError(`${table.name}: change event without record key column ${c}`);
    return v;
  });
}

/** Re-reads rows whose images were too large for SQS (`reread` events): the source's current row, or none. */
async function reread(ctx: AppContext, table: TableConfig, row: { key: unknown[]; columns: readonly string[]; readKinds?: Readonly<Record<string, string>> | undefined }): Promise<RowImage | undefined> {
  // A sharded source: the row is in one of the physical tables (plan refuses keys found in two).
  for (const source of sourcesFor(ctx, table.name)) {
    const rows = await source.rowsByKeys({ columns: row.columns, recordKey: recordKeyOf(table), keys: [row.key], readKinds: row.readKinds });
    if (rows[0]) return rows[0];
  }
  return undefined;
}

/** Turns events into effective changes per (target, record key), last change wins. */
async function toChanges(ctx: AppContext, events: readonly ChangeEvent[]): Promise<TargetChanges[]> {
  const targets = new Map<TargetName, TargetChanges>();
  // Record keys that are not one string or number: their JSON text → one token object each.
  const tokens = new Map<string, object>();
  // Events of one table come in runs: its config, router and key columns are looked up once per run.
  let name: string | undefined;
  let table!: TableConfig;
  let router!: TableRouter;
  let keyCols!: readonly string[];
  const mapKey = (image: RowImage): unknown => {
    if (keyCols.length === 1) {
      const v = image[keyCols[0]!];
      if (typeof v === 'string' || typeof v === 'number') return v;
    }
    const json = JSON.stringify(keyOf(table, image));
    let token = tokens.get(json);
    if (!token) tokens.set(json, (token = {}));
    return token;
  };
  const put = (image: RowImage, op: Change['op'], target = router.route(image)) => {
    let at = targets.get(target);
    if (!at) targets.set(target, (at = { table, target, byKey: new Map() }));
    const k = mapKey(image);
    at.byKey.delete(k); // the last change of a key goes last (mergeLatest's order)
    at.byKey.set(k, { op, image });
  };
  for (const e of events) {
    if (e.table !== name) {
      table = tableConfig(ctx, e.table);
      router = routerFor(ctx, table);
      keyCols = recordKeyOf(table);
      name = e.table;
    }
    let after = e.after;
    let op = e.op;
    if (e.reread) {
      const { columns, readKinds } = await planFor(ctx, table.name);
      after = await reread(ctx, table, { key: keyOf(table, (e.after ?? e.before)!), columns, readKinds });
      op = after ? 'update' : 'delete';
    }
    if (op === 'delete') {
      put((e.before ?? e.after)!, 'delete');
      continue;
    }
    // The time window: the targets hold the window's rows only. A row inserted outside it is not applied; a
    // row updated to a time outside it is deleted where it was (nothing when it never was in the window).
    if (table.window && table.timeColumn && !inWindow(after![table.timeColumn], table.window)) {
      if (op === 'update') put(e.before ?? after!, 'delete');
      continue;
    }
    const target = router.route(after!);
    // A change of the shard key moves the row: delete it where it was, write it where it belongs. (Routing
    // reads the shard key columns only: where they and the record key are the same values, nothing moved.)
    if (op === 'update' && e.before && !sameColumns(e.before, after!, table.shardKeys, keyCols)) {
      const from = router.route(e.before);
      if (from !== target || !sameKey(keyOf(table, e.before), keyOf(table, after!))) put(e.before, 'delete', from);
    }
    put(after!, 'upsert', target);
  }
  return [...targets.values()];
}

/** Whether two images hold the very same values (`===`) in these columns. */
function sameColumns(a: RowImage, b: RowImage, ...lists: (readonly string[])[]): boolean {
  for (const cols of lists) for (const c of cols) if (a[c] !== b[c]) return false;
  return true;
}

/** Same record key, as JSON would tell (a number and its text differ). */
function sameKey(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && JSON.stringify(a[i]) !== JSON.stringify(b[i])) return false;
  return true;
}

export async function applyEvents(ctx: AppContext, events: readonly ChangeEvent[]): Promise<ApplyStats> {
  const stats: ApplyStats = { events: events.length, merged: 0, inserted: 0, updated: 0, deleted: 0, skipped: 0 };
  const lists = await toChanges(ctx, events);
  for (const l of lists) stats.merged += l.byKey.size;
  // Tombstones first, then the deletes: a copy that read a row before CDC deleted it finds the tombstone
  // after writing its page (or, if it wrote first, this delete finds and removes its row). Needed only
  // while the copy of the key's segment is not DONE (its last page committed means its writes are done).
  const stones: Tombstone[] = [];
  // One look at the checkpoints per table and invocation (not per delete: they share one partition).
  const openNow = new Map<string, Promise<Checkpoint[] | undefined>>();
  const openSegments = (table: string) => {
    let p = openNow.get(table);
    if (!p) openNow.set(table, (p = unfinishedSegments(ctx, table)));
    return p;
  };
  for (const { table, target, byKey } of lists)
    for (const c of byKey.values()) {
      if (c.op !== 'delete') continue;
      const open = await openSegments(table.name);
      if (open && open.length === 0) break;
      const plan = await planFor(ctx, table.name);
      const key = keyText(scrollValue(table.scrollKey, (col) => c.image[col]), plan.keyKind, `${table.name} delete event`);
      // Keys whose text may order otherwise than the server orders them (a string column) are kept while any segment is open.
      if (open && textOrdered(plan.keyKind) && !open.some((s) => inSegment(key, { index: s.segment, lo: s.lo, hi: s.hi }, plan.keyKind))) continue;
      stones.push({
        table: table.name,
        sortKey: sortableKey(key, plan.keyKind),
        key: keyOf(table, c.image),
        db: target.db,
        database: target.database,
        tableName: target.tableName,
      });
    }
  if (stones.length) await ctx.store.putTombstones(ctx.config.migrationId, stones);
  const bindings = bindingsOf(ctx.config);
  const rankOf = (list: TargetChanges) => bindings.get(list.table.name)?.rank ?? 0;
  const ranks = [...new Set(lists.map(rankOf))].sort((a, b) => a - b);
  if (ranks.length <= 1) {
    await inParallel(lists, ctx.config.copy.writeConcurrency, (list) => writeTarget(ctx, list, stats, 'both'));
    return stats;
  }
  // Binding groups: upserts table by table in the group's order (an order before its items), then deletes in
  // the reverse order (items before their order).
  for (const rank of ranks)
    await inParallel(
      lists.filter((l) => rankOf(l) === rank),
      ctx.config.copy.writeConcurrency,
      (list) => writeTarget(ctx, list, stats, 'upserts'),
    );
  for (const rank of ranks.reverse())
    await inParallel(
      lists.filter((l) => rankOf(l) === rank),
      ctx.config.copy.writeConcurrency,
      (list) => writeTarget(ctx, list, stats, 'deletes'),
    );
  return stats;
}

/** Writes one target table's changes: its upserts, its deletes, or both. */
async function writeTarget(ctx: AppContext, list: TargetChanges, stats: ApplyStats, which: 'upserts' | 'deletes' | 'both'): Promise<void> {
  const { table, target } = list;
  const rk = recordKeyOf(table);
  // No read before the write: the statements themselves are the filter (DESIGN §4). The guarded upsert
  // inserts a missing row, leaves a row with a newer version alone and changes nothing for the same
  // content; a delete of a missing row deletes nothing. The counts come from the server's answer.
  const upserts: RowImage[] = [];
  const deletes: unknown[][] = [];
  for (const c of list.byKey.values()) {
    if (c.op === 'delete') {
      if (which !== 'upserts') deletes.push(keyOf(table, c.image));
    } else if (which !== 'deletes') upserts.push(c.image);
  }
  if (upserts.length) {
    // Images with other columns than the cached plan's: a DDL was dealt with since; its plan has them.
    let plan = await planFor(ctx, table.name);
    let rows = Object.keys(upserts[upserts.length - 1]!).length === plan.columns.length ? rowsOf(upserts, plan.columns) : undefined;
    if (!rows) {
      plan = await freshPlan(ctx, table.name);
      rows = rowsOf(upserts, plan.columns);
    }
    const { columns } = plan;
    // The images of one column set each: one set, unless a DDL dealt with since left some physical tables of a
    // sharded source without its columns yet (their rows carry the columns they have; the keys must be there).
    const shapes = new Map<string, { columns: readonly string[]; rows: unknown[][] }>();
    if (rows) shapes.set('', { columns, rows });
    else
      for (const img of upserts) {
        const missing = columns.find((c) => !(c in img));
        if (missing !== undefined && (!plan.lastDdl || keyColumnsOf(table).includes(missing) || missing === table.versionColumn))
          throw new SchemaError(`${table.name}: change event row image lacks column ${missing} (binlog_row_image must be FULL)`);
        const has = columns.filter((c) => c in img);
        const key = has.join(',');
        let shape = shapes.get(key);
        if (!shape) shapes.set(key, (shape = { columns: has, rows: [] }));
        shape.rows.push(has.map((col) => img[col] ?? null));
      }
    for (const shape of shapes.values()) {
      const counted = await ctx.writer.applyUpsert({ target, columns: shape.columns, recordKey: rk, versionColumn: table.versionColumn, rows: shape.rows });
      stats.inserted += counted.inserted;
      stats.updated += counted.updated;
      stats.skipped += counted.skipped;
    }
  }
  if (deletes.length) {
    const deleted = await ctx.writer.deleteByKeys({ target, recordKey: rk, keys: deletes });
    stats.deleted += deleted;
    stats.skipped += deletes.length - deleted;
  }
}

/** The images as rows of `columns` (NULL for undefined), or undefined if one of them lacks one of the columns. */
function rowsOf(images: readonly RowImage[], columns: readonly string[]): unknown[][] | undefined {
  const rows = new Array<unknown[]>(images.length);
  const n = columns.length;
  for (let i = 0; i < images.length; i++) {
    const img = images[i]!;
    const row = new Array<unknown>(n);
    for (let j = 0; j < n; j++) {
      const v = img[columns[j]!];
      if (v === undefined && !(columns[j]! in img)) return undefined;
      row[j] = v ?? null;
    }
    rows[i] = row;
  }
  return rows;
}
