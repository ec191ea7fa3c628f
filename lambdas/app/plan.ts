/**
 * Plan: inspect the source, prepare the targets, compute statistics and segments, preview the skew.
 * Idempotent: a table planned once keeps its segments (checkpoints refer to them); statistics are
 * recomputed on every call because rows keep arriving. Returns the segments still to copy or verify.
 */
import { recordKeyOf, sourceTableCount, type TableConfig } from '../core/config.js';
import { ConfigError, SchemaError } from '../core/errors.js';
import { compareKeys, keyParts, planSegments, keyText, rangeSiblings, scrollLabel, scrollValue, textOrdered, unitSegments, type KeyKind, type Segment } from '../core/segments.js';
import { builtInRouters, skew } from '../core/routing.js';
import { inParallel } from '../core/parallel.js';
import { captureServers, overlappingTables, serverNames, sourceLayoutOf, sourceServers, sourceUnits, type SourceUnit } from '../core/source-layout.js';
import type { DayCount, SourceReader } from '../adapters/mysql/source.js';
import { binlogColumnsOf, type ColumnInfo } from '../adapters/mysql/schema.js';
import { sumPerDay } from './statistics.js';
import { ping } from '../adapters/mysql/pool.js';
import { literalKindsOf, readKindsOf, keyKindOf, prepareTargets } from '../adapters/mysql/schema.js';
import { SegmentStatus, sortableKey, VerifyStatus, type Checkpoint, type Row, type TablePlan } from '../core/model.js';
import { checkSourceSettings, currentPosition, detectDialect, gtidAt, serverIdentity } from '../adapters/binlog/server.js';
import { retentionWarning } from '../core/dialect.js';
import { forgetPlans, planFor, routerFor, sourceFor, sourcesFor, type AppContext } from './context.js';

export interface TablePlanReport {
  readonly table: string;
  readonly rows: number;
  readonly days: number;
  readonly minKey: string | null;
  readonly maxKey: string | null;
  readonly segments: readonly Segment[];
  readonly reusedPlan: boolean;
  readonly targetsCreated: number;
  readonly targetsExisting: number;
  /** Rows per target table, routed from the sample and scaled to the table's row count. */
  readonly skew: { readonly target: string; readonly rows: number }[];
  /** Largest target ÷ mean target (1 = perfectly even). */
  readonly skewFactor: number;
  readonly unusedTargets: number;
  /** Sampled rows that cannot be routed (each message names the row); the copy will stop at them. */
  readonly unroutableSample: string[];
}

export interface PlanResult {
  readonly migrationId: string;
  readonly tables: TablePlanReport[];
  /** Map items: segments not copied (DONE) or, when verification is on, not yet verified CLEAN or REPAIRED. */
  readonly segments: MapItem[];
  /** What may go wrong later, said now: binlogs kept too briefly for the copy, and where retention is set elsewhere. */
  readonly warnings: string[];
}

/** The copy rate binlog retention is judged against when `copy.maxRowsPerSec` does not set one (a conservative bench rate). */
const ASSUMED_COPY_ROWS_PER_SEC = 50_000;

/** A Map item: a segment, and with a sharded source the physical table it scrolls (`database.table`). */
export interface MapItem {
  readonly table: string;
  readonly segment: number;
  readonly source?: string;
}

/** How many sampled keys to aim for per table: enough for even segments and a fair skew preview. */
const SAMPLE_TARGET = 20_000;

export async function plan(ctx: AppContext, opts: { dryRun?: boolean; only?: readonly { table: string; segment: number }[] } = {}): Promise<PlanResult> {
  const { config, store } = ctx;
  const overlaps = overlappingTables(config);
  if (overlaps.length)
    throw new ConfigError(`the target layout overlaps the source layout: a migration never writes into its own source tables`, overlaps.slice(0, 20));
  const servers = serverNames(config.source);
  await Promise.all(ctx.sources.map((p, i) => ping(p, `source ${servers[i]!}`)));
  await Promise.all([...new Set(ctx.targets)].map((p, i) => ping(p, `target connection #${i}`)));
  const capturing = config.cdc.enabled ? captureServers(config) : [];
  // Each capturing server's dialect and settings: refused with the variable to set, before anything is read.
  const dialects = await Promise.all(capturing.map((server) => detectDialect(ctx.sources[server]!)));
  const kept = await Promise.all(capturing.map((server, i) => checkSourceSettings(ctx.sources[server]!, dialects[i]!)));
  const tables: TablePlanReport[] = [];
  for (const table of config.tables) tables.push(await planTable(ctx, table, opts.dryRun ?? false));
  const rows = tables.reduce((a, t) => a + t.rows, 0);
  const hosts = sourceServers(config.source);
  const warnings = capturing.flatMap((server, i) => [...kept[i]!.warnings, ...(retentionWarning(kept[i]!.expireSeconds, rows, config.copy.maxRowsPerSec || ASSUMED_COPY_ROWS_PER_SEC, hosts[server]!.host) ?? [])]);
  // CDC starts where the copy cannot have read yet: after planning (targets exist, plans are stored, so
  // apply can route every event) and before the copy's first page. Kept if already recorded. One per source server.
  if (!opts.dryRun)
    await Promise.all(
      capturing.map(async (server, i) => {
        const pool = ctx.sources[server]!;
        const sourceId = await serverIdentity(pool, dialects[i]);
        const position = await currentPosition(pool, dialects[i]);
        await store.initCapture(config.migrationId, position, server, { sourceId, gtid: await gtidAt(pool, dialects[i]!, position) });
      }),
    );
  const segments: MapItem[] = [];
  if (!opts.dryRun) {
    const all = (await Promise.all(config.tables.map((t) => store.segments(config.migrationId, t.name)))).flat();
    const unitsOf = new Map(config.tables.map((t) => [t.name, sourceUnits(config.source, t)]));
    const item = (cp: Checkpoint): MapItem => {
      const units = unitsOf.get(cp.table) ?? [];
      return { table: cp.table, segment: cp.segment, ...(units.length > 1 ? { source: units[cp.source]?.id ?? `#${cp.source}` } : {}) };
    };
    if (opts.only) {
      // A rerun of chosen segments: each must exist; DONE ones are verified again.
      for (const o of opts.only) {
        const cp = all.find((c) => c.table === o.table && c.segment === o.segment);
        if (!cp) throw new ConfigError(`only: segment ${o.table}#${o.segment} does not exist in migration ${config.migrationId} (segments: ${all.length})`);
        segments.push(item(cp));
      }
    } else
      for (const cp of all)
        if (cp.status !== SegmentStatus.DONE || (config.verify.enabled && cp.verifyStatus !== VerifyStatus.CLEAN && cp.verifyStatus !== VerifyStatus.REPAIRED))
          segments.push(item(cp));
  }
  return { migrationId: config.migrationId, tables, segments: await withRangeOwners(ctx, segments), warnings };
}

/**
 * A sharded source's key range is verified by its first physical table's segment (`rangeSiblings`): Map items
 * that include another physical table's segment of a range include that one too.
 */
async function withRangeOwners(ctx: AppContext, items: readonly MapItem[]): Promise<MapItem[]> {
  const out = [...items];
  const have = new Set(items.map((i) => `${i.table}#${i.segment}`));
  for (const table of ctx.config.tables) {
    if (sourceTableCount(ctx.config.source, table) < 2 || !items.some((i) => i.table === table.name)) continue;
    const stored = await planFor(ctx, table.name);
    if (!stored.ranges) continue;
    const units = sourceUnits(ctx.config.source, table);
    for (const i of items.filter((x) => x.table === table.name)) {
      const owner = rangeSiblings(i.segment, stored.ranges, units.length)[0]!;
      if (have.has(`${table.name}#${owner}`)) continue;
      have.add(`${table.name}#${owner}`);
      out.push({ table: table.name, segment: owner, source: units[0]!.id });
    }
  }
  return out;
}

async function reopenGrownSegment(ctx: AppContext, table: TableConfig, keyKind: KeyKind): Promise<void> {
  const cps = await ctx.store.segments(ctx.config.migrationId, table.name);
  // The last segment of each physical source table is open above.
  for (const last of cps.filter((c) => c.hi === null)) await reopenIfGrown(ctx, table, keyKind, last);
}

async function reopenIfGrown(ctx: AppContext, table: TableConfig, keyKind: KeyKind, last: Checkpoint): Promise<void> {
  if (last.status !== SegmentStatus.DONE || last.cursor === null) return;
  const grown = await sourceFor(ctx, table.name, last.source).hasRowAfter({ scrollKey: table.scrollKey, after: last.cursor, keyKind, timeColumn: table.timeColumn, window: table.window });
  if (grown) await ctx.store.reopenSegment(ctx.config.migrationId, table.name, last.segment);
}

/**
 * What a plan keeps of the source's columns: their names (what copy, apply and verify read and write), how
 * each is read and rendered, and the definitions capture decodes binlog rows with.
 */
export function planColumns(columns: readonly ColumnInfo[]): Pick<TablePlan, 'columns' | 'readKinds' | 'literalKinds' | 'binlogColumns'> {
  const literalKinds = literalKindsOf(columns);
  return { columns: columns.map((c) => c.name), readKinds: readKindsOf(columns), ...(literalKinds ? { literalKinds } : {}), binlogColumns: binlogColumnsOf(columns) };
}

/**
 * The plans of the reverse migration (`cutover.reverse`), stored at the switch: each table's columns as its
 * first target table has them (apply and capture of the reverse changes decode and write with them). Nothing
 * is copied: no segments.
 */
export async function planReverse(reverse: AppContext): Promise<void> {
  const { config, store } = reverse;
  for (const table of config.tables) {
    const source = sourcesFor(reverse, table.name)[0]!;
    const columns = await source.columns();
    if (columns.length === 0) throw new SchemaError(`target table ${source.id} does not exist`);
    const plan: TablePlan = { table: table.name, keyKind: keyKindOf(columns, table.scrollKey), ...planColumns(columns), segments: 0, minKey: null, maxKey: null, createdAt: Date.now() };
    if (!(await store.savePlanIfAbsent(config.migrationId, plan, []))) await store.updatePlanColumns(config.migrationId, table.name, planColumns(columns));
  }
  forgetPlans(reverse);
}

/** What plan reads of one physical source table. */
interface UnitRead {
  readonly unit: SourceUnit;
  readonly reader: SourceReader;
  readonly perDay: DayCount[];
  readonly allRows: number;
  readonly sample: { rows: Row[]; min: unknown; max: unknown };
}

async function planTable(ctx: AppContext, table: TableConfig, dryRun: boolean): Promise<TablePlanReport> {
  const { config, store } = ctx;
  const units = sourceUnits(config.source, table);
  const readers = sourcesFor(ctx, table.name);
  const source = readers[0]!;
  const columns = await source.columns();
  if (columns.length === 0) throw new SchemaError(`source table ${source.id} does not exist`);
  const names = new Set(columns.map((c) => c.name));
  const needed: [string, string][] = [
    ...table.scrollKey.map((c, i): [string, string] => [table.scrollKey.length === 1 ? 'scrollKey' : `scrollKey[${i}]`, c]),
    ...table.shardKeys.map((c, i): [string, string] => [`shardKeys[${i}]`, c]),
    ...recordKeyOf(table).map((c, i): [string, string] => [`recordKey[${i}]`, c]),
    ...(table.versionColumn ? [['versionColumn', table.versionColumn] as [string, string]] : []),
    ...(table.timeColumn ? [['timeColumn', table.timeColumn] as [string, string]] : []),
  ];
  for (const [field, col] of needed)
    if (!names.has(col)) throw new SchemaError(`tables.${table.name}.${field}: column ${col} does not exist in ${source.id}`);
  // Every physical table must exist and have the first one's columns (names, types, order).
  if (readers.length > 1) await checkSameColumns(table.name, readers, columns);
  await inParallel([...readers], 4, (r) => r.checkScrollIndex(table.scrollKey));
  const keyKind = keyKindOf(columns, table.scrollKey);
  const router = routerFor(ctx, table);

  // Statistics, the sample and (unless a dry run) the target tables are independent: done at once. The
  // sample's density needs the row count first: the per-day counts add up to it, unless a window leaves rows
  // out (then a COUNT(*) of its own, in a fraction of the per-day scan). Each physical table is sampled
  // with the same step, so the sample's rows stand for equal numbers of rows everywhere.
  const perDayP = inParallel([...readers], 4, (r) => r.rowsPerDay({ timeColumn: table.timeColumn, window: table.window }));
  const allRowsP: Promise<number[]> =
    table.timeColumn && table.window
      ? inParallel([...readers], 4, (r) => r.rowsPerDay().then((d) => d[0]?.rows ?? 0))
      : perDayP.then((all) => all.map((r) => r.reduce((a, d) => a + d.rows, 0)));
  const sampleP = allRowsP.then((counts) => {
    const step = Math.max(1, Math.ceil(counts.reduce((a, n) => a + n, 0) / SAMPLE_TARGET));
    return inParallel([...readers], 4, (r) => r.sample({ scrollKey: table.scrollKey, shardKeys: table.shardKeys, step }));
  });
  const prepareP = dryRun
    ? Promise.resolve({ created: 0, existing: 0 })
    : source.createTableSql().then((createSql) => prepareTargets({ writer: ctx.writer, createSql, sourceColumns: columns, targets: router.allTargets(), concurrency: 8 }));
  const [perDays, allRowsEach, samples, prepared] = await Promise.all([perDayP, allRowsP, sampleP, prepareP]);
  const reads: UnitRead[] = units.map((unit, i) => ({ unit, reader: readers[i]!, perDay: perDays[i]!, allRows: allRowsEach[i]!, sample: samples[i]! }));
  if (reads.length > 1) {
    checkSourcePlacement(ctx, table, reads);
    await checkSharedKeys(table, keyKind, reads);
  }
  const perDay = sumPerDay(table.name, reads.flatMap((r) => r.perDay.map((d) => ({ table: table.name, ...d }))));
  const allRows = allRowsEach.reduce((a, n) => a + n, 0);
  const sampleRows = reads.flatMap((r) => r.sample.rows);
  const total = perDay.reduce((a, d) => a + d.rows, 0);
  const keyOf = (v: unknown, what: string) => (v === null || v === undefined ? null : keyText(v, keyKind, `${table.name} ${what}`));
  const keyName = table.scrollKey.join(', ');
  const bounds = reads.flatMap((r) => [keyOf(r.sample.min, `least ${keyName}`), keyOf(r.sample.max, `greatest ${keyName}`)]).filter((k): k is string => k !== null);
  bounds.sort((a, b) => compareKeys(a, b, keyKind));
  const minKey = bounds[0] ?? null;
  const maxKey = bounds.at(-1) ?? null;

  // Skew preview: route the sampled rows of every physical table with the target rule; rows that cannot be
  // routed are reported now, before any write.
  let preview: ReturnType<typeof skew>;
  try {
    preview = skew(router, sampleRows);
  } catch (err) {
    if (err instanceof RangeError)
      throw new ConfigError(`routing: the ${config.routing.algorithm} rule sends ${table.name} rows outside the target layout (${config.target.databases} databases × ${table.tablesPerDb} tables): ${err.message}`);
    throw err;
  }
  const routed = sampleRows.length - preview.unroutable.length;
  const scale = routed ? allRows / sampleRows.length : 0;
  const skewRows = preview.counts.map((c) => ({ target: c.target, rows: Math.round(c.rows * scale) }));
  const mean = skewRows.reduce((a, c) => a + c.rows, 0) / Math.max(1, skewRows.length);
  const skewFactor = mean > 0 ? Math.max(...skewRows.map((c) => c.rows)) / mean : 1;

  // Key ranges at quantiles of the sample of every physical table together; with a sharded source each
  // physical table gets a segment per range (`unitSegments`), and a range is verified once for all of them.
  // Every physical table's sample is in the server's order. Merged, they are sorted as text where text orders
  // as the server does; otherwise the largest sample alone, in its server's order, gives the boundaries.
  const keyRows = reads.length === 1 || textOrdered(keyKind) ? sampleRows : reads.reduce((a, r) => (r.sample.rows.length > a.sample.rows.length ? r : a)).sample.rows;
  const keys = keyRows.map((row) => keyText(scrollValue(table.scrollKey, (c) => row[c]), keyKind, `${table.name} sample`));
  if (reads.length > 1 && textOrdered(keyKind)) keys.sort((a, b) => compareKeys(a, b, keyKind));
  const ranges = planSegments(keys, config.copy.segments, keyKind);
  let segments: Segment[] = reads.length > 1 ? unitSegments(ranges, reads.length) : ranges;
  let reusedPlan = false;
  let created = 0;
  let existing = 0;
  if (!dryRun) {
    created = prepared.created;
    existing = prepared.existing;
    const stored: TablePlan = {
      table: table.name,
      keyKind,
      ...planColumns(columns),
      segments: segments.length,
      ...(reads.length > 1 ? { ranges: ranges.length } : {}),
      minKey,
      maxKey,
      createdAt: Date.now(),
    };
    const fresh = await store.savePlanIfAbsent(config.migrationId, stored, segments);
    if (!fresh) {
      const kept = await store.getPlan(config.migrationId, table.name);
      if (kept && JSON.stringify(kept.keyKind) !== JSON.stringify(keyKind))
        throw new ConfigError(
          `tables.${table.name}.scrollKey: ${table.scrollKey.join(', ')} (${String(keyKind)}) is not the key migration ${config.migrationId} was planned with (${String(kept.keyKind)}): ` +
            'its checkpoints are positions of that key. Keep the scroll key, or start another migration (a new migrationId).',
        );
      reusedPlan = true;
      const cps = await store.segments(config.migrationId, table.name);
      if (cps.length === 0) await store.ensureSegments(config.migrationId, table.name, segments);
      else segments = cps.map((c) => ({ index: c.segment, lo: c.lo, hi: c.hi, ...(reads.length > 1 ? { source: c.source } : {}) }));
    }
    await store.putStats(
      config.migrationId,
      reads.flatMap((r) => r.perDay.map((d) => ({ table: table.name, day: d.day, rows: d.rows, ...(reads.length > 1 ? { source: r.unit.index } : {}) }))),
    );
    // Rows that arrived beyond the end of a finished copy (the last segment is open above): copy them too.
    // (With CDC they are applied from the binlog, and a finished copy must stay finished for apply's tombstones.)
    if (reusedPlan && !config.cdc.enabled) await reopenGrownSegment(ctx, table, keyKind);
  }
  return {
    table: table.name,
    rows: total,
    days: perDay.length,
    minKey,
    maxKey,
    segments,
    reusedPlan,
    targetsCreated: created,
    targetsExisting: existing,
    skew: skewRows,
    skewFactor,
    unusedTargets: skewRows.filter((c) => c.rows === 0).length,
    unroutableSample: preview.unroutable.slice(0, 20),
  };
}

/** Refuses physical source tables that are missing or whose columns differ from the first one's, naming them. */
async function checkSameColumns(table: string, readers: readonly SourceReader[], first: readonly ColumnInfo[]): Promise<void> {
  const all = [first, ...(await inParallel(readers.slice(1), 8, (r) => r.columns()))];
  const missing = readers.filter((_, i) => all[i]!.length === 0).map((r) => r.id);
  if (missing.length) throw new SchemaError(`${table}: physical source table(s) missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ` and ${missing.length - 20} more` : ''}`);
  const shape = (cols: readonly ColumnInfo[]) => cols.map((c) => `${c.name} ${c.columnType}${c.nullable ? '' : ' NOT NULL'}`);
  const want = shape(first);
  readers.forEach((r, i) => {
    const got = shape(all[i]!);
    if (got.join(',') === want.join(',')) return;
    const diff = [...want.filter((c) => !got.includes(c)).map((c) => `${readers[0]!.id} has ${c}`), ...got.filter((c) => !want.includes(c)).map((c) => `${r.id} has ${c}`)];
    throw new SchemaError(
      `${table}: the columns of ${r.id} differ from those of ${readers[0]!.id}: ${diff.length ? diff.slice(0, 10).join('; ') : 'same columns in another order'}. Every physical source table of a logical table must have the same columns.`,
    );
  });
}

/**
 * With `source.routing`: refuses a sharded source whose sampled rows do not sit where that rule places them
 * (a layout, rule or table count other than configured).
 */
function checkSourcePlacement(ctx: AppContext, table: TableConfig, reads: readonly UnitRead[]): void {
  const rule = ctx.config.source.routing;
  if (!rule) return;
  const layout = sourceLayoutOf(ctx.config.source, table);
  const fn = builtInRouters[rule.algorithm];
  // The shard key is chosen as the target router chooses it (same shard key columns).
  const router = routerFor(ctx, table);
  const misplaced: string[] = [];
  for (const r of reads)
    for (const row of r.sample.rows) {
      let key: string | undefined;
      let slot: number | undefined;
      try {
        key = router.shardKey(row);
        const at = fn(key, layout);
        slot = at.db * layout.tablesPerDb + at.table;
      } catch {
        slot = undefined;
      }
      if (slot !== r.unit.index && misplaced.length < 5)
        misplaced.push(`${r.unit.id} row ${scrollLabel(table.scrollKey, (c) => row[c])} (shard key ${JSON.stringify(key ?? null)}) belongs in ${slot === undefined ? 'no table' : (reads[slot]?.unit.id ?? `slot ${slot}`)}`);
    }
  if (misplaced.length)
    throw new SchemaError(`${table.name}: source rows are not where source.routing (${rule.algorithm}) places them: ${misplaced.join('; ')}. Check source.routing, source.databases and sourceTablesPerDb.`);
}

/** Keys read per physical table and round by the shared-key check. */
const KEY_PAGE = 10_000;

/**
 * Refuses record keys present in more than one physical source table (within the window), naming the key
 * and both tables: two rows would claim one target row. Reads every physical table's keys in key order, a
 * page at a time, and compares the keys of all tables up to the lowest last key read. Checked this way when
 * the record key is the scroll key and its text orders as the server orders it (integer columns, one or
 * several: `textOrdered`), each key compared by its sortable text.
 */
async function checkSharedKeys(table: TableConfig, keyKind: KeyKind, reads: readonly UnitRead[]): Promise<void> {
  const rk = recordKeyOf(table);
  const scroll = table.scrollKey;
  if (!textOrdered(keyKind) || rk.length !== scroll.length || !rk.every((c) => scroll.includes(c))) return;
  // Each key as [sortable text, key text].
  const streams = reads.map((r) => ({ r, keys: [] as [string, string][], after: null as string | null, ended: false }));
  const fill = (s: (typeof streams)[number]) =>
    s.r.reader.page({ columns: scroll, scrollKey: scroll, keyKind, after: s.after, upTo: null, timeColumn: table.timeColumn, window: table.window, limit: KEY_PAGE }).then((rows) => {
      for (const row of rows) {
        const text = keyText(scroll.length === 1 ? row[0] : row, keyKind, `${s.r.unit.id} key`);
        s.keys.push([sortableKey(text, keyKind), text]);
      }
      if (rows.length < KEY_PAGE) s.ended = true;
      if (rows.length) s.after = s.keys.at(-1)![1];
    });
  const label = (text: string) => {
    const parts = keyParts(text, keyKind);
    return scrollLabel(scroll, (c) => parts[scroll.indexOf(c)]);
  };
  const shared: string[] = [];
  for (;;) {
    await inParallel(
      streams.filter((s) => !s.ended && s.keys.length === 0),
      4,
      fill,
    );
    const live = streams.filter((s) => s.keys.length > 0);
    if (!live.length) break;
    // Every key up to the lowest last key read is compared now; higher keys wait for the next round.
    let bound: string | undefined;
    for (const s of live) if (!s.ended) bound = bound === undefined || s.keys.at(-1)![0] < bound ? s.keys.at(-1)![0] : bound;
    const seen = new Map<string, UnitRead>();
    for (const s of live) {
      let n = 0;
      for (const [k, text] of s.keys) {
        if (bound !== undefined && k > bound) break;
        n++;
        const other = seen.get(k);
        if (other && shared.length < 10) shared.push(`${label(text)} is in ${other.unit.id} and ${s.r.unit.id}`);
        else seen.set(k, s.r);
      }
      s.keys.splice(0, n);
    }
    if (shared.length >= 10) break;
  }
  if (shared.length)
    throw new SchemaError(`${table.name}: record keys present in more than one physical source table (each would overwrite the other in the target): ${shared.join('; ')}`);
}
