/**
 * Gaps verification once had, kept as regression tests.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { routerFor, tableConfig } from '../../lambdas/app/context.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 500, segments: 2, concurrency: 2, items: false });

describe('verification gaps', () => {
  /**
   * A fast path that summed the checksums of all N×M target tables could not see a row moved to a table it
   * does not route to (count, BIT_XOR and SUM unchanged). The fast path now compares per target table: the
   * source rows' CRCs are routed in Node and summed per table.
   */
  it('finds a row that sits in a target table it does not route to', async () => {
    const config = suite.config('misplaced');
    await seedOrders(suite.pool, config.source.database!, { orders: 1000, itemsPerOrder: 0, seed: 3 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      const router = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
      const [[row]] = (await suite.pool.query(`SELECT * FROM \`${config.source.database!}\`.order_info WHERE id = 10`)) as unknown as [[Record<string, unknown>]];
      const home = router.route(row);
      const other = router.allTargets().find((t) => t !== home && `${t.database}.${t.tableName}` !== `${home.database}.${home.tableName}`)!;
      await suite.pool.query(`INSERT INTO \`${other.database}\`.\`${other.tableName}\` SELECT * FROM \`${home.database}\`.\`${home.tableName}\` WHERE id = 10`);
      await suite.pool.query(`DELETE FROM \`${home.database}\`.\`${home.tableName}\` WHERE id = 10`);
      const summary = await verifyTable(rt.ctx, 'order_info', { batchRows: 1000 });
      expect(summary).toMatchObject({ clean: false, missing: 1, extra: 1 });
    } finally {
      await rt.close();
    }
  });

  /**
   * Shard keys that route, but not as plain digits (spaces, a tab, leading zeros, a blank or NULL first
   * column falling back to user_id, more than 20 digits): the fast path sums each such row where the copy
   * put it, so every batch is proven by checksum, and a misplaced one is still found. (Routing the source
   * side in SQL was measured, and kept out: see README, Performance.)
   */
  it('proves batches holding odd but routable shard keys by checksum, and finds one misplaced', async () => {
    const config = suite.config('oddkeys');
    const src = `\`${config.source.database!}\`.order_info`;
    await seedOrders(suite.pool, config.source.database!, { orders: 1000, itemsPerOrder: 0, seed: 4 });
    const odd: [number, string | null][] = [
      [10, ' 0042 '],
      [11, '\t17'],
      [12, null],
      [13, ''],
      [14, '  '],
      [15, '000'],
      [16, '18446744073709551616123'],
      [17, '\u00a0123'],
    ];
    for (const [id, orderNo] of odd) await suite.pool.query(`UPDATE ${src} SET order_no = ? WHERE id = ?`, [orderNo, id]);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      const clean = await verifyTable(rt.ctx, 'order_info', { batchRows: 300 });
      expect(clean).toMatchObject({ clean: true, rowsCompared: 1000, byChecksum: 1000, byRows: 0 });
      // Move one odd row to a table it does not route to: found.
      const router = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
      const [[row]] = (await suite.pool.query(`SELECT * FROM ${src} WHERE id = 11`)) as unknown as [[Record<string, unknown>]];
      const home = router.route(row);
      const other = router.allTargets().find((t) => `${t.database}.${t.tableName}` !== `${home.database}.${home.tableName}`)!;
      await suite.pool.query(`INSERT INTO \`${other.database}\`.\`${other.tableName}\` SELECT * FROM \`${home.database}\`.\`${home.tableName}\` WHERE id = 11`);
      await suite.pool.query(`DELETE FROM \`${home.database}\`.\`${home.tableName}\` WHERE id = 11`);
      expect(await verifyTable(rt.ctx, 'order_info', { batchRows: 300 })).toMatchObject({ clean: false, missing: 1, extra: 1, different: 0 });
    } finally {
      await rt.close();
    }
  });
});
