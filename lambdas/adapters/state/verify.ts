/**
 * Verification state: one item per batch (`VERIFY#table#segment#batch`, with its dirty rows), and each
 * segment's outcome on its checkpoint.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { VerifyStatus, type Checkpoint, type VerifyBatchState } from '../../core/model.js';
import { conditionalWrite } from './conditional-write.js';
import { batchWrite, pk, queryPrefix, segSk, verifySk, type Item, type StateTable } from './table.js';

export class VerifyItems {
  constructor(private readonly t: StateTable) {}

  async putBatch(migrationId: string, state: VerifyBatchState): Promise<void> {
    await this.t.doc.send(new PutCommand({ TableName: this.t.tableName, Item: this.item(migrationId, state) }));
  }

  /** Several batches' states at once (BatchWriteItem, 25 per request). */
  async putBatches(migrationId: string, states: readonly VerifyBatchState[]): Promise<void> {
    await batchWrite(this.t, states.map((st) => ({ PutRequest: { Item: this.item(migrationId, st) } })), 'verification state');
  }

  private item(migrationId: string, state: VerifyBatchState): Item {
    const now = this.t.now();
    return { pk: pk(migrationId), sk: verifySk(state.table, state.segment, state.batch), ...state, updatedAt: now, expiresAt: Math.floor(now / 1000) + 30 * 86_400 };
  }

  /** Forgets a segment's (or a table's) previous verification: a new pass may cut different batches. */
  async clear(migrationId: string, table: string, segment?: number): Promise<void> {
    const items = await queryPrefix(this.t, migrationId, segment === undefined ? `VERIFY#${table}#` : verifySk(table, segment));
    await batchWrite(this.t, items.map((it) => ({ DeleteRequest: { Key: { pk: it.pk, sk: it.sk } } })), 'verification state delete');
    if (segment !== undefined)
      await conditionalWrite(this.t, {
        Key: { pk: pk(migrationId), sk: segSk(table, segment) },
        UpdateExpression: 'SET verifyStatus = :v, updatedAt = :now REMOVE verifyError, verifiedAt',
        ConditionExpression: 'attribute_exists(sk)',
        ExpressionAttributeValues: { ':v': VerifyStatus.VERIFYING, ':now': this.t.now() },
      });
  }

  async batches(migrationId: string, table?: string, segment?: number): Promise<VerifyBatchState[]> {
    const prefix = table === undefined ? 'VERIFY#' : segment === undefined ? `VERIFY#${table}#` : verifySk(table, segment);
    return (await queryPrefix(this.t, migrationId, prefix)) as unknown as VerifyBatchState[];
  }

  /** Records a segment's verification outcome on its checkpoint (what `status` and `finalize` read). */
  /** Records where the segment's verification begins (`verifyFrom`). */
  async beginSegment(migrationId: string, table: string, segment: number, from: Checkpoint['verifyFrom']): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: { pk: pk(migrationId), sk: segSk(table, segment) },
        UpdateExpression: from ? 'SET verifyFrom = :f' : 'REMOVE verifyFrom',
        ConditionExpression: 'attribute_exists(sk)',
        ...(from ? { ExpressionAttributeValues: { ':f': from } } : {}),
      }),
    );
  }

  async markSegment(migrationId: string, table: string, segment: number, status: VerifyStatus, error?: string): Promise<void> {
    const now = this.t.now();
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: { pk: pk(migrationId), sk: segSk(table, segment) },
        UpdateExpression: `SET verifyStatus = :v, verifiedAt = :now, updatedAt = :now${error ? ', verifyError = :e' : ' REMOVE verifyError'}`,
        ConditionExpression: 'attribute_exists(sk)',
        ExpressionAttributeValues: { ':v': status, ':now': now, ...(error ? { ':e': error } : {}) },
      }),
    );
  }
}
