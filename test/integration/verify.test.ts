/**
 * Verification: checksum fast path, row-by-row classification (missing / different with columns / extra),
 * repair, and a clean second pass — against deliberately corrupted target shards.
 */
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { rng, seedOrders } from '../../local/seed.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { routerFor, tableConfig } from '../../lambdas/app/context.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 4, tablesPerDb: 4, pageSize: 1000, segments: 3, concurrency: 2, items: false });

describe('verify', () => {
  it('finds exactly 37 changed, 11 deleted and 5 extra target rows with the right columns; repair fixes them; a second pass is clean', async () => {
    const config = suite.config('verify');
    await seedOrders(suite.pool, config.source.database!, { orders: 5000, itemsPerOrder: 0, seed: 23 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      // 5 full batches and an open-ended last one (rows inserted later beyond the last key land there).
      const clean = await verifyTable(rt.ctx, 'order_info', { batchRows: 1000 });
      expect(clean).toMatchObject({ clean: true, batches: 6, rowsCompared: 5000, byChecksum: 5000, byRows: 0, missing: 0, different: 0, extra: 0 });

      // Corrupt the targets.
      const router = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
      const rand = rng(77);
      const ids = new Set<number>();
      while (ids.size < 48) ids.add(1 + Math.floor(rand() * 5000));
      const [changed, deleted] = [[...ids].slice(0, 37), [...ids].slice(37)];
      const where = async (id: number) => {
        const [[row]] = (await suite.pool.query(`SELECT * FROM \`${config.source.database!}\`.order_info WHERE id = ?`, [id])) as unknown as [[Record<string, unknown>]];
        const t = router.route(row);
        return { row, at: `\`${t.database}\`.\`${t.tableName}\``, target: `${t.database}.${t.tableName}` };
      };
      const expected: { kind: string; id: number; target: string; columns?: string[] }[] = [];
      for (const [n, id] of changed.entries()) {
        const { at, target } = await where(id);
        if (n % 2) {
          await suite.pool.query(`UPDATE ${at} SET remark = CONCAT(IFNULL(remark, ''), ' (tampered)') WHERE id = ?`, [id]);
          expected.push({ kind: 'different', id, target, columns: ['remark'] });
        } else {
          await suite.pool.query(`UPDATE ${at} SET amount = amount + 0.01, status = status + 1 WHERE id = ?`, [id]);
          expected.push({ kind: 'different', id, target, columns: ['status', 'amount'] });
        }
      }
      for (const id of deleted) {
        const { at, target } = await where(id);
        await suite.pool.query(`DELETE FROM ${at} WHERE id = ?`, [id]);
        expected.push({ kind: 'missing', id, target });
      }
      for (let i = 0; i < 5; i++) {
        const id = 5001 + i; // no source row has this key (the open-ended last batch covers it)
        const t = router.allTargets()[i * 3]!;
        await suite.pool.query(`INSERT INTO \`${t.database}\`.\`${t.tableName}\` (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, '1', 1, 1, 'ghost', NOW(3), NOW(6))`, [id]);
        expected.push({ kind: 'extra', id, target: `${t.database}.${t.tableName}` });
      }

      const dirty = await verifyTable(rt.ctx, 'order_info', { batchRows: 200 });
      expect(dirty.clean).toBe(false);
      expect(dirty.byRows).toBeGreaterThan(0);
      expect(dirty.byChecksum).toBeGreaterThan(0); // untouched batches still pass by checksum
      expect({ missing: dirty.missing, different: dirty.different, extra: dirty.extra }).toEqual({ missing: 11, different: 37, extra: 5 });
      expect(dirty.dirty).toHaveLength(53);
      for (const e of expected) {
        const found = dirty.dirty.find((d) => d.kind === e.kind && String(d.key[0]) === String(e.id) && d.target === e.target);
        expect(found, `${e.kind} ${e.id} in ${e.target}`).toBeDefined();
        if (e.columns) expect([...found!.columns!].sort()).toEqual([...e.columns].sort());
      }

      const repaired = await verifyTable(rt.ctx, 'order_info', { batchRows: 1000, repair: true });
      expect(repaired.repaired).toBe(repaired.missing + repaired.different + repaired.extra);
      expect(repaired.clean).toBe(true);
      const states = await rt.store.verifyBatches(config.migrationId, 'order_info');
      expect(states.some((s) => s.status === 'REPAIRED')).toBe(true);
      expect(states.every((s) => s.status === 'CLEAN' || s.status === 'REPAIRED')).toBe(true);

      const again = await verifyTable(rt.ctx, 'order_info', { batchRows: 1000 });
      const { migrationStatus } = await import('../../lambdas/app/status.js');
      const [view] = (await migrationStatus(config, rt.store)).tables;
      // Complete needs the statistics total verified: 5 rows were inserted into targets only, the source still has 5000.
      expect(view).toMatchObject({ status: 'DONE', verifiedRows: again.rowsCompared, dirtyRows: 0, complete: true });
      expect(again).toMatchObject({ clean: true, missing: 0, different: 0, extra: 0, byRows: 0 });
      const [[{ n }]] = (await suite.pool.query(`SELECT COUNT(*) AS n FROM \`${config.source.database!}\`.order_info`)) as unknown as [[RowDataPacket]];
      expect(again.rowsCompared).toBe(Number(n));
    } finally {
      await rt.close();
    }
  });
});
