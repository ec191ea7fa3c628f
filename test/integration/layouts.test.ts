/**
 * Routing rules and scope on the real stack: the original last3-mod layout (and plan's skew warning),
 * a custom router module, a time window with per-day statistics, and a target that differs from the source.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { plan } from '../../lambdas/app/plan.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { SchemaError } from '../../lambdas/core/errors.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 4, tablesPerDb: 4, pageSize: 250, segments: 3, concurrency: 2, items: false });
const fresh = suite.config;

describe('last3-mod (the original platform rule)', () => {
  it('sends every row of db k to table k when db and table counts are equal; plan warns about the unused tables first', async () => {
    const config = fresh('last3', { algorithm: 'last3-mod' });
    await seedOrders(suite.pool, config.source.database!, { orders: 2000, itemsPerOrder: 0, seed: 9 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      const preview = await plan(rt.ctx, { dryRun: true });
      expect(preview.tables[0]!.unusedTargets).toBe(12);
      expect(preview.tables[0]!.skewFactor).toBeGreaterThan(3.5);
      await rt.execute().result;
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.match).toBe(true);
      for (const t of check!.targets) {
        const [, db, table] = /_db_(\d+)\.order_info_(\d+)$/.exec(t.target)!;
        expect(t.targetRows > 0).toBe(db === table);
      }
    } finally {
      await rt.close();
    }
  });
});

describe('a custom routing module', () => {
  it('routes with the exported route function', async () => {
    const base = fresh('custom');
    const config = parseConfig({ ...base, routing: { algorithm: 'custom', module: 'examples/last3-router.mjs' } });
    await seedOrders(suite.pool, config.source.database!, { orders: 600, itemsPerOrder: 0, seed: 4, nullOrderNo: 0 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      // examples/last3-router.mjs: n = last 4 digits; db = n mod 4, table = (n div 4) mod 4.
      const [rows] = await suite.pool.query<import('mysql2').RowDataPacket[]>(`SELECT id, order_no FROM \`${config.source.database!}\`.order_info`);
      for (const r of rows.slice(0, 50)) {
        const n = Number(String(r.order_no).slice(-4));
        const [found] = await suite.pool.query<import('mysql2').RowDataPacket[]>(`SELECT id FROM \`${base.target.databasePattern.replace('{db}', String(n % 4))}\`.\`order_info_${Math.floor(n / 4) % 4}\` WHERE id = ?`, [r.id]);
        expect(found).toHaveLength(1);
      }
      const [[{ n: copied }]] = (await suite.pool.query(
        Array.from({ length: 4 }, (_, d) => Array.from({ length: 4 }, (_, t) => `SELECT COUNT(*) AS n FROM \`${base.target.databasePattern.replace('{db}', String(d))}\`.order_info_${t}`).join(' UNION ALL ')).join(' UNION ALL ').replace(/^/, 'SELECT SUM(n) AS n FROM (') + ') x',
      )) as unknown as [[{ n: string }]];
      expect(Number(copied)).toBe(600);
    } finally {
      await rt.close();
    }
  });
});

describe('a time window', () => {
  it('copies only rows inside the window and counts statistics per day within it', async () => {
    const base = fresh('window');
    const config = parseConfig({ ...base, tables: [{ ...base.tables[0]!, window: { from: '2026-07-01', to: '2026-08-01' } }] });
    await seedOrders(suite.pool, config.source.database!, { orders: 3000, itemsPerOrder: 0, seed: 8, start: new Date('2026-06-01T00:00:00Z'), days: 90 });
    const [[{ n }]] = (await suite.pool.query(
      `SELECT COUNT(*) AS n FROM \`${config.source.database!}\`.order_info WHERE create_time >= '2026-07-01' AND create_time < '2026-08-01'`,
    )) as unknown as [[{ n: string }]];
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      const result = (await rt.execute().result) as { tables: { rowsCopied: number; statisticsTotal: number }[] };
      expect(result.tables[0]).toMatchObject({ rowsCopied: Number(n), statisticsTotal: Number(n) });
      const stats = await rt.store.stats(config.migrationId, 'order_info');
      expect(stats.map((s) => s.day)).toHaveLength(31);
      expect(stats.every((s) => s.day >= '2026-07-01' && s.day <= '2026-07-31')).toBe(true);
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.sourceRows).toBe(Number(n));
      expect(check!.match).toBe(true);
    } finally {
      await rt.close();
    }
  });
});

describe('target preparation', () => {
  it('refuses an existing target table whose columns differ from the source, naming the column', async () => {
    const config = fresh('differs');
    await seedOrders(suite.pool, config.source.database!, { orders: 100, itemsPerOrder: 0 });
    const db = config.target.databasePattern.replace('{db}', '1');
    await suite.pool.query(`CREATE DATABASE \`${db}\``);
    await suite.pool.query(`CREATE TABLE \`${db}\`.order_info_2 LIKE \`${config.source.database!}\`.order_info`);
    await suite.pool.query(`ALTER TABLE \`${db}\`.order_info_2 MODIFY amount DECIMAL(10,2) NOT NULL`);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      const err = await plan(rt.ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaError);
      expect((err as Error).message).toBe(`target table ${db}.order_info_2 exists with different columns: column amount is decimal(10,2), source has decimal(12,2)`);
    } finally {
      await rt.close();
    }
  });
});

describe('write methods', () => {
  for (const writeMethod of ['load', 'insert'] as const) {
    it(`copies awkward values exactly with ${writeMethod === 'load' ? 'LOAD DATA LOCAL' : 'multi-row INSERT'}`, async () => {
      const base = fresh(`wm${writeMethod}`, { segments: 1 });
      const config = parseConfig({ ...base, copy: { ...base.copy, writeMethod } });
      await seedOrders(suite.pool, config.source.database!, { orders: 300, itemsPerOrder: 0, seed: 12 });
      const awkward = ['back\\slash', 'tab\tin', 'new\nline', 'nul\0byte', '\\N', 'N', '', 'emoji 🧪 ✓', 'quote \' "dq"', 'trailing space '];
      for (const [i, remark] of awkward.entries())
        await suite.pool.query(`UPDATE \`${config.source.database!}\`.order_info SET remark = ?, attrs = ? WHERE id = ?`, [remark, JSON.stringify({ k: remark }), i + 1]);
      await suite.pool.query(`ALTER TABLE \`${config.source.database!}\`.order_info ADD COLUMN blob_col BLOB NULL`);
      await suite.pool.query(`UPDATE \`${config.source.database!}\`.order_info SET blob_col = ? WHERE id = 1`, [Buffer.from([0x5c, 0x09, 0x0a, 0x00, 0xff, 0x4e, 0x5c, 0x4e])]);
      await suite.pool.query(`UPDATE \`${config.source.database!}\`.order_info SET blob_col = ? WHERE id = 2`, [Buffer.alloc(0)]);
      const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
      try {
        await rt.execute().result;
        const [check] = await checkAll(config, suite.pool, [suite.pool]);
        expect(check!.targets.filter((t) => !t.match)).toEqual([]);
        expect(check!.targetRows).toBe(300);
      } finally {
        await rt.close();
      }
    });
  }
});

