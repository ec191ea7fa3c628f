/**
 * The state table every item family shares: its keys (`pk` = `MIG#<migration>`, `sk` = `<FAMILY>#...`),
 * consistent paged queries and chunked batch writes.
 */
import { sleep } from '../../core/time.js';
import { BatchWriteCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient, type BatchWriteCommandInput, type BatchWriteCommandOutput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

/** A stored item as the document client reads and writes it. */
export type Item = Record<string, unknown>;
/** One request of a BatchWriteItem (a put or a delete). */
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** Where the state lives and the clock its timestamps and lease expiries are taken from. */
export interface StateTable {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now: () => number;
}

export const pk = (migrationId: string) => `MIG#${migrationId}`;

/** A copy segment's checkpoint (and its verification outcome). */
export const segSk = (table: string, segment: number) => `SEG#${table}#${String(segment).padStart(6, '0')}`;

/** `VERIFY#table#segment#` (a segment's prefix), or with `batch` one batch's key. */
export const verifySk = (table: string, segment: number, batch?: number) =>
  `VERIFY#${table}#${String(segment).padStart(6, '0')}#${batch === undefined ? '' : String(batch).padStart(6, '0')}`;

/** The key of an item (the table's key schema: `pk`, `sk`). */
export const keyOf = (item: Item): Item => ({ pk: item.pk, sk: item.sk });

/** One item by key (consistent read). */
export async function getItem(t: StateTable, key: Item): Promise<Item | undefined> {
  return (await t.doc.send(new GetCommand({ TableName: t.tableName, Key: key, ConsistentRead: true }))).Item;
}

/** Every item a (consistent) key condition matches, page after page. */
export async function queryPages(t: StateTable, keyCondition: string, values: Item): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out: QueryCommandOutput = await t.doc.send(
      new QueryCommand({ TableName: t.tableName, KeyConditionExpression: keyCondition, ExpressionAttributeValues: values, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A migration's items whose sort key starts with `prefix`. */
export function queryPrefix(t: StateTable, migrationId: string, prefix: string): Promise<Item[]> {
  return queryPages(t, 'pk = :pk AND begins_with(sk, :p)', { ':pk': pk(migrationId), ':p': prefix });
}

/** BatchWriteItem in chunks of 25 (4 requests at a time), resending unprocessed requests with backoff (bounded). */
export async function batchWrite(t: StateTable, requests: readonly WriteRequest[], what: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      let pending: WriteRequest[] | undefined = requests.slice(next, (next += 25));
      for (let attempt = 0; pending && pending.length; attempt++) {
        const out: BatchWriteCommandOutput = await t.doc.send(new BatchWriteCommand({ RequestItems: { [t.tableName]: pending } }));
        pending = out.UnprocessedItems?.[t.tableName];
        if (pending?.length) {
          if (attempt > 8) throw new Error(`DynamoDB kept ${pending.length} ${what}(s) unprocessed`);
          await sleep(50 * 2 ** attempt);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, Math.ceil(requests.length / 25)) }, worker));
}
