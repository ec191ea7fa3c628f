/**
 * Source statistics: rows per day (by the table's time column, within its window), the total a table must
 * reach to be complete. Plan computes every day; later refreshes recompute only the recent days (rows keep
 * arriving at the end of time), keeping the older days as stored.
 */
import type { TableConfig } from '../core/config.js';
import type { DayStat } from '../core/model.js';
import { inParallel } from '../core/parallel.js';
import { sourcesFor, type AppContext } from './context.js';

const DAY_MS = 86_400_000;

/**
 * Recomputes a table's statistics and stores them. With `recentDays`, only days from the latest stored
 * day minus `recentDays` on are counted again (everything when nothing is stored or there is no time column).
 */
export async function refreshStatistics(ctx: Pick<AppContext, 'config' | 'sources' | 'store'>, table: TableConfig, recentDays?: number): Promise<DayStat[]> {
  const { config, store } = ctx;
  const stored = await store.stats(config.migrationId, table.name);
  const latest = stored
    .map((s) => s.day)
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort()
    .at(-1);
  let window = table.window;
  if (recentDays !== undefined && table.timeColumn && latest) {
    const from = new Date(Date.parse(`${latest}T00:00:00Z`) - recentDays * DAY_MS);
    const windowFrom = table.window?.from ? new Date(table.window.from) : undefined;
    window = { ...table.window, from: (windowFrom && windowFrom > from ? windowFrom : from).toISOString() };
  }
  // One count per physical source table (kept apart when there are several), summed per day on return.
  const readers = sourcesFor(ctx, table.name);
  const counted = await inParallel([...readers.keys()], 4, async (u) =>
    (await readers[u]!.rowsPerDay({ timeColumn: table.timeColumn, window })).map((d): DayStat => ({ table: table.name, day: d.day, rows: d.rows, ...(readers.length > 1 ? { source: u } : {}) })),
  );
  const fresh = counted.flat();
  await store.putStats(config.migrationId, fresh);
  const idOf = (s: DayStat) => `${s.day}#${s.source ?? ''}`;
  const byId = new Map(stored.map((s) => [idOf(s), s]));
  // Recent days no longer present (their rows were deleted) count zero now.
  const freshIds = new Set(fresh.map(idOf));
  if (window !== table.window && window?.from) for (const s of stored) if (s.day >= window.from.slice(0, 10) && !freshIds.has(idOf(s))) byId.set(idOf(s), { ...s, rows: 0 });
  for (const f of fresh) byId.set(idOf(f), f);
  const zeroed = [...byId.values()].filter((s) => s.rows === 0 && stored.some((o) => idOf(o) === idOf(s) && o.rows !== 0));
  if (zeroed.length) await store.putStats(config.migrationId, zeroed);
  return sumPerDay(table.name, [...byId.values()]);
}

/** A logical table's statistics: the rows of its physical source tables summed per day, in day order. */
export function sumPerDay(table: string, stats: readonly DayStat[]): DayStat[] {
  const days = new Map<string, number>();
  for (const s of stats) days.set(s.day, (days.get(s.day) ?? 0) + s.rows);
  return [...days].map(([day, rows]) => ({ table, day, rows })).sort((a, b) => a.day.localeCompare(b.day));
}
