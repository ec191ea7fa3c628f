/**
 * The verification report's data: per table the verification summary, rows per day on the source (by the
 * table's time column, within its window) beside the same count summed over every target table, rows per
 * target table, and the dirty keys with the values of the columns that differ as they are now. A plain
 * object (JSON-safe), rendered by `local/report-html.ts`.
 */
import { recordKeyId, recordKeyOf, type TableConfig } from '../core/config.js';
import { inParallel } from '../core/parallel.js';
import { idOf } from '../core/table-id.js';
import type { DirtyRow, Row } from '../core/model.js';
import { routerFor, sourcesFor, tableConfig, type AppContext } from './context.js';
import type { VerifySummary } from './verify.js';
import { sumPerDay } from './statistics.js';

export interface ReportOptions {
  /** Dirty rows listed per table (the counts are always complete). @default 1000 */
  readonly maxDirty?: number;
  /** Characters kept of a value shown in the list of differences. @default 200 */
  readonly maxValueLength?: number;
  /** Report time. @default now */
  readonly now?: Date;
}

export interface DayCount {
  /** `YYYY-MM-DD`; `all` for a table without a time column; `null` for rows whose time is NULL. */
  readonly day: string;
  readonly source: number;
  readonly target: number;
}

export interface ShardCount {
  /** `database.table` */
  readonly target: string;
  readonly db: number;
  readonly table: number;
  readonly rows: number;
}

export interface ColumnDiff {
  readonly column: string;
  /** The value now, as text (BLOBs as `0x…` hex); `null` is SQL NULL, `undefined` when that side has no row now. */
  readonly source?: string | null;
  readonly target?: string | null;
}

export interface DirtyEntry {
  readonly kind: DirtyRow['kind'];
  /** `database.table` where the row is missing, differs, or is extra. */
  readonly target: string;
  /** Record key values as text, in `recordKey` order. */
  readonly key: string[];
  /** The columns that differed (for `different`), with their values as they are now. */
  readonly columns: ColumnDiff[];
}

export interface TableReport {
  readonly table: string;
  readonly recordKey: string[];
  readonly timeColumn: string | null;
  readonly window: { readonly from: string | null; readonly to: string | null } | null;
  readonly verification: Omit<VerifySummary, 'table' | 'dirty'>;
  /** Source vs targets per day (sorted; `null` last), within the window. */
  readonly days: DayCount[];
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Every target table in (db, table) order, rows within the window. */
  readonly shards: ShardCount[];
  /** missing + different + extra, as verification counted them. */
  readonly dirtyTotal: number;
  /** The listed ones (verification keeps up to 200 per batch, this report up to `maxDirty`). */
  readonly dirty: DirtyEntry[];
}

export interface ReportData {
  readonly migrationId: string;
  /** ISO time the report was gathered. */
  readonly generatedAt: string;
  readonly sourceDatabase: string;
  readonly databases: number;
  readonly routing: string;
  readonly clean: boolean;
  readonly tables: TableReport[];
}


/** A value as short display text: NULL stays null, bytes as hex, long text cut with `…`. */
export function valueText(v: unknown, max = 200): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) {
    const bytes = Math.max(1, Math.floor(max / 2) - 1);
    return `0x${v.subarray(0, bytes).toString('hex')}${v.length > bytes ? '…' : ''}`;
  }
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v); // eslint-disable-line @typescript-eslint/no-base-to-string -- objects are handled before
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function dayOrder(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'null') return 1;
  if (b === 'null') return -1;
  return a < b ? -1 : 1;
}

/** Rows by key id. */
function byKeyId(rows: readonly Row[], rk: readonly string[]): Map<string, Row> {
  return new Map(rows.map((r) => [recordKeyId(rk.map((k) => r[k])), r]));
}

async function dirtyEntries(ctx: AppContext, table: TableConfig, dirty: readonly DirtyRow[], opts: ReportOptions): Promise<DirtyEntry[]> {
  const rk = recordKeyOf(table);
  const max = opts.maxValueLength ?? 200;
  const listed = dirty.slice(0, opts.maxDirty ?? 1000);
  const wanted = [...new Set([...rk, ...listed.flatMap((d) => d.columns ?? [])])];
  const different = listed.filter((d) => d.kind === 'different' && d.columns?.length);
  if (different.length === 0) return listed.map((d) => ({ kind: d.kind, target: d.target, key: d.key.map((k) => String(k)), columns: [] }));

  const keys = different.map((d) => d.key);
  const found = await inParallel([...sourcesFor(ctx, table.name)], 4, (r) => r.rowsByKeys({ columns: wanted, recordKey: rk, keys }));
  const source = byKeyId(found.flat(), rk);
  const byTarget = new Map<string, DirtyRow[]>();
  for (const d of different) byTarget.set(d.target, [...(byTarget.get(d.target) ?? []), d]);
  const targets = new Map(routerFor(ctx, table).allTargets().map((t) => [idOf(t), t]));
  const targetRows = new Map<string, Row>();
  await inParallel([...byTarget], ctx.config.copy.writeConcurrency, async ([name, rows]) => {
    const t = targets.get(name);
    if (!t) return;
    const found = byKeyId(await ctx.writer.readRows({ target: t, columns: wanted, recordKey: rk, keys: rows.map((d) => d.key) }), rk);
    for (const [id, r] of found) targetRows.set(`${name}|${id}`, r);
  });
  return listed.map((d) => {
    const id = recordKeyId(d.key);
    const s = source.get(id);
    const t = targetRows.get(`${d.target}|${id}`);
    return {
      kind: d.kind,
      target: d.target,
      key: d.key.map((k) => String(k)),
      columns: (d.columns ?? []).map((c) => ({ column: c, ...(s ? { source: valueText(s[c], max) } : {}), ...(t ? { target: valueText(t[c], max) } : {}) })),
    };
  });
}

async function tableReport(ctx: AppContext, summary: VerifySummary, opts: ReportOptions): Promise<TableReport> {
  const table = tableConfig(ctx, summary.table);
  const router = routerFor(ctx, table);
  const within = { timeColumn: table.timeColumn, window: table.window };
  const source = sumPerDay(table.name, (await inParallel([...sourcesFor(ctx, table.name)], 4, (r) => r.rowsPerDay(within))).flat().map((d) => ({ table: table.name, ...d })));
  // The same GROUP BY day on every target table: its total is that table's rows, the days sum across tables.
  const perTarget = await inParallel(router.allTargets(), ctx.config.copy.writeConcurrency, async (t) => ({
    t,
    days: await ctx.writer.rowsPerDay(t, within),
  }));
  const days = new Map<string, { source: number; target: number }>();
  for (const d of source) days.set(d.day, { source: d.rows, target: 0 });
  for (const { days: ds } of perTarget)
    for (const d of ds) {
      const e = days.get(d.day) ?? { source: 0, target: 0 };
      e.target += d.rows;
      days.set(d.day, e);
    }
  const shards = perTarget.map(({ t, days: ds }) => ({ target: idOf(t), db: t.db, table: t.table, rows: ds.reduce((a, d) => a + d.rows, 0) }));
  const { table: _name, dirty, ...verification } = summary;
  return {
    table: table.name,
    recordKey: recordKeyOf(table),
    timeColumn: table.timeColumn ?? null,
    window: table.window ? { from: table.window.from ?? null, to: table.window.to ?? null } : null,
    verification,
    days: [...days].sort(([a], [b]) => dayOrder(a, b)).map(([day, c]) => ({ day, ...c })),
    sourceRows: source.reduce((a, d) => a + d.rows, 0),
    targetRows: shards.reduce((a, s) => a + s.rows, 0),
    shards,
    dirtyTotal: summary.missing + summary.different + summary.extra,
    dirty: await dirtyEntries(ctx, table, dirty, opts),
  };
}

/** Gathers the report for the tables of `summaries` (the results of `verifyTable`, one per table). */
export async function gatherReport(ctx: AppContext, summaries: readonly VerifySummary[], opts: ReportOptions = {}): Promise<ReportData> {
  const tables: TableReport[] = [];
  for (const s of summaries) tables.push(await tableReport(ctx, s, opts));
  return {
    migrationId: ctx.config.migrationId,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    sourceDatabase: ctx.config.source.database ?? `${ctx.config.source.databasePattern!} × ${ctx.config.source.databases ?? 1}`,
    databases: ctx.config.target.databases,
    routing: ctx.config.routing.algorithm,
    clean: summaries.every((s) => s.clean),
    tables,
  };
}
