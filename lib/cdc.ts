/**
 * Incremental sync on AWS: the change queue (SQS FIFO, high-throughput mode: per-group throughput and
 * deduplication) with its DLQ, the apply function on an event source mapping with partial batch
 * responses, and the capture function on an EventBridge schedule.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ChangeDataCaptureProps {
  readonly captureFunction: lambda.IFunction;
  readonly applyFunction: lambda.IFunction;
  /** Receives before a message goes to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** Messages per apply invocation (FIFO allows at most 10). @default 10 */
  readonly batchSize?: number;
  /** Apply invocations at once (event source maximum concurrency, ≥ 2). @default 4 */
  readonly maxConcurrency?: number;
  /** Capture schedule. @default every minute */
  readonly schedule?: events.Schedule;
  /**
   * The source servers to capture (indexes among the source servers, `captureServers`): one schedule each,
   * whose event tells the capture function which server to read. @default [0]
   */
  readonly sourceServers?: readonly number[];
  /**
   * With `cutover.reverse`: the target servers reverse replication captures (indexes among the reverse
   * migration's source servers), one schedule each with `{server, reverse: true}`. Their runs do nothing until
   * a switch starts reverse replication. @default none
   */
  readonly reverseServers?: readonly number[];
  /** What happens to the change queue and the DLQ (and their messages) when the stack is deleted. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Time the capture Lambda needs beyond its run's budget: the handler keeps 20 s back to commit the last
 * position and release the lease, plus 10 s for building its context (secrets, config) on a cold start.
 */
export const CAPTURE_TIMEOUT_MARGIN_SECONDS = 30;

/** The capture Lambda's timeout for a run budget of `budgetSeconds` (`cdc.captureBudgetSeconds`): at most Lambda's 900 s. */
export function captureTimeout(budgetSeconds: number): Duration {
  const seconds = Math.ceil(budgetSeconds) + CAPTURE_TIMEOUT_MARGIN_SECONDS;
  if (!(budgetSeconds >= 1) || seconds > 900)
    throw new Error(`cdc.captureBudgetSeconds ${budgetSeconds} does not fit a Lambda timeout (1..${900 - CAPTURE_TIMEOUT_MARGIN_SECONDS} s)`);
  return Duration.seconds(seconds);
}

function cdcDefaults(props: ChangeDataCaptureProps) {
  return {
    maxReceiveCount: props.maxReceiveCount ?? 5,
    batchSize: props.batchSize ?? 10,
    maxConcurrency: props.maxConcurrency ?? 4,
    schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(1)),
    sourceServers: props.sourceServers ?? [0],
    reverseServers: props.reverseServers ?? [],
    removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
  };
}

export class ChangeDataCapture extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ChangeDataCaptureProps) {
    super(scope, id);
    const d = cdcDefaults(props);
    if (d.batchSize < 1 || d.batchSize > 10) throw new Error(`batchSize must be 1..10 for a FIFO queue, got ${d.batchSize}`);
    if (d.maxConcurrency < 2) throw new Error(`maxConcurrency must be at least 2, got ${d.maxConcurrency}`);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: d.removalPolicy,
    });
    // Visibility: 6 × the apply timeout, as AWS recommends for event source mappings.
    const applyTimeout = Duration.minutes(1);
    this.queue = new sqs.Queue(this, 'Changes', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(applyTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: d.maxReceiveCount },
      removalPolicy: d.removalPolicy,
    });

    props.applyFunction.addEventSource(
      new SqsEventSource(this.queue, { batchSize: d.batchSize, reportBatchItemFailures: true, maxConcurrency: d.maxConcurrency }),
    );
    this.queue.grantSendMessages(props.captureFunction);
    // Started every minute whatever the capture timeout: a run longer than a minute holds the capture lease,
    // so the runs started meanwhile find it held and exit at once; the next run starts at most a minute after
    // one ends.
    // One schedule per source server, each run with its own lease and checkpoint (the first keeps its plain id).
    for (const server of d.sourceServers)
      new events.Rule(this, server === 0 ? 'CaptureSchedule' : `CaptureSchedule${server}`, {
        schedule: d.schedule,
        targets: [new targets.LambdaFunction(props.captureFunction, { retryAttempts: 0, event: events.RuleTargetInput.fromObject({ server }) })],
      });
    for (const server of d.reverseServers)
      new events.Rule(this, `ReverseCaptureSchedule${server}`, {
        schedule: d.schedule,
        targets: [new targets.LambdaFunction(props.captureFunction, { retryAttempts: 0, event: events.RuleTargetInput.fromObject({ server, reverse: true }) })],
      });
  }
}
