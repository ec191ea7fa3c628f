/**
 * Finalize: refresh the recent days' statistics, summarise every table from its checkpoints, verification
 * state and statistics, and mark the tables that are complete. Fails (so the execution ends FAILED and can
 * be redriven or rerun) when a segment failed, or when a verification found differences it did not repair.
 *
 * A table is complete when its copy is DONE, every segment's verification is CLEAN or REPAIRED and covered
 * at least the statistics total, and (with CDC) every change made up to now has been applied.
 */
import { SegmentsFailedError, VerificationDirtyError } from '../core/errors.js';
import { SegmentStatus, VerifyStatus } from '../adapters/state-store.js';
import type { AppContext } from './context.js';
import { tableConfig } from './context.js';
import { refreshStatistics } from './statistics.js';

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

export async function summarize(ctx: AppContext, opts: { refreshStats?: boolean; cdcCaughtUp?: boolean } = {}): Promise<TableSummary[]> {
  const out: TableSummary[] = [];
  for (const t of ctx.config.tables) {
    const [cps, stats, batches] = await Promise.all([
      ctx.store.segments(ctx.config.migrationId, t.name),
      opts.refreshStats ? refreshStatistics(ctx, tableConfig(ctx, t.name), RECENT_DAYS) : ctx.store.stats(ctx.config.migrationId, t.name),
      ctx.store.verifyBatches(ctx.config.migrationId, t.name),
    ]);
    const done = cps.filter((c) => c.status === SegmentStatus.DONE).length;
    const failed = cps.filter((c) => c.status === SegmentStatus.FAILED).length;
    const verified = cps.filter((c) => c.verifyStatus === VerifyStatus.CLEAN || c.verifyStatus === VerifyStatus.REPAIRED).length;
    const dirty = cps.filter((c) => c.verifyStatus === VerifyStatus.DIRTY || c.verifyStatus === VerifyStatus.FAILED).length;
    const statisticsTotal = stats.reduce((a, s) => a + s.rows, 0);
    const verifiedRows = batches.reduce((a, b) => a + b.sourceRows, 0);
    const status = failed > 0 ? 'FAILED' : cps.length > 0 && done === cps.length ? 'DONE' : 'INCOMPLETE';
    const verifiedAll = !ctx.config.verify.enabled || (cps.length > 0 && verified === cps.length && verifiedRows >= statisticsTotal);
    out.push({
      table: t.name,
      status,
      rowsCopied: cps.reduce((a, c) => a + c.rowsCopied, 0),
      statisticsTotal,
      segments: cps.length,
      segmentsDone: done,
      segmentsFailed: failed,
      segmentsVerified: verified,
      segmentsDirty: dirty,
      verifiedRows,
      dirtyRows: batches.reduce((a, b) => a + (b.status === VerifyStatus.REPAIRED ? 0 : b.missing + b.different + b.extra), 0),
      repairedRows: batches.reduce((a, b) => a + b.repaired, 0),
      complete: status === 'DONE' && verifiedAll && (opts.cdcCaughtUp ?? true),
    });
  }
  return out;
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
