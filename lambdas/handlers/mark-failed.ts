/**
 * Mark-failed handler: the state machine's Catch sends `{migrationId, table, segment, error: {Error, Cause}}`
 * once retries are exhausted; the segment is recorded FAILED with the error (its retry count is already
 * counted by copy-batch), so `status` shows it and `retry` / a rerun resumes it from its checkpoint.
 */
import { z } from 'zod';
import { checkMigrationId } from '../app/context.js';
import { envContext } from '../app/env-context.js';
import { Metric } from '../core/metric-names.js';
import { logger, parseEvent, publishMetrics, type ContextProvider } from './common.js';

const MarkFailedEvent = z
  .object({
    migrationId: z.string().min(1),
    table: z.string().min(1),
    segment: z.number().int().min(0),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).loose().default({}),
  })
  .loose();

export const makeMarkFailedHandler = (getContext: ContextProvider) => async (event: unknown) => {
  const req = parseEvent(MarkFailedEvent, event, 'mark-failed');
  const ctx = await getContext();
  checkMigrationId(ctx, req.migrationId);
  const error = causeText(req.error.Error, req.error.Cause);
  const cp = await ctx.store.markFailed(req.migrationId, req.table, req.segment, error);
  logger.error('segment failed', { table: req.table, segment: req.segment, error, retries: cp?.retries });
  publishMetrics(req.migrationId, [[Metric.segmentsFailed, 1]]);
  return { migrationId: req.migrationId, table: req.table, segment: req.segment, status: cp?.status ?? 'FAILED', error, retries: cp?.retries ?? 0 };
};

/** Lambda errors reach Step Functions as `{Error, Cause}` where Cause may be the JSON of `{errorType, errorMessage}`. */
function causeText(name: string | undefined, cause: string | undefined): string {
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: string };
    if (parsed.errorMessage) message = parsed.errorMessage;
  } catch {
    // plain text cause
  }
  return `${name ?? 'Error'}: ${message}`.slice(0, 2000);
}

export const handler = makeMarkFailedHandler(envContext);
