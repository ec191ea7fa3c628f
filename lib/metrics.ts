/**
 * Every metric the dashboard and the alarms read, in one place (alarms and widgets: `monitoring.ts`).
 * Custom metrics come from the handlers through Powertools Metrics (EMF) under the names in
 * `lambdas/core/metric-names.ts`; the rest are the services' own (AWS/States, AWS/Lambda, AWS/SQS, AWS/DynamoDB).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { METRICS_NAMESPACE, METRICS_SERVICE, MIGRATION_DIMENSION, type MetricDefinition } from '../lambdas/core/metric-names.js';

export class ReshardMetricFactory {
  constructor(
    private readonly migrationId: string,
    private readonly stateMachine: sfn.IStateMachine,
    private readonly queue: sqs.IQueue,
    private readonly deadLetterQueue: sqs.IQueue,
  ) {}

  /** A custom metric as the handlers publish it (namespace `Reshard`, dimensions service + migrationId). */
  custom(def: MetricDefinition, statistic: string, period: Duration = Duration.minutes(1), dimensions: Readonly<Record<string, string>> = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: def.name,
      dimensionsMap: { service: METRICS_SERVICE, [MIGRATION_DIMENSION]: this.migrationId, ...dimensions },
      statistic,
      period,
      label: def.name,
      // No unit filter: an alarm given a unit sees only datapoints published with exactly that unit.
    });
  }

  /** Per second over each period: sum ÷ PERIOD. */
  perSecond(def: MetricDefinition, period: Duration = Duration.minutes(1)): cloudwatch.MathExpression {
    const id = def.name.toLowerCase(); // unique per metric: several rates share one graph
    return new cloudwatch.MathExpression({
      expression: `${id} / PERIOD(${id})`,
      usingMetrics: { [id]: this.custom(def, cloudwatch.Stats.SUM, period) },
      label: `${def.name}/s`,
      period,
    });
  }

  executionsFailed(period = Duration.minutes(1)) {
    return this.stateMachine.metricFailed({ period, statistic: cloudwatch.Stats.SUM });
  }
  executionsTimedOut(period = Duration.minutes(1)) {
    return this.stateMachine.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM });
  }
  executionsAborted(period = Duration.minutes(1)) {
    return this.stateMachine.metricAborted({ period, statistic: cloudwatch.Stats.SUM });
  }
  executionsStarted(period = Duration.minutes(1)) {
    return this.stateMachine.metricStarted({ period, statistic: cloudwatch.Stats.SUM });
  }
  executionsSucceeded(period = Duration.minutes(1)) {
    return this.stateMachine.metricSucceeded({ period, statistic: cloudwatch.Stats.SUM });
  }

  /** CDC lag as SQS sees it: the age of the oldest change not yet applied (or deleted). */
  queueOldestAge(period = Duration.minutes(1)) {
    return this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest change message (s)' });
  }
  queueVisible(period = Duration.minutes(1)) {
    return this.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'backlog (visible)' });
  }
  queueInFlight(period = Duration.minutes(1)) {
    return this.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'in flight' });
  }
  /** Messages in the DLQ: change events apply gave up on. */
  deadLetters(period = Duration.minutes(1)) {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'DLQ messages' });
  }

  /**
   * Throttled reads + writes of a table (ReadThrottleEvents + WriteThrottleEvents: every throttle reason,
   * on-demand included). DynamoDB publishes them only when non-zero, hence FILL.
   */
  tableThrottles(table: Pick<dynamodb.ITable, 'metric'>, period = Duration.minutes(5)): cloudwatch.MathExpression {
    const stat = { period, statistic: cloudwatch.Stats.SUM };
    return new cloudwatch.MathExpression({
      expression: 'FILL(reads, 0) + FILL(writes, 0)',
      usingMetrics: { reads: table.metric('ReadThrottleEvents', stat), writes: table.metric('WriteThrottleEvents', stat) },
      period,
      label: 'state table throttled reads + writes',
    });
  }

  fnErrors(name: string, fn: lambda.IFunction, period = Duration.minutes(5)) {
    return fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM, label: name });
  }
  fnThrottles(name: string, fn: lambda.IFunction, period = Duration.minutes(5)) {
    return fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM, label: name });
  }
  fnInvocations(name: string, fn: lambda.IFunction, period = Duration.minutes(5)) {
    return fn.metricInvocations({ period, statistic: cloudwatch.Stats.SUM, label: name });
  }
  fnDuration(name: string, fn: lambda.IFunction, period = Duration.minutes(5)) {
    return fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99), label: `${name} p99` });
  }
}
