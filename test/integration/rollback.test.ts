/**
 * Reverse replication and rollback, through the synthesized Cutover state machine over real MariaDB: a switch
 * with `cutover.reverse` starts capture on the target server; live writes on the new layout (updates, inserts,
 * deletes, and a transaction left open across the switch) reach the old table; the rollback (the Cutover
 * machine run for `<migrationId>.reverse`) freezes the new layout, catches up, checks and switches back, after
 * which forward capture carries the old table's changes to the new layout again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { cutoverError } from '../../local/cutover.js';
import { expand, type MigrationConfig } from '../../lambdas/core/config.js';
import { reverseMigrationId } from '../../lambdas/core/reverse-id.js';
import { cutOver, runRollback } from '../../lambdas/app/cutover.js';
import { resolveDdl } from '../../lambdas/app/ddl.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { integrationSuite } from '../helpers/suite.js';
import { cutoverFixtures } from '../helpers/cutover.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 2, concurrency: 2, items: false });
const ORDERS = 1200;
const { cutoverConfig, migrated } = cutoverFixtures(suite, ORDERS);
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'reshard-rollback-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const reshard = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/reshard.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });

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
        // …for that reason first, whatever the other conditions say (here: a catch-up that never gets there).
        const behind = { ...rt.cutoverDeps(), catchUp: () => Promise.reject(new Error('CDC is behind')) };
        await expect(cutOver(rt.direction(), behind, { dryRun: true })).rejects.toThrow(/replicates back to the old one: reshard rollback goes back/);
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

      // A DDL on the new layout stops reverse capture before it, as forward capture stops; status says how to go on.
      const [[row]] = (await suite.pool.query(`SELECT id FROM ${tables[0]} WHERE id < 100 LIMIT 1`)) as unknown as [[{ id: number }]];
      await suite.pool.query(`ALTER TABLE ${tables[0]} ADD INDEX idx_remark (remark)`);
      await suite.pool.query(`UPDATE ${tables[0]} SET remark = 'after the DDL', update_time = NOW(6) WHERE id = ?`, [row.id]);
      await expect.poll(async () => (await migrationStatus(config, rt.store)).reverse?.servers[0]?.paused ?? '', { timeout: 30_000 }).toMatch(/ADD INDEX idx_remark/);
      await resolveDdl(rt.reverse!, rt.cdc!.queue, { server: 0, action: 'skip', owner: 'test:ddl' });
      await rt.cdc!.drain(60_000, true);
      expect(await remarkOf(src, row.id)).toBe('after the DDL');

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

  it('from the CLI: run, cutover, writes on the new layout while no reshard process runs, rollback', { timeout: 300_000 }, async () => {
    const config = cutoverConfig('rb_cli', { reverse: true });
    await seedOrders(suite.pool, config.source.database!, { orders: 500, itemsPerOrder: 0, seed: 4 });
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const state = ['--config', file, '--state-dir', join(work, 'state')];
    const ok = (r: ReturnType<typeof reshard>) => expect(r.status, r.stdout + r.stderr).toBe(0);

    ok(reshard('run', ...state));
    const early = reshard('rollback', ...state, '--dry-run');
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/nothing to roll back: .* has no cut-over/);

    const cutover = reshard('cutover', ...state, '--routing-file', join(work, 'new.json'));
    ok(cutover);
    expect(cutover.stdout).toMatch(/reverse replication carries every change on the new layout back to the old one/);

    // The application writes to the new layout; no reshard process is running.
    for (const t of targetTables(config)) await suite.pool.query(`UPDATE ${t} SET remark = 'from the new layout', update_time = NOW(6) WHERE id = 5`);
    const dry = reshard('rollback', ...state, '--dry-run');
    ok(dry);
    expect(dry.stdout).toMatch(/CDC catching up \(reverse replication\) before the precheck/);
    expect(dry.stdout).toMatch(/would check: every row the binlog of the new layout changed since the switch/);

    const back = reshard('rollback', ...state, '--routing-file', join(work, 'old.json'));
    ok(back);
    expect(back.stdout).toMatch(/rolled back: writes were frozen \d+ ms, 1 rows checked; the routing of the old layout is in/);
    expect(back.stdout, back.stdout).toMatch(/rollback: switched and thawed/);
    expect(await remarkOf(`\`${config.source.database!}\`.order_info`, 5)).toBe('from the new layout');
    expect((JSON.parse(readFileSync(join(work, 'old.json'), 'utf8')) as { databases: { database: string }[] }).databases).toEqual([expect.objectContaining({ database: config.source.database })]);

    const status = reshard('status', ...state, '--json');
    ok(status);
    expect(JSON.parse(status.stdout)).toMatchObject({ cutover: { status: 'ROLLED_BACK' }, reverse: { servers: [{ server: 0, events: 1 }], rollback: { status: 'DONE' } } });
  });
});
