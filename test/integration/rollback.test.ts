/**
 * Reverse replication and rollback, through the synthesized Cutover state machine over real MariaDB: a switch
 * with `cutover.reverse` starts capture on the target server; live writes on the new layout (updates, inserts,
 * deletes, and a transaction left open across the switch) reach the old table; the rollback (the Cutover
 * machine run for `<migrationId>.reverse`) freezes the new layout, catches up, checks and switches back, after
 * which forward capture carries the old table's changes to the new layout again.
 */
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { checkAll } from '../../local/checksum.js';
import { cutoverError } from '../../local/cutover.js';
import { expand, reverseMigrationId, type MigrationConfig } from '../../lambdas/core/config.js';
import { runRollback } from '../../lambdas/app/cutover.js';
import { integrationSuite } from '../helpers/suite.js';
import { cutoverFixtures } from '../helpers/cutover.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
const ORDERS = 1200;
const { cutoverConfig, migrated } = cutoverFixtures(suite, ORDERS);

type Switched = { switch: { freezeMs: number; rowsChecked: number; routing: { migrationId: string; databases: { database: string }[] } } };

/** Every target table of order_info, quoted. */
function targetTables(config: MigrationConfig): string[] {
  const t = config.tables[0]!;
  return Array.from({ length: config.target.databases }, (_, db) =>
    Array.from({ length: t.tablesPerDb }, (_, i) => `\`${expand(config.target.databasePattern, 'db', db)}\`.\`${expand(t.targetTable, 'table', i)}\``),
  ).flat();
}

const COLUMNS = 'order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time';

/** An application writing to the new layout: updates, copies of a row under a new id (same shard keys: same table) and deletes. */
function newLayoutWriter(tables: readonly string[]) {
  let writing = true;
  const counts = { updates: 0, inserts: 0, deletes: 0 };
  const done = (async () => {
    for (let i = 0; writing; i++) {
      // Orders 100 and up: below them are the rows the test follows.
      const id = 100 + ((i * 7) % (ORDERS - 100));
      for (const t of tables) {
        if (i % 10 === 9) {
          const [r] = await suite.pool.query<RowDataPacket[]>(`DELETE FROM ${t} WHERE id = ?`, [id]);
          counts.deletes += (r as unknown as { affectedRows: number }).affectedRows;
        } else if (i % 5 === 4) {
          const [r] = await suite.pool.query(`INSERT INTO ${t} (id, ${COLUMNS}, update_time) SELECT ?, ${COLUMNS}, NOW(6) FROM ${t} WHERE id = ?`, [200_000 + i, id]);
          counts.inserts += (r as unknown as { affectedRows: number }).affectedRows;
        } else {
          const [r] = await suite.pool.query(`UPDATE ${t} SET remark = ?, update_time = NOW(6) WHERE id = ?`, [`new layout ${i}`, id]);
          counts.updates += (r as unknown as { affectedRows: number }).affectedRows;
        }
      }
    }
  })();
  return { counts, stop: async () => ((writing = false), await done) };
}

async function remarkOf(table: string, id: number): Promise<string | undefined> {
  const [rows] = await suite.pool.query<RowDataPacket[]>(`SELECT remark FROM ${table} WHERE id = ?`, [id]);
  return rows[0]?.remark as string | undefined;
}

describe('reverse replication and rollback', () => {
  it('carries live writes on the new layout back to the old table, a transaction open across the switch included, then rolls back', async () => {
    const config = cutoverConfig('rb', { reverse: true });
    const reverseId = reverseMigrationId(config.migrationId);
    await migrated(config, async (rt, src) => {
      const tables = targetTables(config);
      // Nothing to roll back yet.
      await expect(runRollback(rt.ctx, rt.reverse!, rt.cutoverDeps(true), { dryRun: true })).rejects.toThrow(/nothing to roll back: .* has no cut-over/);

      // A transaction on the new layout, open across the switch: it changes order 11 and adds order 150001.
      const long = await suite.pool.getConnection();
      try {
        await long.beginTransaction();
        for (const t of tables) {
          await long.query(`UPDATE ${t} SET remark = 'long transaction', update_time = NOW(6) WHERE id = 11`);
          await long.query(`INSERT INTO ${t} (id, ${COLUMNS}, update_time) SELECT 150001, ${COLUMNS}, NOW(6) FROM ${t} WHERE id = 11`);
        }
        const out = (await rt.executeCutover().result) as Switched;
        expect(out.switch.routing.migrationId).toBe(config.migrationId);
        const switched = await rt.store.getCutover(config.migrationId);
        expect(switched).toMatchObject({ status: 'DONE', reverseFrom: [{ server: 0, position: { file: expect.any(String), position: expect.any(Number) } }] });
        // Switched with reverse replication running: a second cut-over is refused.
        const again = cutoverError(await rt.executeCutover().result.then(() => 'switched', (e: unknown) => e));
        expect(String((again as Error).message)).toMatch(/replicates back to the old one: reshard rollback goes back/);
        await long.commit();
      } finally {
        long.release();
      }

      const writer = newLayoutWriter(tables);
      await new Promise((r) => setTimeout(r, 1500));
      await writer.stop();
      expect(writer.counts.updates).toBeGreaterThan(0);
      expect(writer.counts.inserts).toBeGreaterThan(0);
      expect(writer.counts.deletes).toBeGreaterThan(0);

      await rt.cdc!.drain(60_000, true);
      // The old table equals the new layout again: every row where the rule routes it, nothing else.
      const [back] = await checkAll(config, suite.pool, [suite.pool]);
      expect(back).toMatchObject({ match: true });
      expect(await remarkOf(src, 11)).toBe('long transaction');
      expect(await remarkOf(src, 150001)).toBe('long transaction');
      expect(back!.sourceRows).toBe(ORDERS + 1 + writer.counts.inserts - writer.counts.deletes);

      // Roll back: freeze the new layout, catch up, check what changed since the switch, switch back.
      const dry = await runRollback(rt.ctx, rt.reverse!, rt.cutoverDeps(true), { dryRun: true });
      expect(dry.steps.join('\n')).toMatch(/changed since the switch, compared with the old layout/);
      const rolled = (await rt.executeCutover({ migrationId: reverseId }).result) as Switched;
      expect(rolled.switch.rowsChecked).toBeGreaterThan(0);
      expect(rolled.switch.routing.databases).toEqual([expect.objectContaining({ database: config.source.database })]);
      expect(await rt.store.getCutover(reverseId)).toMatchObject({ status: 'DONE' });
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'ROLLED_BACK' });

      // Back on the old table: its changes reach the new layout again, and are not carried back.
      await suite.pool.query(`UPDATE ${src} SET remark = 'after the rollback', update_time = NOW(6) WHERE id = 21`);
      await rt.cdc!.drain(60_000);
      const [forward] = await checkAll(config, suite.pool, [suite.pool]);
      expect(forward).toMatchObject({ match: true });
      const moved = await Promise.all(tables.map((t) => remarkOf(t, 21)));
      expect(moved.filter((r) => r !== undefined)).toEqual(['after the rollback']);
    });
  });
});
