/** What every handler shares: event parsing at the edge, the logger, metrics, the Lambda context shape. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { z } from 'zod';
import { describeError, InvalidEventError } from '../core/errors.js';
import { formatIssues } from '../core/config.js';
import { METRICS_NAMESPACE, METRICS_SERVICE, MIGRATION_DIMENSION, type MetricDefinition } from '../core/metric-names.js';
import type { AppContext } from '../app/context.js';

export const logger = new Logger({ serviceName: 'reshard' });

/** Custom metrics (CloudWatch EMF on stdout). Publish through `publishMetrics`, never directly. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/**
 * EMF is a line on stdout that CloudWatch Logs turns into metrics: it means something only inside Lambda.
 * Local runs and tests call the same handlers in-process, so nothing is published there (the Lambda
 * runtime always sets AWS_LAMBDA_FUNCTION_NAME). POWERTOOLS_METRICS_DISABLED=true turns it off in Lambda too.
 */
export function metricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.AWS_LAMBDA_FUNCTION_NAME && !/^(1|true|yes|on)$/i.test(env.POWERTOOLS_METRICS_DISABLED ?? '');
}

/**
 * Publishes one invocation's metrics with the `migrationId` dimension, at once (add and flush without an
 * await in between, so invocations sharing a process never mix). Zero values are published too: an alarm
 * can tell "ran and copied nothing" from "did not run". A metrics failure is logged, never thrown.
 */
export function publishMetrics(migrationId: string, values: readonly (readonly [MetricDefinition, number])[]): void {
  if (!metricsEnabled() || values.length === 0) return;
  try {
    metrics.addDimension(MIGRATION_DIMENSION, migrationId);
    for (const [m, v] of values) if (Number.isFinite(v)) metrics.addMetric(m.name, m.unit, v);
    metrics.publishStoredMetrics();
  } catch (err) {
    logger.warn('metrics not published', { error: describeError(err) });
    try {
      metrics.clearMetrics();
      metrics.clearDimensions();
    } catch {
      // nothing more to do: metrics must never fail a handler
    }
  }
}

/** The part of the Lambda context we use (the local runtime provides the same). */
export interface InvocationContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export type ContextProvider = () => Promise<AppContext>;

export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, handler: string): z.output<S> {
  const r = schema.safeParse(event);
  if (!r.success) throw new InvalidEventError(`${handler}: invalid event: ${formatIssues(r.error).join('; ')}`);
  return r.data;
}
