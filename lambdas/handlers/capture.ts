/**
 * Capture handler (EventBridge schedule, every minute): one single-flight capture run from the
 * checkpointed binlog position into the SQS FIFO change queue, within the capture budget (cut to the
 * Lambda's remaining time less what committing the position and releasing the lease take).
 */
import { randomUUID } from 'node:crypto';
import { captureRun, sourceBinlogReader, type CaptureDeps } from '../app/capture.js';
import type { MigrationConfig } from '../core/config.js';
import { envChangeQueue, envContext } from '../app/env-context.js';
import { LeaseHeldError } from '../core/errors.js';
import { Metric } from '../core/metric-names.js';
import { secondsBehind } from '../core/progress.js';
import { logger, publishMetrics, timeBudgetMs, type ContextProvider, type InvocationContext } from './common.js';

/** Time kept back to commit the last position and release the lease. */
const SAFETY_MS = 20_000;

export const makeCaptureHandler = (
  getContext: ContextProvider,
  getQueue: () => CaptureDeps['queue'],
  readerFor: (config: MigrationConfig) => CaptureDeps['read'] = sourceBinlogReader,
) => async (_event: unknown, invocation?: InvocationContext) => {
  const ctx = await getContext();
  const queue = getQueue();
  const budgetMs = timeBudgetMs(ctx.config.cdc.captureBudgetSeconds, invocation, SAFETY_MS);
  try {
    const run = await captureRun(ctx, { queue, read: readerFor(ctx.config) }, { owner: `${ctx.workerId}:${invocation?.awsRequestId ?? randomUUID()}`, budgetMs });
    logger.info('captured', { ...run });
    // CaptureRuns is the heartbeat: published by every run that ends well, caught up or not.
    publishMetrics(ctx.config.migrationId, [
      [Metric.captureRuns, 1],
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

export const handler = makeCaptureHandler(envContext, envChangeQueue);
