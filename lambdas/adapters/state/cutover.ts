/** The migration's cut-over (`CUTOVER`): one item, written by the single cut-over process. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CutoverState } from '../../core/model.js';
import { getItem, pk, type StateTable } from './table.js';

export class CutoverItems {
  constructor(private readonly t: StateTable) {}

  async get(migrationId: string): Promise<CutoverState | undefined> {
    const item = await getItem(this.t, { pk: pk(migrationId), sk: 'CUTOVER' });
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...state } = item;
    return state as unknown as CutoverState;
  }

  async put(migrationId: string, state: CutoverState): Promise<void> {
    await this.t.doc.send(new PutCommand({ TableName: this.t.tableName, Item: { pk: pk(migrationId), sk: 'CUTOVER', ...state, updatedAt: this.t.now() } }));
  }
}
