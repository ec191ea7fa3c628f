/** Tombstones: rows CDC deleted, so a copy that read them earlier can take them out again. */
import type { Tombstone } from '../../core/model.js';
import { compareSortable } from '../../core/model.js';
import { batchWrite, pk, queryPages, type StateTable } from './table.js';

/**
 * Tombstones are spread over this many partition keys (`MIG#id#TOMB<n>`, n from a hash of the key): apply
 * writes one per delete while the copy runs, more than one DynamoDB partition takes (1,000 writes/s).
 */
const TOMB_PARTITIONS = 16;

const tombPk = (migrationId: string, sortKey: string) => {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < sortKey.length; i++) h = Math.imul(h ^ sortKey.charCodeAt(i), 0x01000193);
  return `${pk(migrationId)}#TOMB${(h >>> 0) % TOMB_PARTITIONS}`;
};

export class TombstoneItems {
  constructor(private readonly t: StateTable) {}

  /**
   * Records deleted rows (before apply deletes them from the target). `sortKey` orders them like the
   * scroll key so a copy page can look up its own key range.
   */
  async put(migrationId: string, stones: readonly Tombstone[]): Promise<void> {
    const now = this.t.now();
    await batchWrite(
      this.t,
      stones.map((s) => ({
        PutRequest: { Item: { pk: tombPk(migrationId, s.sortKey), sk: `TOMB#${s.table}#${s.sortKey}`, ...s, at: now, expiresAt: Math.floor(now / 1000) + 14 * 86_400 } },
      })),
      'tombstone write',
    );
  }

  /** Tombstones of a table with sort keys in `(lo, hi]`, or `[lo, hi]` with `inclusive` (null = unbounded). */
  async list(migrationId: string, table: string, lo: string | null, hi: string | null, inclusive = false): Promise<Tombstone[]> {
    const prefix = `TOMB#${table}#`;
    const parts = await Promise.all(
      Array.from({ length: TOMB_PARTITIONS }, (_, n) =>
        queryPages(this.t, 'pk = :pk AND sk BETWEEN :a AND :b', { ':pk': `${pk(migrationId)}#TOMB${n}`, ':a': `${prefix}${lo ?? ''}`, ':b': `${prefix}${hi ?? '\uffff'}` }),
      ),
    );
    return parts
      .flat()
      .filter((i) => lo === null || inclusive || compareSortable(String(i.sortKey), lo) > 0)
      .map((i) => ({ table: String(i.table), sortKey: String(i.sortKey), key: i.key as unknown[], db: Number(i.db), database: String(i.database), tableName: String(i.tableName) }));
  }
}
