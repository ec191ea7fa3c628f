/**
 * Pages of `copy.pageBytes`: a table of wide rows is read in pages of fewer rows than `copy.pageSize`, sized
 * by the rows' width, and still copied whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';

describe('copy pages by bytes (copy.pageBytes)', () => {
  const prefix = uniquePrefix('pagebytes');
  const base = testConfig(prefix, { pageSize: 5000, segments: 2, concurrency: 2, items: false });
  // 64 KiB pages of rows padded to ~2 KB: ~30 rows a page, where pageSize alone would take 5,000.
  const config = parseConfig({ ...base, copy: { ...base.copy, pageBytes: 65_536 } });
  const orders = 1200;
  let pool: Pool;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    pool = rootPool();
    await seedOrders(pool, config.source.database!, { orders, itemsPerOrder: 0, seed: 11 });
    await pool.query(`UPDATE \`${config.source.database!}\`.order_info SET remark = REPEAT('w', 250), address = REPEAT('ä', 250), attrs = JSON_OBJECT('pad', REPEAT('x', 1200))`);
    await pool.query(`ANALYZE TABLE \`${config.source.database!}\`.order_info`);
    runtime = await LocalRuntime.start({ config });
  });
  afterAll(async () => {
    await runtime?.close();
    await dropPrefixed(pool, prefix);
    await pool.end();
  });

  it('reads pages of about pageBytes of rows, and copies every row', async () => {
    const result = (await runtime.execute().result) as { tables: { table: string; status: string; rowsCopied: number }[] };
    expect(result.tables).toEqual([expect.objectContaining({ table: 'order_info', status: 'DONE', rowsCopied: orders })]);
    const [check] = await checkAll(config, pool, [pool]);
    expect(check!.targets.filter((t) => !t.match)).toEqual([]);
    expect(check!.targetRows).toBe(orders);
    const segments = await runtime.ctx.store.segments(config.migrationId, 'order_info');
    const pages = segments.reduce((a, s) => a + s.pagesDone, 0);
    // Each row is read as ~2.3 KB: at most ~28 a page, so at least 1200 / 28 ≈ 43 pages (2 with pageSize alone).
    expect(pages).toBeGreaterThanOrEqual(40);
    expect(pages).toBeLessThanOrEqual(orders / 10);
  });
});
