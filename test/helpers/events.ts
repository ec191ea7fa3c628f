/** Factories for change events and SQS events (Powertools' tests do the same with their factories). */
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { ChangeEvent, RowImage } from '../../lambdas/core/events/model.js';
import { encodeEvent } from '../../lambdas/core/events/wire.js';

let pos = 1000;
export function changeEvent(table: string, op: ChangeEvent['op'], images: { before?: RowImage; after?: RowImage }, file = 'binlog.000001'): ChangeEvent {
  pos += 100;
  return { table, op, ...images, position: { file, position: pos }, rowIndex: 0, timestamp: Date.now() };
}

export function sqsRecord(group: string, events: ChangeEvent[], receiveCount = 1): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify({ v: 1, events: events.map(encodeEvent) }),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: group,
      MessageDeduplicationId: randomUUID(),
      SequenceNumber: String(pos),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:reshard-changes.fifo',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
