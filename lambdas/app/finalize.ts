/**
 * Finalize: refresh the recent days' statistics, summarise every table from its checkpoints, verification
 * state and statistics, and mark the tables that are complete. Fails (so the execution ends FAILED and can
 * be redriven or rerun) when a segment failed, or when a verification found differences it did not repair.
 *
 * A table is complete when its copy is DONE, every segment's verification is CLEAN or REPAIRED and covered
 * at least the statistics total, and (with CDC) every change made up to now has been applied.
 */
import { SegmentsFailedError, VerificationDirtyError } from '../core/errors.js';
import { SegmentStatus, VerifyStatus } from '../core/model.js';
import type { AppContext } from './context.js';
import { tableConfig } from './context.js';
import { refreshStatistics } from './statistics.js';
import { migrationStatus } from './status.js';

export interface TableSummary {
  readonly table: string;
  readonly status: 'DONE' | 'INCOMPLETE' | 'FAILED';
  readonly rowsCopied: number;
  readonly statisticsTotal: number;
  readonly segments: number;
  readonly segmentsDone: number;
  readonly segmentsFailed: number;
  /** Segments whose verification is CLEAN or REPAIRED / DIRTY or FAILED. */
  readonly segmentsVerified: number;
  readonly segmentsDirty: number;
  readonly verifiedRows: number;
  readonly dirtyRows: number;
  readonly repairedRows: number;
  readonly complete: boolean;
}

/** Statistics days recounted by finalize (the latest stored day and the ones before it). */
const RECENT_DAYS = 2;

/** Each table's summary from `migrationStatus` (the one definition of completion), optionally after refreshing recent statistics. */
export async function summarize(ctx: AppContext, opts: { refreshStats?: boolean; cdcCaughtUp?: boolean } = {}): Promise<TableSummary[]> {
  if (opts.refreshStats) for (const t of ctx.config.tables) await refreshStatistics(ctx, tableConfig(ctx, t.name), RECENT_DAYS);
  const view = await migrationStatus(ctx.config, ctx.store);
  return view.tables.map((t) => {
    const count = (ok: (s: (typeof t.segments)[number]) => boolean) => t.segments.filter(ok).length;
    return {
      table: t.table,
      status: t.status === 'FAILED' ? 'FAILED' : t.status === 'DONE' ? 'DONE' : 'INCOMPLETE',
      rowsCopied: t.rowsCopied,
      statisticsTotal: t.statisticsTotal,
      segments: t.segments.length,
      segmentsDone: count((s) => s.status === SegmentStatus.DONE),
      segmentsFailed: count((s) => s.status === SegmentStatus.FAILED),
      segmentsVerified: count((s) => s.verifyStatus === VerifyStatus.CLEAN || s.verifyStatus === VerifyStatus.REPAIRED),
      segmentsDirty: count((s) => s.verifyStatus === VerifyStatus.DIRTY || s.verifyStatus === VerifyStatus.FAILED),
      verifiedRows: t.verifiedRows,
      dirtyRows: t.dirtyRows,
      repairedRows: t.repairedRows,
      complete: t.complete && (opts.cdcCaughtUp ?? true),
    };
  });
}

export async function finalize(ctx: AppContext): Promise<{ migrationId: string; tables: TableSummary[]; cdcCaughtUp?: boolean }> {
  // With CDC, complete also means lag zero now: wait (bounded) for capture and apply to catch up.
  let cdcCaughtUp: boolean | undefined;
  if (ctx.config.cdc.enabled && ctx.settle)
    cdcCaughtUp = await ctx.settle().then(
      () => true,
      () => false,
    );
  const tables = await summarize(ctx, { refreshStats: true, ...(cdcCaughtUp !== undefined ? { cdcCaughtUp } : {}) });
  const now = Date.now();
  for (const t of tables) await ctx.store.putTableStatus(ctx.config.migrationId, t.table, { ...t, ...(t.complete ? { completedAt: now } : {}) });
  const cps = await ctx.store.segments(ctx.config.migrationId);
  const failed = cps.filter((c) => c.status === SegmentStatus.FAILED);
  if (failed.length > 0) {
    throw new SegmentsFailedError(
      `${failed.length} segment(s) failed: ${failed
        .slice(0, 10)
        .map((c) => `${c.table}#${c.segment} (${c.lastError ?? 'no error recorded'})`)
        .join('; ')}. Fix the cause, then redrive the execution (or: reshard retry).`,
      failed.map((c) => ({ table: c.table, segment: c.segment, ...(c.lastError ? { error: c.lastError } : {}) })),
    );
  }
  const dirty = cps.filter((c) => c.verifyStatus === VerifyStatus.DIRTY || c.verifyStatus === VerifyStatus.FAILED);
  if (dirty.length > 0) {
    throw new VerificationDirtyError(
      `verification found differences in ${dirty.length} segment(s): ${dirty
        .slice(0, 10)
        .map((c) => `${c.table}#${c.segment} (${c.verifyStatus}${c.verifyError ? `: ${c.verifyError}` : ''})`)
        .join('; ')}. See reshard status / verify --json; repair with reshard verify --repair (or verify.repair: true), then redrive.`,
      dirty.map((c) => ({ table: c.table, segment: c.segment, ...(c.verifyError ? { error: c.verifyError } : {}) })),
    );
  }
  return { migrationId: ctx.config.migrationId, tables, ...(cdcCaughtUp !== undefined ? { cdcCaughtUp } : {}) };
}
