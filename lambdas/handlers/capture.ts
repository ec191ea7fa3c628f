/**
 * Capture handler (EventBridge schedule, every minute): one single-flight capture run from the
 * checkpointed binlog position into the SQS FIFO queue, stopping before the Lambda's time budget.
 */
import { randomUUID } from 'node:crypto';
import { ChangeQueue, sqsClient } from '../adapters/sqs.js';
import { captureRun, sourceBinlogReader } from '../app/capture.js';
import { envContext } from '../app/env-context.js';
import { ConfigError, LeaseHeldError } from '../core/errors.js';
import { Metric } from '../core/metric-names.js';
import { secondsBehind } from '../core/progress.js';
import { logger, publishMetrics, type ContextProvider, type InvocationContext } from './common.js';

/** Time kept back to commit the last position and release the lease. */
const SAFETY_MS = 20_000;

export const makeCaptureHandler = (getContext: ContextProvider, queue?: ChangeQueue) => async (_event: unknown, invocation?: InvocationContext) => {
  const ctx = await getContext();
  const queueUrl = process.env.RESHARD_QUEUE_URL;
  if (!queue && !queueUrl) throw new ConfigError('set RESHARD_QUEUE_URL (the change queue)');
  const q = queue ?? new ChangeQueue(sqsClient(), queueUrl!);
  const remaining = invocation ? invocation.getRemainingTimeInMillis() - SAFETY_MS : Number.POSITIVE_INFINITY;
  const budgetMs = Math.max(1000, Math.min(ctx.config.cdc.captureBudgetSeconds * 1000, remaining));
  try {
    const run = await captureRun(
      ctx,
      { queue: q, read: sourceBinlogReader(ctx.config) },
      { owner: `${ctx.workerId}:${invocation?.awsRequestId ?? randomUUID()}`, budgetMs },
    );
    logger.info('captured', { ...run });
    publishMetrics(ctx.config.migrationId, [
      [Metric.eventsCaptured, run.events],
      [Metric.captureLagSeconds, secondsBehind(run.caughtUp, run.lastEventAt, Date.now())],
    ]);
    return run;
  } catch (err) {
    // Another run still holds the lease (the previous minute's run is finishing): nothing to do this time.
    if (err instanceof LeaseHeldError) {
      logger.info('capture already running', { owner: err.owner });
      return { skipped: true };
    }
    throw err;
  }
};

export const handler = makeCaptureHandler(envContext);
