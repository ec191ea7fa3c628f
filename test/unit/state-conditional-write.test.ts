/**
 * The one conditional write behind leases and forward-only checkpoints: a failed condition hands the
 * current item to the caller — from the exception when DynamoDB returns it (ALL_OLD, marshalled), else
 * (dynalite) from one GetItem — and the store turns it into LeaseHeldError / LeaseLostError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ensureStateTable, LOCAL_AWS, startDynamo, type LocalDynamo } from '../../local/emulators.js';
import { conditionalWrite } from '../../lambdas/adapters/state/conditional-write.js';
import type { Item, StateTable } from '../../lambdas/adapters/state/table.js';
import { StateStore } from '../../lambdas/adapters/state-store.js';
import { LeaseHeldError, LeaseLostError } from '../../lambdas/core/errors.js';

const TABLE = 'state';
let dynamo: LocalDynamo;
const clients: DynamoDBClient[] = [];

beforeAll(async () => {
  dynamo = await startDynamo();
  await ensureStateTable(dynamo.client, TABLE);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await dynamo?.close();
});

/**
 * A document client on dynalite that records the DynamoDB operations it sends; `failWith` makes every
 * PutItem/UpdateItem fail its condition the way DynamoDB does with ALL_OLD (the item in the exception).
 */
function client(failWith?: Item) {
  const raw = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
  clients.push(raw);
  const sent: string[] = [];
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName).replace(/Command$/, ''));
      if (failWith && /^(Put|Update)Item/.test(String(context.commandName)))
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(failWith, { removeUndefinedValues: true }) });
      return next(args);
    },
    { step: 'initialize', name: 'recordOperations' },
  );
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return { doc, sent, table: { doc, tableName: TABLE, now: Date.now } satisfies StateTable };
}

let n = 0;
const key = () => ({ pk: `MIG#cw${++n}`, sk: 'LEASE' });

async function seed(item: Item) {
  await client().doc.send(new PutCommand({ TableName: TABLE, Item: item }));
}

const takeLease = (k: Item, owner: string) => ({
  Key: k,
  UpdateExpression: 'SET leaseOwner = :o',
  ConditionExpression: 'attribute_not_exists(leaseOwner) OR leaseOwner = :o',
  ExpressionAttributeValues: { ':o': owner },
});

describe('conditionalWrite', () => {
  it('returns the new image of an update whose condition holds', async () => {
    const k = key();
    await seed({ ...k, n: 1 });
    const { table, sent } = client();

    const item = await conditionalWrite(table, takeLease(k, 'a'), () => 'failed');

    expect(item).toEqual({ ...k, n: 1, leaseOwner: 'a' });
    expect(sent).toEqual(['UpdateItem']);
  });

  it('returns the item of a put whose condition holds', async () => {
    const k = key();
    const { table } = client();

    expect(await conditionalWrite(table, { Item: { ...k, v: 1 }, ConditionExpression: 'attribute_not_exists(sk)' })).toEqual({ ...k, v: 1 });
  });

  it('on dynalite (no item in the exception) reads the current item with one GetItem', async () => {
    const k = key();
    await seed({ ...k, leaseOwner: 'a', n: 7 });
    const { table, sent } = client();

    const seen = await conditionalWrite(table, takeLease(k, 'b'), (current) => current);

    expect(seen).toEqual({ ...k, leaseOwner: 'a', n: 7 });
    expect(sent).toEqual(['UpdateItem', 'GetItem']);
  });

  it('a failed put gives the stored item too', async () => {
    const k = key();
    await seed({ ...k, v: 'first' });
    const { table, sent } = client();

    const seen = await conditionalWrite(table, { Item: { ...k, v: 'second' }, ConditionExpression: 'attribute_not_exists(sk)' }, (current) => current);

    expect(seen).toEqual({ ...k, v: 'first' });
    expect(sent).toEqual(['PutItem', 'GetItem']);
  });

  it('no item under the key: the caller gets undefined', async () => {
    const { table } = client();

    const seen = await conditionalWrite(table, { ...takeLease(key(), 'a'), ConditionExpression: 'attribute_exists(sk)' }, (current) => ({ current }));

    expect(seen).toEqual({ current: undefined });
  });

  it('uses the item DynamoDB returns with the exception, unmarshalled, without a GetItem', async () => {
    const k = key();
    const stored = { ...k, leaseOwner: 'a', leaseExpiry: 1234, tags: ['x'], nested: { ok: true } };
    const { table, sent } = client(stored);

    const seen = await conditionalWrite(table, takeLease(k, 'b'), (current) => current);

    expect(seen).toEqual(stored);
    expect(sent).toEqual(['UpdateItem']);
  });

  it('without a handler a failed condition returns undefined and reads nothing', async () => {
    const k = key();
    await seed({ ...k, leaseOwner: 'a' });
    const { table, sent } = client();

    expect(await conditionalWrite(table, takeLease(k, 'b'))).toBeUndefined();
    expect(sent).toEqual(['UpdateItem']);
  });

  it('lets other errors through', async () => {
    const { doc } = client();

    await expect(conditionalWrite({ doc, tableName: 'missing', now: Date.now }, takeLease(key(), 'a'), () => 'failed')).rejects.toThrow(/non-existent table|not found/i);
  });
});

describe('leases through the store, from the item in the exception (no GetItem)', () => {
  const segment = { pk: 'MIG#m', sk: 'SEG#t#000000', table: 't', segment: 0, lo: null, hi: null, cursor: '50', pagesDone: 3, rowsCopied: 300, retries: 0 };

  it('acquire: LeaseHeldError naming the holder and its expiry', async () => {
    const { doc, sent } = client({ ...segment, status: 'RUNNING', leaseOwner: 'worker-a', leaseExpiry: 1_000_000, leaseToken: 4 });
    const store = new StateStore(doc, TABLE, () => 500_000);

    const err = await store.acquire('m', 't', 0, 'worker-b', 1000).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LeaseHeldError);
    expect(err).toMatchObject({ owner: 'worker-a', expiresAt: 1_000_000, message: `segment t#0 is leased by worker-a until ${new Date(1_000_000).toISOString()}` });
    expect(sent).toEqual(['UpdateItem']);
  });

  it('acquire: a DONE segment comes back as is', async () => {
    const { doc, sent } = client({ ...segment, status: 'DONE', leaseToken: 4 });
    const store = new StateStore(doc, TABLE);

    expect(await store.acquire('m', 't', 0, 'worker-b', 1000)).toMatchObject({ status: 'DONE', cursor: '50', pagesDone: 3, leaseToken: 4 });
    expect(sent).toEqual(['UpdateItem']);
  });

  it('commitPage: LeaseLostError carrying the current checkpoint', async () => {
    const { doc, sent } = client({ ...segment, status: 'RUNNING', leaseOwner: 'worker-b', leaseExpiry: 9, leaseToken: 5 });
    const store = new StateStore(doc, TABLE);
    const held = { ...segment, source: 0, status: 'RUNNING' as const, leaseOwner: 'worker-a', leaseToken: 4, rowsInserted: 0, rowsUpdated: 0, rowsSkipped: 0 };

    const err = await store.commitPage('m', held, 'worker-a', 1000, { cursor: '60', rows: 10, inserted: 10, updated: 0, skipped: 0, done: false }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).message).toBe('checkpoint of t#0 not moved: lease or progress changed (held token 4 at page 3, now owner worker-b token 5 page 3)');
    expect((err as LeaseLostError).current).toMatchObject({ leaseOwner: 'worker-b', leaseToken: 5 });
    expect(sent).toEqual(['UpdateItem']);
  });

  it('capture: acquire held elsewhere, a stale commit, an existing start position', async () => {
    const capture = { pk: 'MIG#m', sk: 'CAPTURE', file: 'binlog.000002', position: 900, startFile: 'binlog.000001', startPosition: 4, events: 12, leaseToken: 7, leaseOwner: 'cap-a', leaseExpiry: 2_000 };
    const { doc, sent } = client(capture);
    const store = new StateStore(doc, TABLE, () => 1_000);

    await expect(store.acquireCapture('m', 'cap-b', 1000)).rejects.toMatchObject({ name: 'LeaseHeldError', owner: 'cap-a', expiresAt: 2_000 });
    const stale = { position: { file: 'binlog.000002', position: 100 }, start: { file: 'binlog.000001', position: 4 }, events: 0, leaseToken: 6 };
    const err = await store.commitCapture('m', stale, 'cap-b', 1000, { position: { file: 'binlog.000002', position: 200 }, events: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as LeaseLostError).current).toMatchObject({ position: { file: 'binlog.000002', position: 900 }, leaseToken: 7 });
    expect(await store.initCapture('m', { file: 'binlog.000009', position: 4 })).toMatchObject({ position: { file: 'binlog.000002', position: 900 }, start: { file: 'binlog.000001', position: 4 }, events: 12 });
    expect(sent).toEqual(['UpdateItem', 'UpdateItem', 'PutItem']);
  });
});
