/**
 * The local twin of Lambda's SQS event source mapping: receive up to 10 messages, invoke the apply
 * handler with an `SQSEvent`, delete what succeeded, leave reported failures to reappear after the
 * visibility timeout (the queue's redrive policy moves them to the DLQ after maxReceiveCount).
 * Several pollers run at once, like concurrent Lambda invocations.
 */
import { sleep } from '../lambdas/core/time.js';
import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ChangeQueue } from '../lambdas/adapters/sqs.js';
import type { InvocationContext } from '../lambdas/handlers/common.js';

export type ApplyHandler = (event: SQSEvent, ctx?: InvocationContext) => Promise<SQSBatchResponse>;

export interface PollerOptions {
  readonly queue: ChangeQueue;
  readonly queueArn: string;
  readonly handler: ApplyHandler;
  /** Concurrent pollers. @default 2 */
  readonly concurrency?: number;
  /** Seconds a received message stays invisible. @default 30 */
  readonly visibilityTimeout?: number;
  readonly onError?: (err: unknown) => void;
}

export function toRecord(m: Message, queueArn: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

export class Poller {
  private running = false;
  private loops: Promise<void>[] = [];
  /** Messages fully handled (deleted). */
  processed = 0;
  failedReports = 0;

  constructor(private readonly opts: PollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.opts.concurrency ?? 2 }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const messages = await this.opts.queue.receive({ visibilityTimeout: this.opts.visibilityTimeout ?? 30 });
        if (!messages.length) continue;
        const records = messages.map((m) => toRecord(m, this.opts.queueArn));
        const deadline = Date.now() + 60_000;
        const res = await this.opts.handler({ Records: records }, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() });
        const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
        this.failedReports += failed.size;
        const done = records.filter((r) => !failed.has(r.messageId));
        await this.opts.queue.deleteBatch(done.map((r) => r.receiptHandle));
        this.processed += done.length;
      } catch (err) {
        // A whole-invocation failure: nothing is deleted, every message comes back after its visibility timeout.
        this.opts.onError?.(err);
        await sleep(200);
      }
    }
  }
}
