/** Row statistics: one item per table and day (`STAT#table#day`), and per physical source table of a sharded source (`STAT#table#day#n`). */
import type { DayStat } from '../../core/model.js';
import { batchWrite, pk, queryPrefix, type StateTable } from './table.js';

export class StatItems {
  constructor(private readonly t: StateTable) {}

  async put(migrationId: string, stats: readonly DayStat[]): Promise<void> {
    const now = this.t.now();
    // One item per day (overwriting stale counts): a year of days is 15 BatchWriteItem requests, not 365 puts.
    await batchWrite(
      this.t,
      stats.map((s) => ({ PutRequest: { Item: { pk: pk(migrationId), sk: `STAT#${s.table}#${s.day}${s.source !== undefined ? `#${s.source}` : ''}`, ...s, computedAt: now } } })),
      'statistics write',
    );
  }

  async list(migrationId: string, table?: string): Promise<DayStat[]> {
    const items = await queryPrefix(this.t, migrationId, table ? `STAT#${table}#` : 'STAT#');
    return items.map((i) => ({ table: String(i.table), day: String(i.day), rows: Number(i.rows), ...(i.source !== undefined ? { source: Number(i.source) } : {}) }));
  }
}
