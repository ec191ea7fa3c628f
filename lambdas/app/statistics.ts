/**
 * Source statistics: rows per day (by the table's time column, within its window), the total a table must
 * reach to be complete. Plan computes every day; later refreshes recompute only the recent days (rows keep
 * arriving at the end of time), keeping the older days as stored.
 */
import type { TableConfig } from '../core/config.js';
import type { DayStat } from '../core/model.js';
import { sourceFor, type AppContext } from './context.js';

const DAY_MS = 86_400_000;

/**
 * Recomputes a table's statistics and stores them. With `recentDays`, only days from the latest stored
 * day minus `recentDays` on are counted again (everything when nothing is stored or there is no time column).
 */
export async function refreshStatistics(ctx: Pick<AppContext, 'config' | 'source' | 'store'>, table: TableConfig, recentDays?: number): Promise<DayStat[]> {
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
  const counted = await sourceFor(ctx, table.name).rowsPerDay({ timeColumn: table.timeColumn, window });
  const fresh = counted.map((d) => ({ table: table.name, day: d.day, rows: d.rows }));
  await store.putStats(config.migrationId, fresh);
  const byDay = new Map(stored.map((s) => [s.day, s]));
  // Recent days no longer present (their rows were deleted) count zero now.
  if (window !== table.window && window?.from) for (const s of stored) if (s.day >= window.from.slice(0, 10) && !counted.some((c) => c.day === s.day)) byDay.set(s.day, { ...s, rows: 0 });
  for (const f of fresh) byDay.set(f.day, f);
  const zeroed = [...byDay.values()].filter((s) => s.rows === 0 && stored.some((o) => o.day === s.day && o.rows !== 0));
  if (zeroed.length) await store.putStats(config.migrationId, zeroed);
  return [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
}
