/**
 * Realistic generated source data: `order_info` and `order_item_detail` in one database, with NULLs,
 * unicode (CJK, emoji), decimals, JSON, BLOBs and times spread over several months. Deterministic per seed.
 */
import type { Pool } from 'mysql2/promise';
import { builtInPlacementSql, q } from '../lambdas/core/sql.js';

const ORDER_INFO_DDL = (db: string) => `CREATE TABLE IF NOT EXISTS ${q(db)}.order_info (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  order_no VARCHAR(32) NULL,
  user_id BIGINT NULL,
  status TINYINT NOT NULL DEFAULT 0,
  amount DECIMAL(12,2) NOT NULL,
  discount DECIMAL(10,4) NULL,
  buyer_name VARCHAR(64) NOT NULL,
  address VARCHAR(255) NULL,
  remark VARCHAR(255) NULL,
  attrs JSON NULL,
  create_time DATETIME(3) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_order_no (order_no),
  KEY idx_create_time (create_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const ORDER_ITEM_DDL = (db: string) => `CREATE TABLE IF NOT EXISTS ${q(db)}.order_item_detail (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  order_no VARCHAR(32) NULL,
  user_id BIGINT NULL,
  sku_id BIGINT NOT NULL,
  product_name VARCHAR(128) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  quantity INT NOT NULL,
  snapshot BLOB NULL,
  create_time DATETIME(3) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_order_no (order_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['张伟', '王芳', 'Łukasz', 'José', 'Zoë', '李娜 🚀', 'Ahmed', 'Søren', '山田太郎', 'O\'Brien', 'Chloé 👍', 'Иван'];
const PRODUCTS = ['牛肉面', 'Latte grande', 'Pizza Margherita 🍕', '寿司セット', 'Croissant', 'Bubble tea 🧋', 'Kimchi 김치', 'Falafel wrap'];
const CITIES = ['上海市浦东新区', 'Berlin Mitte', 'São Paulo', 'Tōkyō-to', 'Zürich', 'Kraków', 'Lagos', 'Austin, TX'];

function fmt(ms: number, frac: 3 | 6): string {
  const d = new Date(ms);
  const base = d.toISOString().slice(0, 19).replace('T', ' ');
  const micros = String(d.getUTCMilliseconds() * 1000 + Math.floor((ms % 1) * 1000)).padStart(6, '0');
  return `${base}.${micros.slice(0, frac)}`;
}

export interface SeedOptions {
  readonly orders: number;
  /** Average items per order (0 = no items). @default 2.5 */
  readonly itemsPerOrder?: number;
  readonly seed?: number;
  /** First order's time; orders spread over `days`. @default 2026-06-01 over 120 days */
  readonly start?: Date;
  readonly days?: number;
  /** Share of orders whose order_no is NULL (routed by user_id). @default 0.005 */
  readonly nullOrderNo?: number;
  readonly batch?: number;
  readonly onProgress?: (ordersDone: number) => void;
}

/** Creates the source schema (if missing) and inserts orders and their items in multi-row batches. */
export async function seedOrders(pool: Pool, database: string, opts: SeedOptions): Promise<{ orders: number; items: number }> {
  await pool.query(`CREATE DATABASE IF NOT EXISTS ${q(database)} CHARACTER SET utf8mb4`);
  await pool.query(ORDER_INFO_DDL(database));
  await pool.query(ORDER_ITEM_DDL(database));
  const rand = rng(opts.seed ?? 42);
  const start = (opts.start ?? new Date('2026-06-01T00:00:00Z')).getTime();
  const spanMs = (opts.days ?? 120) * 86_400_000;
  const batch = opts.batch ?? 2000;
  const itemsAvg = opts.itemsPerOrder ?? 2.5;
  const nullShare = opts.nullOrderNo ?? 0.005;
  let items = 0;
  for (let done = 0; done < opts.orders; ) {
    const n = Math.min(batch, opts.orders - done);
    const orders: unknown[][] = [];
    const lines: unknown[][] = [];
    for (let i = 0; i < n; i++) {
      const seq = done + i + 1;
      const created = start + Math.floor((seq / opts.orders) * spanMs) + Math.floor(rand() * 1000);
      const orderNo = rand() < nullShare ? null : `${new Date(created).toISOString().slice(0, 10).replaceAll('-', '')}${String(seq).padStart(10, '0')}`;
      const userId = 100_000 + Math.floor(rand() * 900_000);
      const amount = (rand() * 500).toFixed(2);
      const updated = created + Math.floor(rand() * 3_600_000) + rand();
      orders.push([
        orderNo,
        userId,
        Math.floor(rand() * 5),
        amount,
        rand() < 0.3 ? null : (rand() * 0.3).toFixed(4),
        NAMES[Math.floor(rand() * NAMES.length)]!,
        rand() < 0.1 ? null : `${CITIES[Math.floor(rand() * CITIES.length)]} ${Math.floor(rand() * 999)}号`,
        rand() < 0.5 ? null : rand() < 0.5 ? '' : '请尽快送达，谢谢！ please ring twice',
        rand() < 0.4 ? null : JSON.stringify({ channel: rand() < 0.5 ? 'app' : 'web', coupon: rand() < 0.2 ? 'NEW10' : null, tags: ['a', 'b'].slice(0, Math.floor(rand() * 3)) }),
        fmt(created, 3),
        fmt(updated, 6),
      ]);
      const k = itemsAvg > 0 ? Math.max(1, Math.round(rand() * itemsAvg * 2)) : 0;
      for (let j = 0; j < k; j++) {
        lines.push([
          orderNo,
          userId,
          1_000_000 + Math.floor(rand() * 50_000),
          PRODUCTS[Math.floor(rand() * PRODUCTS.length)]!,
          (rand() * 100).toFixed(2),
          1 + Math.floor(rand() * 4),
          rand() < 0.7 ? null : Buffer.from([Math.floor(rand() * 256), 0, 255, Math.floor(rand() * 256)]),
          fmt(created, 3),
          fmt(updated, 6),
        ]);
      }
    }
    await pool.query(
      `INSERT INTO ${q(database)}.order_info (order_no, user_id, status, amount, discount, buyer_name, address, remark, attrs, create_time, update_time) VALUES ?`,
      [orders],
    );
    if (lines.length)
      await pool.query(
        `INSERT INTO ${q(database)}.order_item_detail (order_no, user_id, sku_id, product_name, price, quantity, snapshot, create_time, update_time) VALUES ?`,
        [lines],
      );
    items += lines.length;
    done += n;
    opts.onProgress?.(done);
  }
  return { orders: opts.orders, items };
}

/** A sharded source layout to seed: `databases` databases × `tablesPerDb` tables of each seeded table, placed on servers. */
export interface ShardedSeedLayout {
  readonly databasePattern: string;
  readonly databases: number;
  readonly tablesPerDb: number;
  /** The server (index into the pools) of each database. */
  readonly placement: readonly number[];
  /** The rule that places each row (on order_no, else user_id). */
  readonly algorithm: 'spread' | 'last3-mod';
  /** Physical table name patterns. @default `order_info_{table}`, `order_item_detail_{table}` */
  readonly tables?: readonly { readonly from: 'order_info' | 'order_item_detail'; readonly pattern: string }[];
}

/**
 * Seeds `seedOrders` data into a sharded layout: the same generated rows (same seed, same ids) are staged
 * on every server, each server keeps the rows the rule places in its databases, and the staging database
 * is dropped. Returns the rows seeded per table.
 */
export async function seedShardedOrders(pools: readonly Pool[], layout: ShardedSeedLayout, opts: SeedOptions & { readonly staging: string }): Promise<{ orders: number; items: number }> {
  const tables = layout.tables ?? [
    { from: 'order_info', pattern: 'order_info_{table}' },
    { from: 'order_item_detail', pattern: 'order_item_detail_{table}' },
  ];
  let seeded = { orders: 0, items: 0 };
  for (let server = 0; server < pools.length; server++) {
    const dbs = layout.placement.map((p, db) => (p === server ? db : -1)).filter((db) => db >= 0);
    if (!dbs.length) continue;
    const pool = pools[server]!;
    seeded = await seedOrders(pool, opts.staging, opts);
    for (const t of tables) await spreadRows(pool, { database: opts.staging, table: t.from }, layout, t.pattern, dbs);
    await pool.query(`DROP DATABASE ${q(opts.staging)}`);
  }
  return seeded;
}

/**
 * Copies the rows of `from` into the physical tables (`pattern`, created like `from`) of the layout's
 * databases `dbs`, each table getting the rows the layout's rule places there (on order_no, else user_id).
 */
export async function spreadRows(
  pool: Pool,
  from: { readonly database: string; readonly table: string },
  layout: Pick<ShardedSeedLayout, 'databasePattern' | 'databases' | 'tablesPerDb' | 'algorithm'>,
  pattern: string,
  dbs: readonly number[],
): Promise<void> {
  const placement = builtInPlacementSql(['order_no', 'user_id'], layout.algorithm, { databases: layout.databases, tablesPerDb: layout.tablesPerDb });
  for (const db of dbs) {
    const database = layout.databasePattern.replaceAll('{db}', String(db));
    await pool.query(`CREATE DATABASE IF NOT EXISTS ${q(database)} CHARACTER SET utf8mb4`);
    for (let i = 0; i < layout.tablesPerDb; i++) {
      const name = pattern.replaceAll('{table}', String(i));
      await pool.query(`CREATE TABLE IF NOT EXISTS ${q(database)}.${q(name)} LIKE ${q(from.database)}.${q(from.table)}`);
      await pool.query(`INSERT INTO ${q(database)}.${q(name)} SELECT * FROM ${q(from.database)}.${q(from.table)} WHERE ${placement.routesTo(db * layout.tablesPerDb + i)}`);
    }
  }
}

/** A demo/test migration config for the seeded tables. */
export function ordersConfig(args: {
  migrationId: string;
  port: number;
  sourceDb: string;
  targetPrefix: string;
  databases?: number;
  tablesPerDb?: number;
  pageSize?: number;
  segments?: number;
  concurrency?: number;
  leaseSeconds?: number;
  algorithm?: 'spread' | 'last3-mod';
  items?: boolean;
}): Record<string, unknown> {
  const conn = { host: '127.0.0.1', port: args.port, user: 'root', password: '' };
  const m = args.tablesPerDb ?? 8;
  const tables: Record<string, unknown>[] = [
    { name: 'order_info', scrollKey: 'id', shardKeys: ['order_no', 'user_id'], versionColumn: 'update_time', timeColumn: 'create_time', targetTable: 'order_info_{table}', tablesPerDb: m },
  ];
  if (args.items ?? true)
    tables.push({ name: 'order_item_detail', scrollKey: 'id', shardKeys: ['order_no', 'user_id'], versionColumn: 'update_time', timeColumn: 'create_time', targetTable: 'order_item_detail_{table}', tablesPerDb: m });
  return {
    migrationId: args.migrationId,
    source: { ...conn, database: args.sourceDb },
    target: { connection: conn, databases: args.databases ?? 8, databasePattern: `${args.targetPrefix}_{db}` },
    tables,
    routing: { algorithm: args.algorithm ?? 'spread' },
    copy: {
      pageSize: args.pageSize ?? 5000,
      segments: args.segments ?? 8,
      concurrency: args.concurrency ?? 4,
      ...(args.leaseSeconds ? { leaseSeconds: args.leaseSeconds } : {}),
    },
  };
}
