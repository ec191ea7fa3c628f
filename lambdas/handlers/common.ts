/** What every handler shares: event and SQS message parsing at the edge, the time budget, the logger, metrics, the Lambda context shape. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ZodError, type z } from 'zod';
import type { SQSRecord } from 'aws-lambda';
import type { ChangeEvent } from '../core/events/model.js';
import { decodeEvents } from '../core/events/wire.js';
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
export function publishMetrics(migrationId: string, values: readonly (readonly [MetricDefinition, number])[], dimensions: Readonly<Record<string, string>> = {}): void {
  if (!metricsEnabled() || values.length === 0) return;
  try {
    metrics.addDimension(MIGRATION_DIMENSION, migrationId);
    for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
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

/**
 * How long one call may work: the configured budget, cut to the Lambda's remaining time less `safetyMs`
 * (kept back to commit the last step and return), never under 1 s. Without a Lambda context (direct
 * calls): the configured budget.
 */
export function timeBudgetMs(configuredSeconds: number, invocation: InvocationContext | undefined, safetyMs: number): number {
  const remaining = invocation ? invocation.getRemainingTimeInMillis() - safetyMs : Number.POSITIVE_INFINITY;
  return Math.max(1000, Math.min(configuredSeconds * 1000, remaining));
}

export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, handler: string): z.output<S> {
  const r = schema.safeParse(event);
  if (!r.success) throw new InvalidEventError(`${handler}: invalid event: ${formatIssues(r.error).join('; ')}`);
  return r.data;
}

/**
 * The change events of one SQS change message; an InvalidEventError naming the message when it is not one.
 * Inflated on this thread: on zlib's thread pool (with ten messages an invocation, four invocations at once
 * on the 2-core CDC bench) the same inflating cost Node ~15% more CPU per event, for no gain where the
 * cores are busy anyway — and a Lambda under 1,769 MB has one vCPU.
 */
export function eventsOf(record: SQSRecord): ChangeEvent[] {
  try {
    return decodeEvents(JSON.parse(record.body));
  } catch (err) {
    const why = err instanceof ZodError ? formatIssues(err).join('; ') : (err as Error).message;
    throw new InvalidEventError(`message ${record.messageId} (group ${record.attributes.MessageGroupId}) is not a change message: ${why}`);
  }
}
