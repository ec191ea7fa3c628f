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
    await seedOrders(suite.pool, config.source.database, { orders: 1000, itemsPerOrder: 0, seed: 3 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      const router = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
      const [[row]] = (await suite.pool.query(`SELECT * FROM \`${config.source.database}\`.order_info WHERE id = 10`)) as unknown as [[Record<string, unknown>]];
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
});
