/**
 * Scroll keys other than one integer column. A table whose primary key is composite — `order_line (order_id,
 * line_no)` — scrolled by that key: plan cuts segments inside an order, the copy pages through orders of many
 * lines, CDC applies changes (deletes of rows the copy may have read included) while the copy runs, and the
 * state machine's verification and an independent comparison find the targets equal to the source. A string
 * key in a case-insensitive collation, whose order is not its text's: the copy still finds the rows CDC deleted
 * after it read them. Plan refuses a scroll key that is not unique, and another key than the one planned.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { rng } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { plan } from '../../lambdas/app/plan.js';
import type { CopyHooks } from '../../lambdas/app/context.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { ConfigError, SchemaError } from '../../lambdas/core/errors.js';
import { compareKeys } from '../../lambdas/core/segments.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, segments: 4, concurrency: 2, pageSize: 150, items: false });
const ORDERS = 400;
const LINES = 12;

function lineConfig(name: string, scrollKey: string | string[], cdc: boolean): MigrationConfig {
  const base = suite.config(name);
  return parseConfig({
    ...base,
    tables: [{ name: 'order_line', scrollKey, shardKeys: ['user_id'], versionColumn: 'update_time', timeColumn: 'create_time', targetTable: 'order_line_{table}', tablesPerDb: 2 }],
    cdc: { ...base.cdc, enabled: cdc, serverId: 7400 + Math.floor(Math.random() * 100_000) },
    verify: { ...base.verify, batchRows: 500 },
  });
}

/** `order_line` with ORDERS orders of LINES lines, keyed by (order_id, line_no); a text column makes rows unequal widths. */
async function seedLines(config: MigrationConfig): Promise<string> {
  const db = config.source.database!;
  const src = `\`${db}\`.order_line`;
  await suite.pool.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
  await suite.pool.query(
    `CREATE TABLE ${src} (order_id BIGINT NOT NULL, line_no INT NOT NULL, user_id BIGINT NOT NULL, sku VARCHAR(32) NOT NULL, qty INT NOT NULL, note TEXT NULL,
      create_time DATETIME(3) NOT NULL, update_time DATETIME(6) NOT NULL, PRIMARY KEY (order_id, line_no)) DEFAULT CHARSET=utf8mb4`,
  );
  await suite.pool.query(
    `INSERT INTO ${src} SELECT 1000 + seq DIV ${LINES}, 1 + seq MOD ${LINES}, (seq DIV ${LINES}) * 7919 MOD 100000, CONCAT('SKU-', seq), 1 + seq MOD 5,
      IF(seq MOD 3 = 0, NULL, REPEAT('n', seq MOD 40)), '2026-11-01 10:00:00' + INTERVAL seq MINUTE, NOW(6) FROM mysql.seq_0_to_${ORDERS * LINES - 1}`,
  );
  return src;
}

describe('a composite scroll key', () => {
  it('copies, captures and verifies a table keyed by (order_id, line_no) while it changes', async () => {
    const config = lineConfig('composite', ['order_id', 'line_no'], true);
    const src = await seedLines(config);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      const planned = await plan(rt.ctx);
      const segments = planned.tables[0]!.segments;
      expect(segments).toHaveLength(4);
      // Boundaries are keys of both columns, in key order, and fall inside an order (not only between orders).
      const bounds = segments.slice(1).map((s) => s.lo!);
      for (const b of bounds) expect(JSON.parse(b)).toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)]);
      for (let i = 1; i < bounds.length; i++) expect(compareKeys(bounds[i - 1]!, bounds[i]!, ['int', 'int'])).toBeLessThan(0);
      expect(planned.tables[0]).toMatchObject({ minKey: '["1000","1"]', maxKey: `["${1000 + ORDERS - 1}","${LINES}"]` });

      // Changes while the copy runs: lines updated, deleted (whole orders too) and added, new orders included.
      const rand = rng(7);
      let stop = false;
      const writer = (async () => {
        let ops = 0;
        // At least 600 changes, and more while the copy runs (at most 1,500).
        while ((!stop || ops < 600) && ops < 1500) {
          const order = 1000 + Math.floor(rand() * (ORDERS + 20));
          const r = rand();
          if (r < 0.45) await suite.pool.query(`UPDATE ${src} SET qty = qty + 1, note = ?, update_time = NOW(6) WHERE order_id = ? AND line_no = ?`, [`w${ops}`, order, 1 + Math.floor(rand() * LINES)]);
          else if (r < 0.65) await suite.pool.query(`DELETE FROM ${src} WHERE order_id = ? AND line_no = ?`, [order, 1 + Math.floor(rand() * LINES)]);
          else if (r < 0.67) await suite.pool.query(`DELETE FROM ${src} WHERE order_id = ?`, [order]);
          else
            await suite.pool.query(
              `INSERT INTO ${src} (order_id, line_no, user_id, sku, qty, note, create_time, update_time) VALUES (?, ?, ?, 'SKU-new', 1, 'added', NOW(3), NOW(6))
               ON DUPLICATE KEY UPDATE qty = qty + 10, update_time = NOW(6)`,
              [order, 1 + LINES + Math.floor(rand() * 3), order * 31],
            );
          ops++;
        }
        return ops;
      })();
      await rt.execute().result;
      stop = true;
      expect(await writer).toBeGreaterThanOrEqual(600);
      const lag = await rt.cdc!.drain(120_000);
      expect(lag).toMatchObject({ backlog: 0, dead: 0, caughtUp: true });

      const view = await migrationStatus(config, rt.store);
      expect(view.status).toBe('DONE');
      expect(view.tables[0]!.segments.every((s) => s.status === 'DONE')).toBe(true);
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.targets.filter((t) => !t.match)).toEqual([]);
      expect(check!.targetRows).toBe(check!.sourceRows);
      expect(check!.sourceRows).toBeGreaterThan(ORDERS * LINES * 0.5);
    } finally {
      await rt.close();
    }
  });

  it('a line deleted and one updated after the copy read them: the copy does not bring the deleted line back', async () => {
    const config = parseConfig({ ...lineConfig('compdel', ['order_id', 'line_no'], true), copy: { ...suite.config('compdel2').copy, segments: 1, pageSize: 100 } });
    const src = await seedLines(config);
    let staged: unknown[][] = [];
    let rt: LocalRuntime;
    const hooks: CopyHooks = {
      afterRead: async (_t, _s, rows) => {
        if (staged.length || !rows.length) return;
        staged = [rows[7]!, rows[8]!, rows[9]!].map((r) => [r.order_id, r.line_no]);
        await suite.pool.query(`DELETE FROM ${src} WHERE (order_id, line_no) IN ((?, ?), (?, ?))`, staged.slice(0, 2).flat());
        await suite.pool.query(`UPDATE ${src} SET qty = 99, update_time = NOW(6) WHERE order_id = ? AND line_no = ?`, staged[2]);
        await rt.cdc!.drain(60_000); // CDC applies them before the copy writes what it read
      },
    };
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, hooks, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      await rt.cdc!.drain(60_000);
      expect(staged).toHaveLength(3);
      // Verification found nothing to repair: the copy itself removed the deleted lines it had read (tombstones).
      const view = await migrationStatus(config, rt.store);
      expect(view.tables[0]).toMatchObject({ status: 'DONE', dirtyRows: 0, repairedRows: 0 });
      expect(view.tables[0]!.segments.map((s) => s.verifyStatus)).toEqual(['CLEAN']);
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.targets.filter((t) => !t.match)).toEqual([]);
      expect(check!.sourceRows).toBe(ORDERS * LINES - 2);
      expect(check!.targetRows).toBe(check!.sourceRows);
    } finally {
      await rt.close();
    }
  });

  it('refuses to plan again with another scroll key: the checkpoints are positions of the first', async () => {
    const config = lineConfig('compchange', ['order_id', 'line_no'], false);
    const src = await seedLines(config);
    // An index serves the wider key too: only the change of key is at fault.
    await suite.pool.query(`ALTER TABLE ${src} ADD UNIQUE INDEX uk_line_sku (order_id, line_no, sku)`);
    const wider = parseConfig({ ...config, tables: [{ ...config.tables[0]!, scrollKey: ['order_id', 'line_no', 'sku'] }] });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    const again = await LocalRuntime.start({ config: wider, dynamo: suite.dynamo });
    try {
      await plan(rt.ctx);
      const err = await plan(again.ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^tables\.order_line\.scrollKey: order_id, line_no, sku \(int,int,string\) is not the key migration \S+ was planned with \(int,int\)/);
    } finally {
      await again.close();
      await rt.close();
    }
  });

  it('refuses a scroll key that is only part of the primary key, before anything is written', async () => {
    const config = lineConfig('compprefix', 'order_id', false);
    await seedLines(config);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      const err = await plan(rt.ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaError);
      expect((err as Error).message).toMatch(/order_line: scroll key order_id is not unique: no unique index lies within its columns \(unique indexes: PRIMARY \(order_id, line_no\)\)/);
      expect(await rt.store.segments(config.migrationId, 'order_line')).toEqual([]);
    } finally {
      await rt.close();
    }
  });
});

describe('a string scroll key in a case-insensitive collation', () => {
  it('a row deleted after the copy read it is not brought back, though the server orders the keys otherwise than their text', async () => {
    const base = suite.config('ci');
    const config = parseConfig({
      ...base,
      tables: [{ name: 'coupon', scrollKey: 'code', shardKeys: ['user_id'], versionColumn: 'update_time', targetTable: 'coupon_{table}', tablesPerDb: 2 }],
      copy: { ...base.copy, segments: 1, pageSize: 100 },
      cdc: { ...base.cdc, enabled: true, serverId: 7500 + Math.floor(Math.random() * 100_000) },
    });
    const db = config.source.database!;
    const src = `\`${db}\`.coupon`;
    await suite.pool.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
    await suite.pool.query(`CREATE TABLE ${src} (code VARCHAR(16) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL, amount INT NOT NULL, update_time DATETIME(6) NOT NULL) DEFAULT CHARSET=utf8mb4`);
    // The server sorts every 'a…' before every 'B…' (case-insensitively); as text every 'B…' sorts first. The
    // first page of 'B…' keys follows a page of 'a…' keys: as text its range ('a00999', 'B00200'] is empty.
    await suite.pool.query(`INSERT INTO ${src} SELECT CONCAT(IF(seq % 2, 'a', 'B'), LPAD(seq, 5, '0')), seq * 13, seq, NOW(6) FROM mysql.seq_1_to_1000`);
    let deleted: string[] = [];
    let rt: LocalRuntime;
    const hooks: CopyHooks = {
      afterRead: async (_t, _s, rows) => {
        if (deleted.length || !String(rows[0]?.code).startsWith('B')) return;
        deleted = [String(rows[7]!.code), String(rows[8]!.code)];
        await suite.pool.query(`DELETE FROM ${src} WHERE code IN (?, ?)`, deleted);
        await rt.cdc!.drain(60_000); // CDC applies the deletes before the copy writes what it read
      },
    };
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, hooks, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      await rt.cdc!.drain(60_000);
      expect(deleted).toEqual(['B00016', 'B00018']);
      const view = await migrationStatus(config, rt.store);
      expect(view.tables[0]).toMatchObject({ status: 'DONE', dirtyRows: 0, repairedRows: 0 });
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.targets.filter((t) => !t.match)).toEqual([]);
      expect(check!.sourceRows).toBe(998);
      expect(check!.targetRows).toBe(998);
    } finally {
      await rt.close();
    }
  });
});
