/**
 * Full copy end to end on the real MariaDB: the synthesized state machine, the handlers, dynalite.
 * Checked independently: routing re-expressed in SQL and per-target-table checksums.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { plan } from '../../lambdas/app/plan.js';
import { summarize } from '../../lambdas/app/finalize.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';

/**
 * Rows read and changed per table of this suite's databases since the server's per-table statistics
 * (`userstat`) were switched on: only these tables, so suites running at the same time do not count.
 */
async function tableCounters(pool: Pool, prefix: string): Promise<Map<string, { read: number; changed: number }>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ROWS_READ AS r, ROWS_CHANGED AS c FROM information_schema.TABLE_STATISTICS WHERE TABLE_SCHEMA LIKE ?',
    [`${prefix}\\_%`],
  );
  return new Map(rows.map((r) => [`${String(r.s)}.${String(r.t)}`, { read: Number(r.r), changed: Number(r.c) }]));
}

/** What each table read and changed between two `tableCounters` (tables that did neither left out). */
function counted(before: Map<string, { read: number; changed: number }>, after: Map<string, { read: number; changed: number }>): Record<string, { read: number; changed: number }> {
  const out: Record<string, { read: number; changed: number }> = {};
  for (const [id, a] of after) {
    const b = before.get(id) ?? { read: 0, changed: 0 };
    if (a.read !== b.read || a.changed !== b.changed) out[id] = { read: a.read - b.read, changed: a.changed - b.changed };
  }
  return out;
}

describe('full copy into 8 dbs × 8 tables', () => {
  const prefix = uniquePrefix('copy');
  const config = testConfig(prefix, { pageSize: 2000, segments: 6, concurrency: 3 });
  let pool: Pool;
  let runtime: LocalRuntime;
  let userstat: string | undefined;

  beforeAll(async () => {
    pool = rootPool();
    const [[on]] = (await pool.query('SELECT @@GLOBAL.userstat AS v')) as unknown as [[{ v: string }]];
    userstat = String(on.v);
    await pool.query('SET GLOBAL userstat = 1');
    await seedOrders(pool, config.source.database!, { orders: 22_000, itemsPerOrder: 1.5, seed: 7 });
    runtime = await LocalRuntime.start({ config });
  });
  afterAll(async () => {
    await runtime?.close();
    if (userstat === '0') await pool.query('SET GLOBAL userstat = 0');
    await dropPrefixed(pool, prefix);
    await pool.end();
  });

  it('copies every row into its routed table, and a rerun changes nothing', async () => {
    const result = (await runtime.execute().result) as { tables: { table: string; status: string; rowsCopied: number; statisticsTotal: number }[] };
    const [[srcOrders]] = (await pool.query(`SELECT COUNT(*) AS n FROM \`${config.source.database!}\`.order_info`)) as unknown as [[{ n: string }]];
    const [[srcItems]] = (await pool.query(`SELECT COUNT(*) AS n FROM \`${config.source.database!}\`.order_item_detail`)) as unknown as [[{ n: string }]];
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

    // Running again finds every segment DONE: nothing is read or written again. The checkpoints keep their
    // counts; no target table is read or changed; the source is read only by planning (statistics and the
    // sample) and by finalize's refresh of recent statistics — measured on their own, by a dry-run plan and
    // a summary — never by a page.
    const segments = () => Promise.all(config.tables.map((t) => runtime.ctx.store.segments(config.migrationId, t.name)));
    const checkpointsBefore = (await segments()).flat().map(({ table, segment, status, cursor, pagesDone, rowsCopied }) => ({ table, segment, status, cursor, pagesDone, rowsCopied }));
    const planOnly = await tableCounters(pool, prefix);
    await plan(runtime.ctx, { dryRun: true });
    await summarize(runtime.ctx, { refreshStats: true });
    const before = await tableCounters(pool, prefix);
    const planReads = counted(planOnly, before);
    expect(Object.values(planReads).every((c) => c.read > 0 && c.changed === 0)).toBe(true);
    const again = (await runtime.execute().result) as { tables: { status: string }[] };
    const rerun = counted(before, await tableCounters(pool, prefix));
    expect(again.tables.every((t) => t.status === 'DONE')).toBe(true);
    expect((await segments()).flat().map(({ table, segment, status, cursor, pagesDone, rowsCopied }) => ({ table, segment, status, cursor, pagesDone, rowsCopied }))).toEqual(checkpointsBefore);
    expect(Object.keys(planReads).sort()).toEqual(config.tables.map((t) => `${config.source.database!}.${t.name}`).sort());
    expect(rerun).toEqual(planReads);
    expect(await checkAll(config, pool, [pool])).toEqual(checks);
  });
});
