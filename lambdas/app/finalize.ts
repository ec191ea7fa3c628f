/**
 * Finalize: summarise every table from its checkpoints and statistics; fail (so the execution ends
 * FAILED and can be rerun) when any segment FAILED.
 */
import { SegmentsFailedError } from '../core/errors.js';
import { SegmentStatus } from '../adapters/state-store.js';
import type { AppContext } from './context.js';

export interface TableSummary {
  readonly table: string;
  readonly status: 'DONE' | 'INCOMPLETE' | 'FAILED';
  readonly rowsCopied: number;
  readonly statisticsTotal: number;
  readonly segments: number;
  readonly segmentsDone: number;
  readonly segmentsFailed: number;
}

export async function summarize(ctx: AppContext): Promise<TableSummary[]> {
  const out: TableSummary[] = [];
  for (const t of ctx.config.tables) {
    const [cps, stats] = await Promise.all([ctx.store.segments(ctx.config.migrationId, t.name), ctx.store.stats(ctx.config.migrationId, t.name)]);
    const done = cps.filter((c) => c.status === SegmentStatus.DONE).length;
    const failed = cps.filter((c) => c.status === SegmentStatus.FAILED).length;
    out.push({
      table: t.name,
      status: failed > 0 ? 'FAILED' : cps.length > 0 && done === cps.length ? 'DONE' : 'INCOMPLETE',
      rowsCopied: cps.reduce((a, c) => a + c.rowsCopied, 0),
      statisticsTotal: stats.reduce((a, s) => a + s.rows, 0),
      segments: cps.length,
      segmentsDone: done,
      segmentsFailed: failed,
    });
  }
  return out;
}

export async function finalize(ctx: AppContext): Promise<{ migrationId: string; tables: TableSummary[] }> {
  const tables = await summarize(ctx);
  for (const t of tables) await ctx.store.putTableStatus(ctx.config.migrationId, t.table, { ...t });
  const failed = (await ctx.store.segments(ctx.config.migrationId)).filter((c) => c.status === SegmentStatus.FAILED);
  if (failed.length > 0) {
    throw new SegmentsFailedError(
      `${failed.length} segment(s) failed: ${failed
        .slice(0, 10)
        .map((c) => `${c.table}#${c.segment} (${c.lastError ?? 'no error recorded'})`)
        .join('; ')}. Fix the cause, then rerun: reshard retry (or start the state machine again).`,
      failed.map((c) => ({ table: c.table, segment: c.segment, ...(c.lastError ? { error: c.lastError } : {}) })),
    );
  }
  return { migrationId: ctx.config.migrationId, tables };
}
