/**
 * Incremental sync on AWS: the change queue (SQS FIFO, high-throughput mode: per-group throughput and
 * deduplication) with its DLQ, the apply function on an event source mapping with partial batch
 * responses, and the capture function on an EventBridge schedule.
 */
import { Duration } from 'aws-cdk-lib';
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
}

function cdcDefaults(props: ChangeDataCaptureProps) {
  return {
    maxReceiveCount: props.maxReceiveCount ?? 5,
    batchSize: props.batchSize ?? 10,
    maxConcurrency: props.maxConcurrency ?? 4,
    schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(1)),
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
    });

    props.applyFunction.addEventSource(
      new SqsEventSource(this.queue, { batchSize: d.batchSize, reportBatchItemFailures: true, maxConcurrency: d.maxConcurrency }),
    );
    this.queue.grantSendMessages(props.captureFunction);
    new events.Rule(this, 'CaptureSchedule', { schedule: d.schedule, targets: [new targets.LambdaFunction(props.captureFunction, { retryAttempts: 0 })] });
  }
}
