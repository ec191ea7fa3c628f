/**
 * Many-to-many: a sharded source (8 databases × 8 tables per logical table, placed by last3-mod, on two
 * servers) resharded into 16 × 16 with spread on two target servers, killed mid-copy and run again; and the
 * plan's refusals of a source layout it cannot copy safely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders, seedShardedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { plan } from '../../lambdas/app/plan.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { ConfigError, SchemaError } from '../../lambdas/core/errors.js';
import { DoomedProcess, severConnections } from '../helpers/crash.js';
import { dropPrefixed, mysqlPort, ownMariaDb, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';
import { startDynamo, startQueues, type LocalDynamo } from '../../local/emulators.js';
import { ShardedWriter } from '../../local/sharded-writer.js';
import { sleep } from '../../lambdas/core/time.js';

// Server A is the shared test server, server B one of this file's own.
const { port: portB, dir, pool: serverB } = ownMariaDb('m2m', 1002, { pool: rootPool });
let poolA: Pool;
let poolB: Pool;
let dynamo: LocalDynamo;
const prefixes: string[] = [];

const conn = (port: number) => ({ host: '127.0.0.1', port, user: 'root', password: '', poolSize: 4 });

beforeAll(async () => {
  poolA = rootPool();
  poolB = serverB();
  dynamo = await startDynamo();
});
afterAll(async () => {
  await dynamo?.close();
  for (const p of prefixes) await dropPrefixed(poolA, p);
  await poolA?.end();
});

/** A config resharding `<prefix>_s_{db}` (dbs × tables, last3-mod) into `<prefix>_t_{db}` (spread). */
function reshardConfig(
  prefix: string,
  o: { dbs: number; tables: number; placement: number[]; targetDbs: number; targetTables: number; targetOn: (db: number) => number; items?: boolean; extra?: Record<string, unknown> },
): MigrationConfig {
  const ports = [mysqlPort(), portB];
  const table = (name: string) => ({
    name,
    sourceTable: `${name}_{table}`,
    sourceTablesPerDb: o.tables,
    scrollKey: 'id',
    shardKeys: ['order_no', 'user_id'],
    versionColumn: 'update_time',
    timeColumn: 'create_time',
    targetTable: `${name}_{table}`,
    tablesPerDb: o.targetTables,
  });
  return parseConfig({
    migrationId: prefix.replaceAll('_', '-'),
    source: { connections: ports.map(conn), databases: o.dbs, databasePattern: `${prefix}_s_{db}`, placement: o.placement, routing: { algorithm: 'last3-mod' } },
    target: {
      databases: o.targetDbs,
      databasePattern: `${prefix}_t_{db}`,
      connections: Array.from({ length: o.targetDbs }, (_, db) => conn(ports[o.targetOn(db)]!)),
    },
    tables: (o.items ?? true) ? [table('order_info'), table('order_item_detail')] : [table('order_info')],
    routing: { algorithm: 'spread' },
    copy: { pageSize: 200, segments: 2, concurrency: 4, leaseSeconds: 10 },
    verify: { batchRows: 5000 },
    ...o.extra,
  });
}

describe('8 × 8 on two servers into 16 × 16 on two servers', () => {
  it('copies both tables under live writes on both servers with CDC, survives a kill mid-copy, verifies CLEAN, and keeps every order with its items', async () => {
    const prefix = uniquePrefix('m2m');
    prefixes.push(prefix);
    const placement = [0, 0, 0, 0, 1, 1, 1, 1];
    const layout = { databasePattern: `${prefix}_s_{db}`, databases: 8, tablesPerDb: 8, placement, algorithm: 'last3-mod' as const };
    const config = reshardConfig(prefix, {
      dbs: 8,
      tables: 8,
      placement,
      targetDbs: 16,
      targetTables: 16,
      targetOn: (db) => (db < 8 ? 0 : 1),
      extra: { cdc: { enabled: true, serverId: 40_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 4 } },
    });
    const seeded = await seedShardedOrders([poolA, poolB], layout, { orders: 6000, itemsPerOrder: 1.5, seed: 14, staging: `${prefix}_staging` });
    const queues = await startQueues({ maxReceiveCount: config.cdc.maxReceiveCount });
    const writer = new ShardedWriter([poolA, poolB], layout, { seed: 5, idBase: 50_000_000, seeded: seeded.orders, pauseMs: 50 });
    writer.start();
    let first: LocalRuntime | undefined;
    let rt: LocalRuntime | undefined;
    try {
      // The first run dies after 20 committed pages (its capture and apply stop with it); the second resumes.
      const doomed = new DoomedProcess('afterCommit', 20);
      first = await LocalRuntime.start({ config, dynamo, queues, hooks: doomed.hooks, onDocumentClient: doomed.onDocumentClient, retryIntervalMs: 100 });
      first.cdc!.start();
      const exec = first.execute();
      doomed.abort = exec.abort;
      await exec.result.catch(() => undefined);
      expect(doomed.dead).toBe(true);
      // Its capture and apply die with it: whatever they were doing hangs forever, as after a kill.
      void first.cdc!.stop();
      void first.cdc!.poller.stop();
      severConnections([...first.ctx.sources, ...first.ctx.targets]);
      first = undefined;
      // Its segment leases expire (this process cannot tell that the runtime it holds is dead, as `run` can).
      await sleep(config.copy.leaseSeconds * 1000 + 500);

      rt = await LocalRuntime.start({ config, dynamo, queues, retryIntervalMs: 100 });
      rt.cdc!.start();
      const planned = await plan(rt.ctx);
      // Every physical table has its own segments, and each Map item names its table.
      expect(planned.tables[0]!.segments.length).toBeGreaterThanOrEqual(64);
      expect(planned.tables[0]!.skew).toHaveLength(256);
      expect(planned.segments.every((x) => /_s_\d\.order_(info|item_detail)_\d$/.test(x.source ?? ''))).toBe(true);
      await rt.execute().result;
      await writer.stop();
      expect(writer.counts.insert).toBeGreaterThan(0);
      expect(writer.counts.delete).toBeGreaterThan(0);
      const lag = await rt.cdc!.drain(180_000);
      expect(lag).toMatchObject({ backlog: 0, dead: 0, caughtUp: true });
      // One capture per source server, each with its own checkpoint and lag.
      expect(lag.servers?.map((x) => x.name)).toEqual([`127.0.0.1:${mysqlPort()}`, `127.0.0.1:${portB}`]);
      for (const server of [0, 1]) expect((await rt.store.getCapture(config.migrationId, server))?.events).toBeGreaterThan(0);

      // The run's verification (under the live writes, settling on CDC) found every range CLEAN.
      const view = await migrationStatus(config, rt.store);
      expect(view.status).toBe('DONE');
      for (const t of view.tables) {
        expect(t.dirtyRows, t.table).toBe(0);
        expect(t.segments.every((x) => x.verifyStatus === 'CLEAN'), t.table).toBe(true);
      }

      // Independent of the project's routing code: per target table, count and checksums computed in SQL.
      const checks = await checkAll(config, [poolA, poolB], rt.ctx.targets);
      for (const c of checks) {
        expect(c.sourceRows, c.table).toBeGreaterThan(0);
        expect(c.targetRows, c.table).toBe(c.sourceRows);
        expect(c.targets.filter((t) => !t.match), c.table).toEqual([]);
      }

      // Every item sits in the target database and table index of its order.
      let orphans = 0;
      for (let db = 0; db < 16; db++) {
        const pool = db < 8 ? poolA : poolB;
        for (let t = 0; t < 16; t++) {
          const d = `\`${prefix}_t_${db}\``;
          const [[r]] = (await pool.query<RowDataPacket[]>(
            `SELECT COUNT(*) AS n FROM ${d}.order_item_detail_${t} i LEFT JOIN ${d}.order_info_${t} o ON o.order_no <=> i.order_no AND o.user_id <=> i.user_id WHERE o.id IS NULL`,
          )) as unknown as [RowDataPacket[]];
          orphans += Number(r!.n);
        }
      }
      expect(orphans).toBe(0);
    } finally {
      await writer.stop();
      await rt?.close();
      await first?.close();
      await queues.close();
    }
  }, 300_000);
});

describe('reverse replication between two sharded layouts', () => {
  it('carries live writes on the new layout (3 × 2 on two servers) back to the old one (2 × 2 on two servers) by its rule, then rolls back', async () => {
    const prefix = uniquePrefix('m2m_rev');
    prefixes.push(prefix);
    const placement = [0, 1];
    const seeded = await seedShardedOrders([poolA, poolB], { databasePattern: `${prefix}_s_{db}`, databases: 2, tablesPerDb: 2, placement, algorithm: 'last3-mod' }, {
      orders: 600,
      itemsPerOrder: 1.5,
      seed: 21,
      staging: `${prefix}_staging`,
    });
    const config = reshardConfig(prefix, {
      dbs: 2,
      tables: 2,
      placement,
      targetDbs: 3,
      targetTables: 2,
      targetOn: (db) => db % 2,
      extra: {
        routing: { algorithm: 'last3-mod' },
        cdc: { enabled: true, serverId: 40_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 4 },
        cutover: { reverse: true },
      },
    });
    const queues = await startQueues({ maxReceiveCount: config.cdc.maxReceiveCount });
    const rt = await LocalRuntime.start({ config, dynamo, queues, retryIntervalMs: 100 });
    // The application, once switched, writes to the new layout: orders with their items, updates, deletes.
    const writer = new ShardedWriter([poolA, poolB], { databasePattern: `${prefix}_t_{db}`, databases: 3, tablesPerDb: 2, placement: [0, 1, 0], algorithm: 'last3-mod' }, { seed: 9, idBase: 70_000_000, seeded: seeded.orders, pauseMs: 20 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      await rt.cdc!.drain(120_000);
      await rt.executeCutover().result;
      const switched = await rt.store.getCutover(config.migrationId);
      // One reverse capture per target server: databases 0 and 2 share server A.
      expect(switched?.reverseFrom?.map((p) => p.server)).toEqual([0, 1]);
      writer.start();
      await sleep(2000);
      await writer.stop();
      expect(writer.counts.insert).toBeGreaterThan(0);
      expect(writer.counts.delete).toBeGreaterThan(0);
      await rt.cdc!.drain(120_000, true);
      // The old layout equals the new one again, each row in the old table its rule places it in.
      for (const c of await checkAll(config, [poolA, poolB], rt.ctx.targets)) {
        expect(c.targetRows, c.table).toBe(c.sourceRows);
        expect(c.targets.filter((t) => !t.match), c.table).toEqual([]);
      }
      const view = await migrationStatus(config, rt.store);
      expect(view.reverse?.servers.reduce((a, x) => a + x.events, 0)).toBeGreaterThan(0);

      await rt.executeCutover({ migrationId: `${config.migrationId}.reverse` }).result;
      expect((await migrationStatus(config, rt.store)).reverse?.rollback).toMatchObject({ status: 'DONE' });
      expect(await rt.store.getCutover(config.migrationId)).toMatchObject({ status: 'ROLLED_BACK' });
    } finally {
      await writer.stop();
      await rt.close();
      await queues.close();
    }
  }, 300_000);
});

describe('plan refuses a source layout it cannot copy safely', () => {
  /** A 2 × 2 source of order_info on server A (0) and B (1), targets 2 × 2 on server A. */
  async function small(name: string, extra: Record<string, unknown> = {}): Promise<{ config: MigrationConfig; prefix: string }> {
    const prefix = uniquePrefix(name);
    prefixes.push(prefix);
    const placement = [0, 1];
    await seedShardedOrders([poolA, poolB], { databasePattern: `${prefix}_s_{db}`, databases: 2, tablesPerDb: 2, placement, algorithm: 'last3-mod', tables: [{ from: 'order_info', pattern: 'order_info_{table}' }] }, {
      orders: 400,
      itemsPerOrder: 0,
      seed: 3,
      staging: `${prefix}_staging`,
    });
    const config = reshardConfig(prefix, { dbs: 2, tables: 2, placement, targetDbs: 2, targetTables: 2, targetOn: () => 0, items: false, extra });
    return { config, prefix };
  }

  const planError = async (config: MigrationConfig): Promise<Error> => {
    const rt = await LocalRuntime.start({ config, dynamo });
    try {
      return (await plan(rt.ctx).then(
        () => new Error('plan accepted it'),
        (e: unknown) => e,
      )) as Error;
    } finally {
      await rt.close();
    }
  };

  it('a physical source table that is missing, naming it', async () => {
    const { config, prefix } = await small('missing');
    await poolB.query(`DROP TABLE \`${prefix}_s_1\`.order_info_1`);
    const err = await planError(config);
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(`physical source table(s) missing: ${prefix}_s_1.order_info_1`);
  });

  it('physical source tables whose columns differ, naming both', async () => {
    const { config, prefix } = await small('columns');
    await poolB.query(`ALTER TABLE \`${prefix}_s_1\`.order_info_0 ADD COLUMN note VARCHAR(10) NULL`);
    const err = await planError(config);
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(`the columns of ${prefix}_s_1.order_info_0 differ from those of ${prefix}_s_0.order_info_0`);
    expect(err.message).toContain('note varchar(10)');
  });

  it('a record key present in two physical source tables, naming the key and both tables', async () => {
    const { config, prefix } = await small('shared');
    // last3-mod over 2 × 2 fills s_0.order_info_0 and s_1.order_info_1. A row of the one is copied into the
    // other under the same id, with a shard key that belongs there.
    const [[row]] = (await poolA.query<RowDataPacket[]>(`SELECT id FROM \`${prefix}_s_0\`.order_info_0 ORDER BY id LIMIT 1`)) as unknown as [RowDataPacket[]];
    const id = String(row!.id);
    const [[donor]] = (await poolB.query<RowDataPacket[]>(`SELECT * FROM \`${prefix}_s_1\`.order_info_1 ORDER BY id LIMIT 1`)) as unknown as [RowDataPacket[]];
    await poolB.query(`INSERT INTO \`${prefix}_s_1\`.order_info_1 SELECT ?, order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time FROM \`${prefix}_s_1\`.order_info_1 WHERE id = ?`, [
      id,
      String(donor!.id),
    ]);
    const err = await planError(config);
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(`id=${id} is in ${prefix}_s_0.order_info_0 and ${prefix}_s_1.order_info_1`);
  });

  it('a composite record key present in two physical source tables, naming the key and both tables', async () => {
    const { config: base, prefix } = await small('sharedpair');
    const config = parseConfig({ ...base, tables: [{ ...base.tables[0]!, scrollKey: ['id', 'user_id'] }] });
    for (const [pool, db, t] of [[poolA, `${prefix}_s_0`, 0], [poolA, `${prefix}_s_0`, 1], [poolB, `${prefix}_s_1`, 0], [poolB, `${prefix}_s_1`, 1]] as const)
      await pool.query(`ALTER TABLE \`${db}\`.order_info_${t} MODIFY user_id BIGINT NOT NULL, ADD INDEX ix_id_user (id, user_id)`);
    // The same (id, user_id) in a second table, with an order number that belongs there.
    const [[row]] = (await poolA.query<RowDataPacket[]>(`SELECT id, user_id FROM \`${prefix}_s_0\`.order_info_0 ORDER BY id LIMIT 1`)) as unknown as [RowDataPacket[]];
    const [[donor]] = (await poolB.query<RowDataPacket[]>(`SELECT id FROM \`${prefix}_s_1\`.order_info_1 ORDER BY id LIMIT 1`)) as unknown as [RowDataPacket[]];
    await poolB.query(
      `INSERT INTO \`${prefix}_s_1\`.order_info_1 SELECT ?, order_no, ?, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time FROM \`${prefix}_s_1\`.order_info_1 WHERE id = ?`,
      [String(row!.id), String(row!.user_id), String(donor!.id)],
    );
    const err = await planError(config);
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(`(id, user_id)=(${String(row!.id)}, ${String(row!.user_id)}) is in ${prefix}_s_0.order_info_0 and ${prefix}_s_1.order_info_1`);
  });

  it('a target layout that overlaps the source layout', async () => {
    const prefix = uniquePrefix('overlap');
    const config = parseConfig({
      ...reshardConfig(prefix, { dbs: 2, tables: 2, placement: [0, 1], targetDbs: 2, targetTables: 2, targetOn: () => 0, items: false }),
      target: { connection: conn(mysqlPort()), databases: 2, databasePattern: `${prefix}_s_{db}` },
    });
    const err = await planError(config);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('overlaps the source layout');
    expect((err as ConfigError).issues).toContain(`order_info: 127.0.0.1:${mysqlPort()} ${prefix}_s_0.order_info_0`);
    // The same names on another server do not overlap.
    expect((err as ConfigError).issues.some((i) => i.includes(`${prefix}_s_1.`))).toBe(false);
  });

  it('a routing rule that sends rows outside the target layout', async () => {
    const { config } = await small('outside');
    const module = join(dir, 'outside.mjs');
    writeFileSync(module, 'export function route(key, layout) { return { db: layout.databases, table: 0 }; }\n');
    const err = await planError(parseConfig({ ...config, routing: { algorithm: 'custom', module } }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('rows outside the target layout (2 databases × 2 tables)');
  });

  it('a source row that is not where source.routing places it', async () => {
    const { config } = await small('misplaced');
    const err = await planError(parseConfig({ ...config, source: { ...config.source, routing: { algorithm: 'spread' } } }));
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain('source rows are not where source.routing (spread) places them');
  });

  it('copies an empty physical source table like any other', async () => {
    const { config, prefix } = await small('empty');
    await poolB.query(`DELETE FROM \`${prefix}_s_1\`.order_info_0`);
    const rt = await LocalRuntime.start({ config, dynamo, retryIntervalMs: 100 });
    try {
      await rt.execute().result;
      const view = await migrationStatus(config, rt.store);
      expect(view.tables[0]!.complete).toBe(true);
      const [check] = await checkAll(config, [poolA, poolB], rt.ctx.targets);
      expect(check!.match).toBe(true);
      expect(check!.sourceRows).toBeGreaterThan(0);
    } finally {
      await rt.close();
    }
  });
});

describe('a binding group with CDC', () => {
  it('applies an order before its items, as the source transaction wrote them, in one FIFO group', async () => {
    const prefix = uniquePrefix('bind');
    prefixes.push(prefix);
    const base = testConfig(prefix, { databases: 2, tablesPerDb: 2, pageSize: 500, segments: 1 });
    const config = parseConfig({ ...base, bindings: [['order_info', 'order_item_detail']], cdc: { enabled: true, serverId: 50_000 + Math.floor(Math.random() * 100_000) } });
    await seedOrders(poolA, config.source.database!, { orders: 200, itemsPerOrder: 1, seed: 8 });
    const rt = await LocalRuntime.start({ config, dynamo, retryIntervalMs: 100 });
    try {
      rt.cdc!.start();
      await rt.execute().result;
      // Every upsert apply writes, in the order they end: which table and which order numbers. Orders are
      // written slowly, so an item written at the same time as its order would end first.
      const written: { table: string; orders: string[] }[] = [];
      const upsert = rt.ctx.writer.applyUpsert.bind(rt.ctx.writer);
      rt.ctx.writer.applyUpsert = async (args) => {
        const table = args.target.tableName.replace(/_\d+$/, '');
        if (table === 'order_info') await sleep(40);
        const done = await upsert(args);
        const at = args.columns.indexOf('order_no');
        written.push({ table, orders: args.rows.map((r) => String(r[at])) });
        return done;
      };
      const src = `\`${config.source.database!}\``;
      for (let i = 0; i < 30; i++) {
        const conn = await poolA.getConnection();
        try {
          const no = `20261206${String(900_000 + i).padStart(10, '0')}`;
          await conn.beginTransaction();
          await conn.query(`INSERT INTO ${src}.order_info (order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, 7, 1.00, 'bound', NOW(3), NOW(6))`, [no]);
          for (let k = 0; k < 2; k++)
            await conn.query(`INSERT INTO ${src}.order_item_detail (order_no, user_id, sku_id, product_name, price, quantity, create_time, update_time) VALUES (?, 7, ?, 'item', 1.00, 1, NOW(3), NOW(6))`, [no, k]);
          await conn.commit();
        } finally {
          conn.release();
        }
      }
      await rt.cdc!.drain(60_000);
      const firstWrite = (table: string, no: string) => written.findIndex((w) => w.table === table && w.orders.includes(no));
      for (let i = 0; i < 30; i++) {
        const no = `20261206${String(900_000 + i).padStart(10, '0')}`;
        const order = firstWrite('order_info', no);
        const item = firstWrite('order_item_detail', no);
        expect(order, no).toBeGreaterThanOrEqual(0);
        expect(item, no).toBeGreaterThan(order);
      }
      const checks = await checkAll(config, poolA, rt.ctx.targets);
      for (const c of checks) expect(c.match, c.table).toBe(true);
    } finally {
      await rt.close();
    }
  });
});
