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
import type { OutgoingMessage } from '../core/events/model.js';
import { sleep } from '../core/time.js';
import { awsClientOptions } from './aws-client.js';

export function sqsClient(config: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ ...awsClientOptions(), ...config });
}

/** SendMessageBatch allows 10 entries and 256 KiB in total. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

export class ChangeQueue {
  constructor(
    readonly sqs: SQSClient,
    readonly queueUrl: string,
    /** First pause before resending failed entries (doubles per attempt). */
    private readonly backoffMs = 100,
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

  /**
   * Sends a lane's messages in order per group. A SendMessageBatch call never carries two messages of the
   * same group: if an entry fails, nothing after it in its group has been sent yet, so resending just the
   * failed entries (before the lane goes on) keeps every group's order — even when SQS accepts some
   * entries of a batch and rejects others.
   */
  private async sendLane(messages: readonly OutgoingMessage[]): Promise<void> {
    for (const batch of groupDistinctBatches(messages)) await this.sendBatch(batch);
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
        await sleep(this.backoffMs * 2 ** attempt);
        continue;
      }
      pending = pending.filter((p) => failed.has(p.id));
      if (pending.length === 0) return;
      if (attempt >= 5) throw new TransientError(`SQS kept failing ${failed.size} message(s)`);
      await sleep(this.backoffMs * 2 ** attempt);
    }
  }

  /**
   * Receives up to `max` messages (default 10), long-polling `waitSeconds` (default 1); `visibilityTimeout`
   * (seconds) overrides the queue's for these messages.
   */
  async receive(opts: { max?: number; waitSeconds?: number; visibilityTimeout?: number } = {}): Promise<Message[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: opts.max ?? 10,
        WaitTimeSeconds: opts.waitSeconds ?? 1,
        ...(opts.visibilityTimeout !== undefined ? { VisibilityTimeout: opts.visibilityTimeout } : {}),
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

  /** Messages waiting or being processed: what apply has still to do. */
  async backlog(): Promise<number> {
    const d = await this.depth();
    return d.visible + d.inFlight;
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

/**
 * Cuts messages into SendMessageBatch calls (≤ 10 entries, ≤ 256 KiB) in which no group appears twice,
 * keeping each group's order across calls: a call takes, in order, the next message of each group whose
 * earlier messages have all gone in earlier calls.
 */
export function groupDistinctBatches(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const out: OutgoingMessage[][] = [];
  let rest = [...messages];
  while (rest.length) {
    const batch: OutgoingMessage[] = [];
    const inBatch = new Set<string>();
    const held = new Set<string>(); // groups with an earlier message left for a later call
    const left: OutgoingMessage[] = [];
    let bytes = 0;
    for (const m of rest) {
      const size = Buffer.byteLength(m.body);
      const fits = batch.length < MAX_ENTRIES && (batch.length === 0 || bytes + size <= MAX_BATCH_BYTES);
      if (fits && !inBatch.has(m.groupId) && !held.has(m.groupId)) {
        batch.push(m);
        inBatch.add(m.groupId);
        bytes += size;
      } else {
        left.push(m);
        held.add(m.groupId);
      }
    }
    out.push(batch);
    rest = left;
  }
  return out;
}
