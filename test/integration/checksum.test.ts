/**
 * The chaos suite's independent comparison (`local/checksum.ts`): after a copy, rows deleted from, changed in
 * and added to the targets are found by the per-table checksums and counted as lost, different and extra —
 * the same counts by a join (source and targets on one server) and page by page (on two servers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll, rowDifferences } from '../../local/checksum.js';
import { expand } from '../../lambdas/core/config.js';
import { rootPool } from '../helpers/db.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
/** Another pool on the same server: the comparison takes it for the targets' server. */
let other: Pool;
beforeAll(() => {
  other = rootPool();
});
afterAll(async () => other?.end());

describe('the independent comparison', () => {
  it('counts rows lost, different and extra, by a join and page by page alike', async () => {
    const config = suite.config('cks');
    await seedOrders(suite.pool, config.source.database!, { orders: 400, itemsPerOrder: 0, seed: 8 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      await rt.execute().result;
    } finally {
      await rt.close();
    }
    const t = config.tables[0]!;
    const table = (db: number, i: number) => `\`${expand(config.target.databasePattern, 'db', db)}\`.\`${expand(t.targetTable, 'table', i)}\``;
    const clean = await checkAll(config, suite.pool, [suite.pool, suite.pool]);
    expect(clean.every((c) => c.match)).toBe(true);
    expect(await rowDifferences(config, suite.pool, clean)).toEqual({ rowsLost: 0, rowsExtra: 0, rowsDifferent: 0 });

    // Lost: 3 rows of one table; different: 2 rows of another; extra: a copy of a row in a table it does not route to.
    await suite.pool.query(`DELETE FROM ${table(0, 0)} ORDER BY id LIMIT 3`);
    await suite.pool.query(`UPDATE ${table(1, 1)} SET remark = 'changed' ORDER BY id LIMIT 2`);
    await suite.pool.query(`INSERT INTO ${table(0, 1)} SELECT * FROM ${table(1, 0)} ORDER BY id LIMIT 1`);
    const checks = await checkAll(config, suite.pool, [suite.pool, suite.pool]);
    expect(checks[0]!.targets.filter((x) => !x.match)).toHaveLength(3);
    const expected = { rowsLost: 3, rowsExtra: 1, rowsDifferent: 2 };
    expect(await rowDifferences(config, suite.pool, checks)).toEqual(expected);
    // Page by page, with pages smaller than a table: the keyset goes on from each page's last key.
    expect(await rowDifferences(config, suite.pool, checks, { target: other, pageSize: 7 })).toEqual(expected);
  });
});
