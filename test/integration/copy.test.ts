/**
 * Full copy end to end on the real MariaDB: the synthesized state machine, the handlers, dynalite.
 * Checked independently: routing re-expressed in SQL and per-target-table checksums.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';

describe('full copy into 8 dbs × 8 tables', () => {
  const prefix = uniquePrefix('copy');
  const config = testConfig(prefix, { pageSize: 2000, segments: 6, concurrency: 3 });
  let pool: Pool;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    pool = rootPool();
    await seedOrders(pool, config.source.database, { orders: 22_000, itemsPerOrder: 1.5, seed: 7 });
    runtime = await LocalRuntime.start({ config });
  });
  afterAll(async () => {
    await runtime?.close();
    await dropPrefixed(pool, prefix);
    await pool.end();
  });

  it('copies every row into its routed table, and a rerun changes nothing', async () => {
    const result = (await runtime.execute().result) as { tables: { table: string; status: string; rowsCopied: number; statisticsTotal: number }[] };
    const [[srcOrders]] = (await pool.query(`SELECT COUNT(*) AS n FROM \`${config.source.database}\`.order_info`)) as unknown as [[{ n: string }]];
    const [[srcItems]] = (await pool.query(`SELECT COUNT(*) AS n FROM \`${config.source.database}\`.order_item_detail`)) as unknown as [[{ n: string }]];
    expect(Number(srcOrders.n) + Number(srcItems.n)).toBeGreaterThanOrEqual(50_000);
    expect(result.tables).toEqual([
      expect.objectContaining({ table: 'order_info', status: 'DONE', rowsCopied: Number(srcOrders.n), statisticsTotal: Number(srcOrders.n) }),
      expect.objectContaining({ table: 'order_item_detail', status: 'DONE', rowsCopied: Number(srcItems.n), statisticsTotal: Number(srcItems.n) }),
    ]);

    const checks = await checkAll(config, pool, [pool]);
    for (const c of checks) {
      expect(c.targets).toHaveLength(64);
      expect(c.targets.filter((t) => !t.match)).toEqual([]);
      expect(c.targetRows).toBe(c.sourceRows);
      // `spread` uses every one of the 64 tables.
      expect(c.targets.every((t) => t.targetRows > 0)).toBe(true);
    }

    // Running again finds every segment DONE: nothing is read or written again.
    const again = (await runtime.execute().result) as { tables: { status: string }[] };
    expect(again.tables.every((t) => t.status === 'DONE')).toBe(true);
    expect(await checkAll(config, pool, [pool])).toEqual(checks);
  });
});
