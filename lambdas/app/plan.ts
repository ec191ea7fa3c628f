/**
 * Plan: inspect the source, prepare the targets, compute statistics and segments, preview the skew.
 * Idempotent: a table planned once keeps its segments (checkpoints refer to them); statistics are
 * recomputed on every call because rows keep arriving. Returns the segments still to copy or verify.
 */
import { recordKeyOf, type TableConfig } from '../core/config.js';
import { ConfigError, SchemaError } from '../core/errors.js';
import { planSegments, keyText, type KeyKind, type Segment } from '../core/segments.js';
import { skew } from '../core/routing.js';
import { ping } from '../adapters/mysql/pool.js';
import { literalKindsOf, readKindsOf, keyKindOf, prepareTargets } from '../adapters/mysql/schema.js';
import { SegmentStatus, VerifyStatus, type TablePlan } from '../core/model.js';
import { checkRowImage, currentPosition } from '../adapters/binlog/server.js';
import { routerFor, sourceFor, type AppContext } from './context.js';

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
  readonly segments: { table: string; segment: number }[];
}

/** How many sampled keys to aim for per table: enough for even segments and a fair skew preview. */
const SAMPLE_TARGET = 20_000;

export async function plan(ctx: AppContext, opts: { dryRun?: boolean; only?: readonly { table: string; segment: number }[] } = {}): Promise<PlanResult> {
  const { config, store } = ctx;
  await ping(ctx.source, `source ${config.source.host}:${config.source.port}`);
  await Promise.all([...new Set(ctx.targets)].map((p, i) => ping(p, `target connection #${i}`)));
  if (config.cdc.enabled) await checkRowImage(ctx.source);
  const tables: TablePlanReport[] = [];
  for (const table of config.tables) tables.push(await planTable(ctx, table, opts.dryRun ?? false));
  // CDC starts where the copy cannot have read yet: after planning (targets exist, plans are stored, so
  // apply can route every event) and before the copy's first page. Kept if already recorded.
  if (config.cdc.enabled && !opts.dryRun) await store.initCapture(config.migrationId, await currentPosition(ctx.source));
  const segments: { table: string; segment: number }[] = [];
  if (!opts.dryRun) {
    const all = (await Promise.all(config.tables.map((t) => store.segments(config.migrationId, t.name)))).flat();
    if (opts.only) {
      // A rerun of chosen segments: each must exist; DONE ones are verified again.
      for (const o of opts.only) {
        if (!all.some((cp) => cp.table === o.table && cp.segment === o.segment))
          throw new ConfigError(`only: segment ${o.table}#${o.segment} does not exist in migration ${config.migrationId} (segments: ${all.length})`);
        segments.push({ table: o.table, segment: o.segment });
      }
    } else
      for (const cp of all)
        if (cp.status !== SegmentStatus.DONE || (config.verify.enabled && cp.verifyStatus !== VerifyStatus.CLEAN && cp.verifyStatus !== VerifyStatus.REPAIRED))
          segments.push({ table: cp.table, segment: cp.segment });
  }
  return { migrationId: config.migrationId, tables, segments };
}

async function reopenGrownSegment(ctx: AppContext, table: TableConfig, keyKind: KeyKind): Promise<void> {
  const cps = await ctx.store.segments(ctx.config.migrationId, table.name);
  const last = cps.find((c) => c.hi === null);
  if (!last || last.status !== SegmentStatus.DONE || last.cursor === null) return;
  const grown = await sourceFor(ctx, table.name).hasRowAfter({ scrollKey: table.scrollKey, after: last.cursor, keyKind, timeColumn: table.timeColumn, window: table.window });
  if (grown) await ctx.store.reopenSegment(ctx.config.migrationId, table.name, last.segment);
}

async function planTable(ctx: AppContext, table: TableConfig, dryRun: boolean): Promise<TablePlanReport> {
  const { config, store } = ctx;
  const source = sourceFor(ctx, table.name);
  const columns = await source.columns();
  if (columns.length === 0) throw new SchemaError(`source table ${source.id} does not exist`);
  const names = new Set(columns.map((c) => c.name));
  const needed: [string, string][] = [
    ['scrollKey', table.scrollKey],
    ...table.shardKeys.map((c, i): [string, string] => [`shardKeys[${i}]`, c]),
    ...recordKeyOf(table).map((c, i): [string, string] => [`recordKey[${i}]`, c]),
    ...(table.versionColumn ? [['versionColumn', table.versionColumn] as [string, string]] : []),
    ...(table.timeColumn ? [['timeColumn', table.timeColumn] as [string, string]] : []),
  ];
  for (const [field, col] of needed)
    if (!names.has(col)) throw new SchemaError(`tables.${table.name}.${field}: column ${col} does not exist in ${source.id}`);
  await source.checkScrollIndex(table.scrollKey);
  const keyKind = keyKindOf(columns, table.scrollKey);
  const router = routerFor(ctx, table);

  // Statistics, the sample and (unless a dry run) the target tables are independent: done at once. The
  // sample's density needs the row count first: the per-day counts add up to it, unless a window leaves rows
  // out (then a COUNT(*) of its own, in a fraction of the per-day scan).
  const perDayP = source.rowsPerDay({ timeColumn: table.timeColumn, window: table.window });
  const allRowsP =
    table.timeColumn && table.window ? source.rowsPerDay().then((r) => r[0]!.rows) : perDayP.then((r) => r.reduce((a, d) => a + d.rows, 0));
  const sampleP = allRowsP.then((n) => source.sample({ scrollKey: table.scrollKey, shardKeys: table.shardKeys, step: Math.max(1, Math.ceil(n / SAMPLE_TARGET)) }));
  const prepareP = dryRun
    ? Promise.resolve({ created: 0, existing: 0 })
    : source.createTableSql().then((createSql) => prepareTargets({ writer: ctx.writer, createSql, sourceColumns: columns, targets: router.allTargets(), concurrency: 8 }));
  const [perDay, allRows, sample, prepared] = await Promise.all([perDayP, allRowsP, sampleP, prepareP]);
  const total = perDay.reduce((a, d) => a + d.rows, 0);
  const keys = sample.rows.map((r) => keyText(r[table.scrollKey], keyKind, `${table.name} sample`));
  const minKey = sample.min === null ? null : keyText(sample.min, keyKind, `${table.name} MIN(${table.scrollKey})`);
  const maxKey = sample.max === null ? null : keyText(sample.max, keyKind, `${table.name} MAX(${table.scrollKey})`);

  // Skew preview: route the sampled rows; rows that cannot be routed are reported now, before any write.
  const preview = skew(router, sample.rows);
  const routed = sample.rows.length - preview.unroutable.length;
  const scale = routed ? allRows / sample.rows.length : 0;
  const skewRows = preview.counts.map((c) => ({ target: c.target, rows: Math.round(c.rows * scale) }));
  const mean = skewRows.reduce((a, c) => a + c.rows, 0) / Math.max(1, skewRows.length);
  const skewFactor = mean > 0 ? Math.max(...skewRows.map((c) => c.rows)) / mean : 1;

  let segments = planSegments(keys, config.copy.segments, keyKind);
  let reusedPlan = false;
  let created = 0;
  let existing = 0;
  if (!dryRun) {
    created = prepared.created;
    existing = prepared.existing;
    const literalKinds = literalKindsOf(columns);
    const stored: TablePlan = {
      table: table.name,
      keyKind,
      columns: columns.map((c) => c.name),
      readKinds: readKindsOf(columns),
      ...(literalKinds ? { literalKinds } : {}),
      segments: segments.length,
      minKey,
      maxKey,
      createdAt: Date.now(),
    };
    const fresh = await store.savePlanIfAbsent(config.migrationId, stored, segments);
    if (!fresh) {
      reusedPlan = true;
      const cps = await store.segments(config.migrationId, table.name);
      if (cps.length === 0) await store.ensureSegments(config.migrationId, table.name, segments);
      else segments = cps.map((c) => ({ index: c.segment, lo: c.lo, hi: c.hi }));
    }
    await store.putStats(config.migrationId, perDay.map((d) => ({ table: table.name, day: d.day, rows: d.rows })));
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
