/**
 * Completion on the real stack: the state machine's VerifySegments stage checks every copied segment,
 * finalize marks the table complete only when copy, verification and statistics agree, differences fail
 * the execution until they are repaired, and rows arriving on a new day keep a table incomplete until
 * they are copied.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { routerFor, tableConfig } from '../../lambdas/app/context.js';
import { plan } from '../../lambdas/app/plan.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 200, segments: 3, concurrency: 1, items: false });

const withVerify = (config: MigrationConfig, verify: Partial<MigrationConfig['verify']>) => parseConfig({ ...config, verify: { ...config.verify, ...verify } });

describe('the verify stage and completion', () => {
  it('verifies every segment after the copy; a difference fails the execution until a repairing rerun fixes it', async () => {
    const base = suite.config('vstage');
    const config = withVerify(base, { batchRows: 300 });
    await seedOrders(suite.pool, config.source.database!, { orders: 1500, itemsPerOrder: 0, seed: 31 });
    let tampered = false;
    const hooks = {
      // Segments are copied one at a time (concurrency 1): when segment 2 starts, segment 0 is DONE.
      // Change one of its target rows behind the copy's back, so only verification can notice.
      beforePage: async (_t: string, segment: number) => {
        if (segment !== 2 || tampered) return;
        tampered = true;
        for (const t of routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info')).allTargets())
          await suite.pool.query(`UPDATE \`${t.database}\`.\`${t.tableName}\` SET remark = 'tampered' WHERE id = 7`);
      },
    };
    const rt: LocalRuntime = await LocalRuntime.start({ config, dynamo: suite.dynamo, hooks, retryIntervalMs: 20 });
    try {
      await expect(rt.execute().result).rejects.toThrow(/verification found differences in 1 segment\(s\): order_info#0 \(DIRTY\)/);
      const view = await migrationStatus(config, rt.store);
      const table = view.tables[0]!;
      expect(table.status).toBe('DONE');
      expect(table.segments.map((s) => s.verifyStatus)).toEqual(['DIRTY', 'CLEAN', 'CLEAN']);
      expect(table).toMatchObject({ verifiedRows: 1500, dirtyRows: 1, complete: false });
      const batches = await rt.store.verifyBatches(config.migrationId, 'order_info', 0);
      const dirty = batches.flatMap((b) => b.dirtyRows);
      expect(dirty).toEqual([expect.objectContaining({ kind: 'different', key: ['7'], columns: ['remark'] })]);
    } finally {
      await rt.close();
    }

    // Rerun with repair on: plan hands back only the segment not verified clean; it is repaired.
    const repairing = await LocalRuntime.start({ config: withVerify(config, { repair: true }), dynamo: suite.dynamo, retryIntervalMs: 20 });
    try {
      const out = (await repairing.execute().result) as { tables: { table: string; complete: boolean; repairedRows: number }[] };
      expect(out.tables).toEqual([expect.objectContaining({ table: 'order_info', complete: true, repairedRows: 1 })]);
      const view = await migrationStatus(config, repairing.store);
      expect(view.tables[0]!.segments.map((s) => s.verifyStatus)).toEqual(['REPAIRED', 'CLEAN', 'CLEAN']);
      expect(view.tables[0]).toMatchObject({ complete: true, verifiedRows: 1500, dirtyRows: 0, repairedRows: 1 });
      const [[row]] = (await suite.pool.query(
        `SELECT COUNT(*) AS n FROM (${routerFor(repairing.ctx, tableConfig(repairing.ctx, 'order_info'))
          .allTargets()
          .map((t) => `SELECT remark FROM \`${t.database}\`.\`${t.tableName}\` WHERE id = 7`)
          .join(' UNION ALL ')}) x WHERE remark = 'tampered'`,
      )) as unknown as [[{ n: number }]];
      expect(Number(row.n)).toBe(0);
    } finally {
      await repairing.close();
    }
  });

  it('counts rows inserted on a new day after the copy, and the table is not complete until they are copied', async () => {
    const config = suite.config('newday');
    await seedOrders(suite.pool, config.source.database!, { orders: 800, itemsPerOrder: 0, seed: 41, start: new Date('2026-06-01T00:00:00Z'), days: 10 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 20 });
    try {
      const first = (await rt.execute().result) as { tables: { complete: boolean; statisticsTotal: number }[] };
      expect(first.tables[0]).toMatchObject({ complete: true, statisticsTotal: 800 });
      const before = await rt.store.stats(config.migrationId, 'order_info');
      expect(before.map((d) => d.day)).not.toContain('2026-07-01');

      // New orders on a new day (after the copy; no CDC here): keys beyond the copied range.
      const db = `\`${config.source.database!}\``;
      await suite.pool.query(
        `INSERT INTO ${db}.order_info (order_no, user_id, status, amount, buyer_name, create_time, update_time)
         SELECT CONCAT('2026070100', LPAD(seq, 5, '0')), 100 + seq, 1, 9.99, 'late', '2026-07-01 10:00:00.000', '2026-07-01 10:00:00.000000'
         FROM (SELECT 1 AS seq UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) s`,
      );
      // Planning again (the first step of every run) counts the new day: not complete any more.
      await plan(rt.ctx);
      const stats = await rt.store.stats(config.migrationId, 'order_info');
      expect(stats.find((d) => d.day === '2026-07-01')?.rows).toBe(7);
      let view = await migrationStatus(config, rt.store);
      expect(view.tables[0]).toMatchObject({ statisticsTotal: 807, rowsCopied: 800, complete: false });
      // The open-ended last segment has grown: it is reopened, so the next run copies (and verifies) the rows.
      expect(view.tables[0]!.segments.at(-1)).toMatchObject({ status: 'RUNNING' });
      expect(view.tables[0]!.segments.at(-1)!.verifyStatus).toBeUndefined();

      const out = (await rt.execute().result) as { tables: { complete: boolean; statisticsTotal: number; verifiedRows: number; rowsCopied: number }[] };
      expect(out.tables[0]).toMatchObject({ complete: true, statisticsTotal: 807, verifiedRows: 807, rowsCopied: 807 });
      view = await migrationStatus(config, rt.store);
      expect(view.tables[0]).toMatchObject({ complete: true, statisticsTotal: 807, rowsCopied: 807 });
    } finally {
      await rt.close();
    }
  });
});
