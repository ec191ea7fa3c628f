/**
 * One conditional single-item write (Put or Update), the way every lease and forward-only checkpoint
 * changes. When the condition fails, the caller gets the item as it stood and turns it into a typed error
 * (or a value): DynamoDB returns that item with the `ConditionalCheckFailedException`
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, still marshalled: the document client unmarshalls
 * responses, not errors); where none comes back (dynalite, or no item under the key) it is read with one
 * consistent GetItem.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand, type PutCommandInput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LeaseHeldError } from '../../core/errors.js';
import { getItem, keyOf, type Item, type StateTable } from './table.js';

type SetHere = 'TableName' | 'ReturnValues' | 'ReturnValuesOnConditionCheckFailure';
export type ConditionalPut = Omit<PutCommandInput, SetHere> & { readonly Item: Item; readonly ConditionExpression: string };
export type ConditionalUpdate = Omit<UpdateCommandInput, SetHere> & { readonly Key: Item; readonly ConditionExpression: string };
export type ConditionalWrite = ConditionalPut | ConditionalUpdate;

/** What a failed condition becomes, given the item as it stood (undefined: none under the key). */
export type OnConditionFailed<T> = (current: Item | undefined) => T;

/**
 * Writes the item if the condition holds and returns it as written (a Put's item, an Update's new
 * image). A failed condition returns `undefined` without reading anything, or, with `onFailed`, what
 * `onFailed` makes of the current item (it usually throws a typed error).
 */
export function conditionalWrite(t: StateTable, write: ConditionalWrite): Promise<Item | undefined>;
export function conditionalWrite<T>(t: StateTable, write: ConditionalWrite, onFailed: OnConditionFailed<T>): Promise<Item | T>;
export async function conditionalWrite<T>(t: StateTable, write: ConditionalWrite, onFailed?: OnConditionFailed<T>): Promise<Item | T | undefined> {
  const returnOld = onFailed ? ({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } as const) : {};
  try {
    if ('Item' in write) {
      await t.doc.send(new PutCommand({ ...write, TableName: t.tableName, ...returnOld }));
      return write.Item;
    }
    const out = await t.doc.send(new UpdateCommand({ ...write, TableName: t.tableName, ReturnValues: 'ALL_NEW', ...returnOld }));
    return out.Attributes ?? {};
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    if (!onFailed) return undefined;
    return onFailed(await itemThatFailed(t, err, 'Item' in write ? keyOf(write.Item) : write.Key));
  }
}

/** The item a failed condition saw: from the exception when it carries one, else read again. */
async function itemThatFailed(t: StateTable, err: ConditionalCheckFailedException, key: Item): Promise<Item | undefined> {
  return err.Item ? unmarshall(err.Item) : getItem(t, key);
}

/** `<what> is leased by <owner> until <expiry>`, carrying the owner and the expiry. */
export function leaseHeldError(what: string, current: { readonly leaseOwner?: string; readonly leaseExpiry?: number }): LeaseHeldError {
  return new LeaseHeldError(`${what} is leased by ${current.leaseOwner} until ${new Date(current.leaseExpiry ?? 0).toISOString()}`, current.leaseOwner, current.leaseExpiry);
}
