/**
 * Capture handler (EventBridge schedule, every minute, one per source server: `{server}`): one single-flight
 * capture run of that server from its checkpointed binlog position into the SQS FIFO change queue, within the capture budget (cut to the
 * Lambda's remaining time less what committing the position and releasing the lease take).
 */
import { randomUUID } from 'node:crypto';
import { captureRun, sourceBinlogReader, type CaptureDeps } from '../app/capture.js';
import type { MigrationConfig } from '../core/config.js';
import { envChangeQueue, envContext, envReverseContext } from '../app/env-context.js';
import { z } from 'zod';
import { ConfigError, LeaseHeldError } from '../core/errors.js';
import { Metric, SOURCE_SERVER_DIMENSION } from '../core/metric-names.js';
import { secondsBehind } from '../core/progress.js';
import { pausedText } from '../core/ddl.js';
import { logger, parseEvent, publishMetrics, timeBudgetMs, type ContextProvider, type InvocationContext } from './common.js';

/** The schedule's event: which source server to read (0, the first, when absent); `reverse`: of the reverse migration (a target server). */
const CaptureEvent = z.object({ server: z.number().int().min(0).default(0), reverse: z.boolean().default(false) }).loose();

/** Time kept back to commit the last position and release the lease. */
const SAFETY_MS = 20_000;

export const makeCaptureHandler = (
  getContext: ContextProvider,
  getQueue: () => CaptureDeps['queue'],
  readerFor: (config: MigrationConfig, server: number) => CaptureDeps['read'] = sourceBinlogReader,
  getReverse?: ContextProvider,
) => async (event: unknown, invocation?: InvocationContext) => {
  const { server, reverse } = parseEvent(CaptureEvent, event ?? {}, 'capture');
  if (reverse && !getReverse) throw new ConfigError('a reverse capture event, but this capture has no reverse replication (cutover.reverse)');
  const ctx = reverse ? await getReverse!() : await getContext();
  const queue = getQueue();
  const budgetMs = timeBudgetMs(ctx.config.cdc.captureBudgetSeconds, invocation, SAFETY_MS);
  try {
    const run = await captureRun(ctx, { queue, read: readerFor(ctx.config, server) }, { owner: `${ctx.workerId}:${invocation?.awsRequestId ?? randomUUID()}`, budgetMs, server });
    if (run.followed) logger.warn('capture went on from another server, found by GTID (cdc.onSourceChange gtid)', { server, ...run.followed });
    if (run.idle) logger.debug('capture idle', { server, reverse, why: run.idle });
    else if (run.paused) logger.warn('capture stopped before a DDL', { server, detail: pausedText(server, run.paused) });
    else logger.info('captured', { ...run, server });
    // CaptureRuns is the heartbeat: published by every run that ends well, caught up or not.
    publishMetrics(
      ctx.config.migrationId,
      [
        [Metric.captureRuns, 1],
        [Metric.eventsCaptured, run.events],
        [Metric.captureLagSeconds, secondsBehind(run.caughtUp, run.lastEventAt, Date.now())],
        [Metric.capturePaused, run.paused ? 1 : 0],
      ],
      server ? { [SOURCE_SERVER_DIMENSION]: String(server) } : {},
    );
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

export const handler = makeCaptureHandler(envContext, envChangeQueue, sourceBinlogReader, envReverseContext);
