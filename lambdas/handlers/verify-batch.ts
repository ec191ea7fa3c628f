/**
 * Verify-batch handler: `{migrationId, table, segment, verify: {cursor, batch}}` → verifies batches of the
 * segment's key range (checksum fast path, row by row where it differs, repair when configured) until the
 * segment ends or the time budget runs out; returns `{done, cursor, batch, ...counts}` for the loop.
 */
import { z } from 'zod';
import { verifyStep } from '../app/verify.js';
import { checkMigrationId } from '../app/context.js';
import { envContext } from '../app/env-context.js';
import { Metric } from '../core/metric-names.js';
import { logger, parseEvent, publishMetrics, timeBudgetMs, type ContextProvider, type InvocationContext } from './common.js';

const VerifyBatchEvent = z
  .object({
    migrationId: z.string().min(1),
    table: z.string().min(1),
    segment: z.number().int().min(0),
    verify: z.object({ cursor: z.string().nullable().default(null), batch: z.number().int().min(0).default(0) }).prefault({}),
  })
  .loose();

/** Time kept back from the Lambda timeout to finish the batch in progress (with its CDC settle waits) and return. */
const safetyMs = (settleSeconds: number) => 60_000 + 2 * settleSeconds * 1000;

export const makeVerifyBatchHandler = (getContext: ContextProvider) => async (event: unknown, invocation?: InvocationContext) => {
  const req = parseEvent(VerifyBatchEvent, event, 'verify-batch');
  const ctx = await getContext();
  checkMigrationId(ctx, req.migrationId);
  if (!ctx.config.verify.enabled) return { migrationId: req.migrationId, done: true, cursor: null, batch: 0, skipped: true };
  const budgetMs = timeBudgetMs(ctx.config.verify.timeBudgetSeconds, invocation, safetyMs(ctx.config.verify.settleSeconds));
  const { dirty, ...counts } = await verifyStep(ctx, { table: req.table, segment: req.segment, cursor: req.verify.cursor, batch: req.verify.batch, budgetMs }).catch((err: unknown) => {
    publishMetrics(req.migrationId, [[Metric.segmentsFailed, 1]]);
    throw err;
  });
  logger.info('verify-batch', { ...counts, dirtySample: dirty.slice(0, 5) });
  const dirtyLeft = counts.missing + counts.different + counts.extra - counts.repaired;
  publishMetrics(req.migrationId, [[Metric.rowsVerified, counts.rowsCompared], [Metric.dirtyRows, dirtyLeft], [Metric.rowsRepaired, counts.repaired]]);
  // Dirty keys stay in DynamoDB (VERIFY# items); only counts travel in the state machine's payload.
  return { migrationId: req.migrationId, ...counts };
};

export const handler = makeVerifyBatchHandler(envContext);
