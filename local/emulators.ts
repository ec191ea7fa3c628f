/**
 * Embedded AWS emulators for the local runtime, reached through the real AWS SDK v3 clients:
 * dynalite serves DynamoDB (on disk when given a directory, so checkpoints survive a killed process).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import dynalite from 'dynalite';
import { sleep } from '../lambdas/core/time.js';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';

export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/** Starts dynalite on a free loopback port; `path` keeps the data on disk (LevelDB). */
export async function startDynamo(path?: string): Promise<LocalDynamo> {
  if (path) mkdirSync(path, { recursive: true });
  const server: Server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 3 });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Creates the state table (pk/sk strings) unless it exists, and returns once it is ACTIVE: the local twin of
 * the CDK table. A new table is CREATING at first (in dynalite too, if only for a moment), and reads and
 * writes of a CREATING table fail with ResourceNotFoundException.
 */
export async function ensureStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const status = async (): Promise<string | undefined> => {
    try {
      return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus ?? 'ACTIVE';
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      return undefined;
    }
  };
  let now = await status();
  if (now === undefined) {
    await createStateTable(client, tableName);
    now = await status();
  }
  const deadline = Date.now() + 30_000;
  while (now !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`the local state table ${tableName} is still ${now ?? 'missing'} after 30 s`);
    await sleep(20);
    now = await status();
  }
}

async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

export interface LocalQueues {
  readonly endpoint: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly sqs: SQSClient;
  close(): Promise<void>;
}

/**
 * Starts fauxqs (SQS) on a free loopback port and creates the change queue (FIFO, high-throughput mode)
 * and its DLQ with a redrive policy, through the real SDK: the local twin of the CDK queues.
 */
export interface QueueOptions {
  maxReceiveCount?: number;
  visibilityTimeout?: number;
  name?: string;
}

export async function startQueues(opts: QueueOptions & { dataDir?: string } = {}): Promise<LocalQueues> {
  const { startFauxqs } = await import('fauxqs');
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const server = await startFauxqs({ port: 0, logger: false, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  return createQueues(server.address, opts, () => server.stop());
}

/**
 * The change queue and its DLQ on an SQS endpoint that is already running (e.g. fauxqs in another
 * process, so that its work does not share a thread with capture); `stop` ends that endpoint, if ours.
 */
export async function createQueues(endpoint: string, opts: QueueOptions = {}, stop: () => Promise<void> = () => Promise.resolve()): Promise<LocalQueues> {
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint });
  const name = opts.name ?? 'reshard-changes';
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true', MessageRetentionPeriod: '1209600' } }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const q = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        VisibilityTimeout: String(opts.visibilityTimeout ?? 30),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount ?? 5 }),
      },
    }),
  );
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl!, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  return {
    endpoint,
    queueUrl: q.QueueUrl!,
    queueArn,
    dlqUrl: dlq.QueueUrl!,
    sqs,
    close: async () => {
      sqs.destroy();
      await stop();
    },
  };
}
