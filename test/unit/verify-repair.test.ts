/**
 * Repair of a batch's differences, against recording fakes of the verification reads and writes: what is
 * read from the source, and what each target table is sent.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config.js';
import type { DirtyRow } from '../../lambdas/core/model.js';
import { spread, TableRouter, type TargetName } from '../../lambdas/core/routing.js';
import type { Row } from '../../lambdas/core/model.js';
import { idOf as targetId } from '../../lambdas/core/table-id.js';
import type { RepairWrite, SourceChecks, TargetChecks } from '../../lambdas/adapters/checksums.js';
import { repairRows } from '../../lambdas/app/verify/repair.js';
import type { TableCheck } from '../../lambdas/app/verify/table-check.js';

const config = parseConfig({
  migrationId: 'm1',
  source: { database: 'src' },
  target: { databases: 2, databasePattern: 'db_{db}' },
  tables: [{ name: 'orders', scrollKey: 'id', shardKeys: ['user_id'], targetTable: 'orders_{table}', tablesPerDb: 2 }],
});
const table = config.tables[0]!;
const router = new TableRouter(config, table, spread);

/** A check whose source holds `sourceRows` (by id) and whose targets record every repair. */
function fakeCheck(sourceRows: Row[]) {
  const reads: { keys: unknown[][]; readKinds: unknown }[] = [];
  const writes: { target: string; write: RepairWrite }[] = [];
  const source: Pick<SourceChecks, 'rowsByKeys'> = {
    rowsByKeys: (_c, _rk, keys, readKinds = {}) => {
      reads.push({ keys: keys.map((k) => [...k]), readKinds });
      return Promise.resolve(sourceRows.filter((r) => keys.some((k) => k[0] === r.id)));
    },
  };
  const targets = {
    repair: async (t: TargetName, write: RepairWrite) => {
      writes.push({ target: targetId(t), write });
      return 'upsert' in write ? write.upsert.length : write.deleteKeys.length;
    },
  } as unknown as TargetChecks;
  const check = {
    table,
    columns: ['id', 'user_id', 'v'],
    readKinds: { id: 'plain' },
    recordKey: ['id'],
    router,
    tables: router.allTargets(),
    source,
    targets,
  } as unknown as TableCheck;
  return { check, reads, writes };
}

const where = (userId: string) => targetId(router.route({ user_id: userId }));
const dirty = (kind: DirtyRow['kind'], id: number, target: string): DirtyRow => ({ target, key: [id], kind });

describe('repairRows', () => {
  it('rewrites missing and different rows from one fresh source read, grouped by the table they route to', async () => {
    const rows = [
      { id: 1, user_id: '1', v: 'a' },
      { id: 2, user_id: '2', v: 'b' },
      { id: 3, user_id: '1', v: 'c' },
    ];
    const { check, reads, writes } = fakeCheck(rows);
    const repaired = await repairRows(check, { missing: [dirty('missing', 1, where('1')), dirty('missing', 2, where('2'))], different: [dirty('different', 3, where('1'))], extra: [] });
    expect(repaired).toBe(3);
    expect(reads).toEqual([{ keys: [[1], [2], [3]], readKinds: { id: 'plain' } }]);
    expect(writes).toEqual([
      { target: where('1'), write: { upsert: [rows[0], rows[2]], columns: ['id', 'user_id', 'v'], recordKey: ['id'] } },
      { target: where('2'), write: { upsert: [rows[1]], columns: ['id', 'user_id', 'v'], recordKey: ['id'] } },
    ]);
  });

  it('a row deleted from the source meanwhile is not rewritten', async () => {
    const { check, writes } = fakeCheck([]);
    expect(await repairRows(check, { missing: [dirty('missing', 1, where('1'))], different: [], extra: [] })).toBe(0);
    expect(writes).toEqual([]);
  });

  it('deletes an extra row where it was found, unless the source has it and routes it exactly there', async () => {
    const { check, reads, writes } = fakeCheck([
      { id: 1, user_id: '1', v: 'a' },
      { id: 2, user_id: '2', v: 'b' },
    ]);
    const repaired = await repairRows(check, {
      missing: [],
      different: [],
      // 1 belongs where it was found (written meanwhile); 2 sits in the wrong table; 3 is gone from the source.
      extra: [dirty('extra', 1, where('1')), dirty('extra', 2, where('1')), dirty('extra', 3, where('2'))],
    });
    expect(repaired).toBe(2);
    expect(reads).toEqual([
      { keys: [[1]], readKinds: {} },
      { keys: [[2]], readKinds: {} },
      { keys: [[3]], readKinds: {} },
    ]);
    expect(writes).toEqual([
      { target: where('1'), write: { deleteKeys: [[2]], recordKey: ['id'] } },
      { target: where('2'), write: { deleteKeys: [[3]], recordKey: ['id'] } },
    ]);
  });
});
