/**
 * The change queue (SQS FIFO): batched sends that keep per-group order, and the calls the local
 * event-source poller and `status` need. SDK errors become typed errors here.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { TransientError } from '../core/errors.js';
import type { OutgoingMessage } from '../core/events.js';

export function sqsClient(config: SQSClientConfig = {}): SQSClient {
  return new SQSClient(config);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SendMessageBatch allows 10 entries and 256 KiB in total. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

export class ChangeQueue {
  constructor(
    readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {}

  /**
   * Sends messages keeping each group's order: a group's batches go one after another (never in
   * parallel); failed entries are resent, in order, before anything after them.
   */
  async send(messages: readonly OutgoingMessage[], lanes = 4): Promise<void> {
    if (lanes <= 1) return this.sendLane(messages);
    // Order matters only within a group: groups are spread over lanes sent concurrently, each lane in order.
    const split: OutgoingMessage[][] = Array.from({ length: lanes }, () => []);
    const laneOf = new Map<string, number>();
    for (const m of messages) {
      let l = laneOf.get(m.groupId);
      if (l === undefined) laneOf.set(m.groupId, (l = laneOf.size % lanes));
      split[l]!.push(m);
    }
    await Promise.all(split.filter((l) => l.length).map((l) => this.sendLane(l)));
  }

  private async sendLane(messages: readonly OutgoingMessage[]): Promise<void> {
    let i = 0;
    while (i < messages.length) {
      const batch: OutgoingMessage[] = [];
      let bytes = 0;
      while (i < messages.length && batch.length < MAX_ENTRIES && bytes + Buffer.byteLength(messages[i]!.body) <= MAX_BATCH_BYTES) {
        bytes += Buffer.byteLength(messages[i]!.body);
        batch.push(messages[i++]!);
      }
      if (batch.length === 0) batch.push(messages[i++]!); // one message alone is always allowed (it is under the limit)
      await this.sendBatch(batch);
    }
  }

  private async sendBatch(batch: readonly OutgoingMessage[]): Promise<void> {
    let pending = batch.map((m, n) => ({ m, id: String(n) }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      let failed: Set<string>;
      try {
        const out = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ m, id }) => ({ Id: id, MessageBody: m.body, MessageGroupId: m.groupId, MessageDeduplicationId: m.dedupId })),
          }),
        );
        failed = new Set((out.Failed ?? []).map((f) => f.Id!));
        const permanent = (out.Failed ?? []).filter((f) => f.SenderFault);
        if (permanent.length) throw new Error(`SQS rejected ${permanent.length} message(s): ${permanent.map((f) => `${f.Code} ${f.Message}`).join('; ')}`);
      } catch (err) {
        if (attempt >= 5) throw new TransientError(`sending ${pending.length} change message(s) failed: ${(err as Error).message}`, { cause: err });
        await sleep(100 * 2 ** attempt);
        continue;
      }
      // Keep order: resend from the first failed entry on (later entries of its group must follow it).
      const firstFailed = pending.findIndex((p) => failed.has(p.id));
      if (firstFailed < 0) return;
      if (attempt >= 5) throw new TransientError(`SQS kept failing ${failed.size} message(s)`);
      const failedGroups = new Set(pending.filter((p) => failed.has(p.id)).map((p) => p.m.groupId));
      pending = pending.filter((p, n) => n >= firstFailed && (failed.has(p.id) || failedGroups.has(p.m.groupId)));
      await sleep(100 * 2 ** attempt);
    }
  }

  async receive(max = 10, waitSeconds = 1, visibilityTimeout?: number): Promise<Message[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        ...(visibilityTimeout !== undefined ? { VisibilityTimeout: visibilityTimeout } : {}),
        MessageSystemAttributeNames: ['All'],
      }),
    );
    return out.Messages ?? [];
  }

  async deleteBatch(receiptHandles: readonly string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += MAX_ENTRIES) {
      const chunk = receiptHandles.slice(i, i + MAX_ENTRIES);
      await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk.map((r, n) => ({ Id: String(n), ReceiptHandle: r })) }));
    }
  }

  /** Messages waiting (visible) and being processed (in flight). */
  async depth(queueUrl = this.queueUrl): Promise<{ visible: number; inFlight: number }> {
    const out = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return {
      visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  }
}
