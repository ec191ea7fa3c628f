/**
 * Incremental sync end to end on the real stack: binlog capture (zongji) → SQS FIFO (fauxqs) → apply,
 * converging with a full copy that runs while the source keeps changing; and the copy/CDC races of
 * DESIGN §2.5, each staged at the exact moment between the copy's read and its write.
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { rng, seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import type { CopyHooks } from '../../lambdas/app/context.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 4, tablesPerDb: 4, segments: 3, concurrency: 2, items: false });

function cdcConfig(name: string, overrides: Parameters<typeof suite.config>[1] = {}, serverId = 7000): MigrationConfig {
  const base = suite.config(name, overrides);
  return parseConfig({ ...base, cdc: { enabled: true, serverId: serverId + Math.floor(Math.random() * 100_000), applyConcurrency: 4 } });
}

async function expectConverged(config: MigrationConfig): Promise<void> {
  for (const c of await checkAll(config, suite.pool, [suite.pool])) {
    expect(c.targets.filter((t) => !t.match), `${c.table}: targets that differ from the source`).toEqual([]);
    expect(c.targetRows).toBe(c.sourceRows);
  }
}

describe('copy while the source changes', () => {
  it('20,000 random inserts/updates/deletes during the copy: after lag reaches 0 the targets equal the source', async () => {
    const config = cdcConfig('converge', { pageSize: 200 });
    const src = `\`${config.source.database!}\`.order_info`;
    await seedOrders(suite.pool, config.source.database!, { orders: 20_000, itemsPerOrder: 0, seed: 31 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      const copy = rt.execute().result;
      const rand = rng(99);
      let nextId = 1_000_000;
      const writer = (async () => {
        let ops = 0;
        while (ops < 20_000) {
          const conn = await suite.pool.getConnection();
          try {
            await conn.beginTransaction();
            for (let i = 0; i < 50; i++, ops++) {
              const id = 1 + Math.floor(rand() * 21_000);
              const r = rand();
              if (r < 0.55) await conn.query(`UPDATE ${src} SET remark = ?, amount = amount + 1, update_time = NOW(6) WHERE id = ?`, [`w${ops} ✓`, id]);
              else if (r < 0.8) await conn.query(`DELETE FROM ${src} WHERE id = ?`, [id]);
              else
                await conn.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, ?, ?, ?, ?, NOW(3), NOW(6))`, [
                  nextId,
                  `20261122${String(nextId++).padStart(10, '0')}`,
                  Math.floor(rand() * 1e6),
                  (rand() * 100).toFixed(2),
                  'Écrit pendant la copie 📦',
                ]);
            }
            await conn.commit();
          } finally {
            conn.release();
          }
        }
        return ops;
      })();
      const [, ops] = await Promise.all([copy, writer]);
      expect(ops).toBeGreaterThanOrEqual(20_000);
      const lag = await rt.cdc!.drain(180_000);
      expect(lag).toMatchObject({ backlog: 0, dead: 0, caughtUp: true });
      expect(lag.captured).toBeGreaterThan(10_000);
      await expectConverged(config);
    } finally {
      await rt.close();
    }
  });
});

describe('the copy/CDC races (DESIGN §2.5), with and without a version column', () => {
  /** Runs a copy whose first page of segment 0 triggers `race` between its read and its write. */
  async function race(name: string, versioned: boolean, stage: (src: string, rows: readonly Record<string, unknown>[]) => Promise<void>) {
    const base = cdcConfig(name, { pageSize: 100, segments: 1 });
    const config = versioned ? base : parseConfig({ ...base, tables: [{ ...base.tables[0]!, versionColumn: undefined }] });
    const src = `\`${config.source.database!}\`.order_info`;
    await seedOrders(suite.pool, config.source.database!, { orders: 300, itemsPerOrder: 0, seed: 5 });
    let staged = false;
    let rt: LocalRuntime;
    const hooks: CopyHooks = {
      afterRead: async (_t, _s, rows) => {
        if (staged || !rows.length) return;
        staged = true;
        await stage(src, rows);
        await rt.cdc!.drain(60_000); // CDC applies the change before the copy writes what it read
      },
    };
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, hooks, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      await rt.cdc!.drain(60_000);
      expect(staged).toBe(true);
      await expectConverged(config);
    } finally {
      await rt.close();
    }
  }

  for (const versioned of [true, false]) {
    const v = versioned ? 'with' : 'without';
    it(`a row updated after the copy read it (${v} version column)`, () =>
      race(`rupd${versioned ? 'v' : ''}`, versioned, async (src, rows) => {
        await suite.pool.query(`UPDATE ${src} SET remark = 'changed after the copy read me', status = 9 WHERE id = ?`, [rows[5]!.id]);
      }));

    it(`a row deleted after the copy read it (${v} version column)`, () =>
      race(`rdel${versioned ? 'v' : ''}`, versioned, async (src, rows) => {
        await suite.pool.query(`DELETE FROM ${src} WHERE id IN (?, ?)`, [rows[7]!.id, rows[8]!.id]);
      }));

    it(`a row inserted, updated and deleted during the copy (${v} version column)`, () =>
      race(`riud${versioned ? 'v' : ''}`, versioned, async (src, rows) => {
        const id = Number(rows[3]!.id) + 100_000;
        await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, '20261122000777', 1, 1.00, 'x', NOW(3), NOW(6))`, [id]);
        await suite.pool.query(`UPDATE ${src} SET amount = 2.00 WHERE id = ?`, [id]);
        await suite.pool.query(`DELETE FROM ${src} WHERE id = ?`, [id]);
        // …and one inserted then updated that stays
        await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, '20261122000778', 1, 1.00, 'y', NOW(3), NOW(6))`, [id + 1]);
        await suite.pool.query(`UPDATE ${src} SET amount = 3.00 WHERE id = ?`, [id + 1]);
      }));

    it(`the same key changed many times within one millisecond (${v} version column)`, () =>
      race(`rms${versioned ? 'v' : ''}`, versioned, async (src, rows) => {
        const id = rows[10]!.id;
        const conn = await suite.pool.getConnection();
        try {
          await conn.query('SET timestamp = 1782000000.123456'); // NOW(6) frozen: every update has the same update_time
          for (let i = 0; i < 20; i++) await conn.query(`UPDATE ${src} SET remark = ?, update_time = NOW(6) WHERE id = ?`, [`same instant #${i}`, id]);
        } finally {
          await conn.query('SET timestamp = DEFAULT');
          conn.release();
        }
      }));
  }
});

describe('verification while the source keeps changing', () => {
  it('reports no false differences: differences in flight are rechecked after CDC catches up', async () => {
    const config = cdcConfig('liveverify', { pageSize: 500 });
    const src = `\`${config.source.database!}\`.order_info`;
    await seedOrders(suite.pool, config.source.database!, { orders: 4000, itemsPerOrder: 0, seed: 61 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      await rt.cdc!.drain(60_000);
      let writing = true;
      const rand = rng(5);
      const writer = (async () => {
        let n = 0;
        while (writing) {
          const id = 1 + Math.floor(rand() * 4000);
          await suite.pool.query(`UPDATE ${src} SET remark = ?, update_time = NOW(6) WHERE id = ?`, [`live ${n++}`, id]);
          if (n % 10 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        return n;
      })();
      const { verifyTable } = await import('../../lambdas/app/verify.js');
      const result = await verifyTable(rt.ctx, 'order_info', { batchRows: 500, settle: () => rt.cdc!.catchUp(60_000) });
      writing = false;
      const writes = await writer;
      await rt.cdc!.drain(60_000);
      await expectConverged(config);
      expect(writes).toBeGreaterThan(100);
      expect(result).toMatchObject({ clean: true, missing: 0, different: 0, extra: 0, repaired: 0 });
    } finally {
      await rt.close();
    }
  });
});

describe('the time window with CDC', () => {
  it('applies changes inside the window only: an insert outside is left out, a row updated into it is inserted, a row updated out of it is deleted', async () => {
    const base = cdcConfig('window');
    const config = parseConfig({ ...base, tables: [{ ...base.tables[0]!, window: { from: '2026-07-01', to: '2026-08-01' } }] });
    const db = config.source.database!;
    const src = `\`${db}\`.order_info`;
    // June to September: about a third of the rows in July.
    await seedOrders(suite.pool, db, { orders: 900, itemsPerOrder: 0, seed: 17, start: new Date('2026-06-01T00:00:00Z'), days: 120 });
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      const [[inside]] = (await suite.pool.query(`SELECT MIN(id) AS id FROM ${src} WHERE create_time >= '2026-07-01' AND create_time < '2026-08-01'`)) as unknown as [[{ id: string }]];
      const [[outside]] = (await suite.pool.query(`SELECT MIN(id) AS id FROM ${src} WHERE create_time >= '2026-09-01'`)) as unknown as [[{ id: string }]];
      await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (5000001, '202605010005000001', 1, 1.00, 'May', '2026-05-01 10:00:00', NOW(6))`);
      await suite.pool.query(`INSERT INTO ${src} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (5000002, '202607150005000002', 1, 1.00, 'July', '2026-07-15 10:00:00', NOW(6))`);
      await suite.pool.query(`UPDATE ${src} SET create_time = '2026-07-20 08:00:00', update_time = NOW(6) WHERE id = ?`, [outside.id]);
      await suite.pool.query(`UPDATE ${src} SET create_time = '2026-10-02 08:00:00', update_time = NOW(6) WHERE id = ?`, [inside.id]);
      await rt.cdc!.drain(60_000);

      const targetIds = new Set<string>();
      for (let d = 0; d < config.target.databases; d++)
        for (let t = 0; t < 4; t++) {
          const [rows] = (await suite.pool.query(`SELECT id FROM \`${config.target.databasePattern.replace('{db}', String(d))}\`.order_info_${t}`)) as unknown as [{ id: string }[]];
          for (const r of rows) targetIds.add(String(r.id));
        }
      expect(targetIds.has('5000001')).toBe(false); // inserted outside the window
      expect(targetIds.has('5000002')).toBe(true); // inserted inside
      expect(targetIds.has(String(outside.id))).toBe(true); // updated into the window
      expect(targetIds.has(String(inside.id))).toBe(false); // updated out of it
      const [[inWindow]] = (await suite.pool.query(`SELECT COUNT(*) AS n FROM ${src} WHERE create_time >= '2026-07-01' AND create_time < '2026-08-01'`)) as unknown as [[{ n: string }]];
      expect(targetIds.size).toBe(Number(inWindow.n));
      await expectConverged(config);
    } finally {
      await rt.close();
    }
  });
});
