/** Repair of a batch's differences from a fresh source read. */
import { idOf } from '../../core/table-id.js';
import { groupByTarget } from '../../core/routing.js';
import type { Compared } from './compare.js';
import type { TableCheck } from './table-check.js';

/**
 * Missing and different rows are rewritten as the source has them now (the row may have changed since it
 * was compared); an extra row is deleted where it was found, unless the source has it and routes it exactly
 * there. Returns the rows written and deleted.
 */
export async function repairRows(check: TableCheck, found: Pick<Compared, 'missing' | 'different' | 'extra'>): Promise<number> {
  const { columns, recordKey, router } = check;
  let repaired = 0;
  const toWrite = [...found.missing, ...found.different];
  if (toWrite.length) {
    const fresh = await check.source.rowsByKeys(
      columns,
      recordKey,
      toWrite.map((d) => d.key),
      check.readKinds,
    );
    for (const g of groupByTarget(router, fresh).values()) repaired += await check.targets.repair(g.target, { upsert: g.rows, columns, recordKey });
  }
  for (const d of found.extra) {
    const [row] = await check.source.rowsByKeys(columns, recordKey, [d.key]);
    if (row && idOf(router.route(row)) === d.target) continue;
    const target = check.tables.find((t) => idOf(t) === d.target)!;
    repaired += await check.targets.repair(target, { deleteKeys: [d.key], recordKey });
  }
  return repaired;
}
