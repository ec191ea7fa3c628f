/** Table plans (`PLAN#table`, made once per migration) and the per-table status items (`TABLE#table`). */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Segment } from '../../core/segments.js';
import type { TablePlan } from '../../core/model.js';
import { conditionalWrite } from './conditional-write.js';
import { SchemaError } from '../../core/errors.js';
import type { SegmentItems } from './segments.js';
import { getItem, pk, queryPrefix, type Item, type StateTable } from './table.js';

export class PlanItems {
  constructor(
    private readonly t: StateTable,
    private readonly segments: SegmentItems,
  ) {}

  async get(migrationId: string, table: string): Promise<TablePlan | undefined> {
    return (await getItem(this.t, { pk: pk(migrationId), sk: `PLAN#${table}` })) as TablePlan | undefined;
  }

  /** Stores a table's plan and its segments; an existing plan is kept (a plan is made once per migration). */
  async saveIfAbsent(migrationId: string, plan: TablePlan, segments: readonly Segment[]): Promise<boolean> {
    const saved = await conditionalWrite(this.t, { Item: { pk: pk(migrationId), sk: `PLAN#${plan.table}`, ...plan }, ConditionExpression: 'attribute_not_exists(sk)' });
    if (!saved) return false;
    // Segments are written after the plan: a crash in between leaves a plan whose missing segments
    // `ensureSegments` (called on every plan) creates.
    await this.segments.ensure(migrationId, plan.table, segments);
    return true;
  }

  /**
   * Replaces the column part of a stored plan (names, read and literal kinds, binlog columns; `literalKinds`
   * and `physicalColumns` are removed when not given), keeping the rest.
   */
  async updateColumns(migrationId: string, table: string, patch: Pick<TablePlan, 'columns' | 'readKinds' | 'literalKinds' | 'binlogColumns' | 'physicalColumns' | 'lastDdl'>): Promise<TablePlan> {
    const current = await this.get(migrationId, table);
    if (!current) throw new SchemaError(`no plan stored for ${table} in migration ${migrationId}`);
    const { literalKinds: _l, physicalColumns: _p, ...rest } = current;
    const plan: TablePlan = { ...rest, ...patch };
    await this.t.doc.send(new PutCommand({ TableName: this.t.tableName, Item: { pk: pk(migrationId), sk: `PLAN#${table}`, ...plan }, ConditionExpression: 'attribute_exists(sk)' }));
    return plan;
  }

  async list(migrationId: string): Promise<TablePlan[]> {
    return (await queryPrefix(this.t, migrationId, 'PLAN#')) as unknown as TablePlan[];
  }

  async putTableStatus(migrationId: string, table: string, status: Item): Promise<void> {
    await this.t.doc.send(new PutCommand({ TableName: this.t.tableName, Item: { pk: pk(migrationId), sk: `TABLE#${table}`, table, ...status, updatedAt: this.t.now() } }));
  }

  async tableStatuses(migrationId: string): Promise<Item[]> {
    return queryPrefix(this.t, migrationId, 'TABLE#');
  }
}
