/**
 * Copy-batch handler: `{migrationId, table, segment}` → copies pages of that segment until done or the
 * time budget runs out, checkpointing each page; returns `{done, cursor, ...}` for the state machine's loop.
 */
import { z } from 'zod';
import { copySegment } from '../app/copy-segment.js';
import { checkMigrationId } from '../app/context.js';
import { envContext } from '../app/env-context.js';
import { Metric } from '../core/metric-names.js';
import { LeaseHeldError } from '../core/errors.js';
import { logger, parseEvent, publishMetrics, timeBudgetMs, type ContextProvider, type InvocationContext } from './common.js';

const CopyBatchEvent = z.object({ migrationId: z.string().min(1), table: z.string().min(1), segment: z.number().int().min(0) }).loose();

/** Time kept back from the Lambda timeout to commit the last page and return. */
const SAFETY_MS = 30_000;

export const makeCopyBatchHandler = (getContext: ContextProvider) => async (event: unknown, invocation?: InvocationContext) => {
  const req = parseEvent(CopyBatchEvent, event, 'copy-batch');
  const ctx = await getContext();
  checkMigrationId(ctx, req.migrationId);
  const budgetMs = timeBudgetMs(ctx.config.copy.timeBudgetSeconds, invocation, SAFETY_MS);
  const owner = `${ctx.workerId}:${invocation?.awsRequestId ?? 'direct'}`;
  let result;
  try {
    result = await copySegment(ctx, { table: req.table, segment: req.segment, budgetMs }, owner);
  } catch (err) {
    // The attempt is recorded in the checkpoint (FAILED, error, retries) by copySegment; count it for the alarm.
    if (!(err instanceof LeaseHeldError)) publishMetrics(req.migrationId, [[Metric.segmentsFailed, 1]]);
    throw err;
  }
  logger.info('copy-batch', { ...result });
  // Reported when the call returns (up to copy.timeBudgetSeconds after it started): the copy-stalled alarm allows for that.
  publishMetrics(req.migrationId, [[Metric.rowsCopied, result.rows]]);
  return { migrationId: req.migrationId, ...result };
};

export const handler = makeCopyBatchHandler(envContext);
