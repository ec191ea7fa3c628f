/**
 * Live writes on a sharded source (`seedShardedOrders`' layout) while it is resharded: on every server, small
 * transactions that insert an order with its items (both in the physical tables the rule places them in),
 * update orders and items, and delete an order with its items.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { q } from '../lambdas/core/sql.js';
import { sleep } from '../lambdas/core/time.js';
import { rng, type ShardedSeedLayout } from './seed.js';

/** A physical table pair (orders, items) and the last-3-digit values whose order numbers the rule places there. */
interface Slot {
  readonly orders: string;
  readonly items: string;
  readonly tails: readonly number[];
}

export class ShardedWriter {
  ops = 0;
  readonly counts = { insert: 0, update: 0, delete: 0 };
  /** Transactions a deadlock or lock wait timeout rolled back (not counted above), as an application retries them. */
  rolledBack = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly pools: readonly Pool[],
    private readonly layout: ShardedSeedLayout,
    private readonly opts: {
      readonly seed: number;
      /** First id of new orders (server s uses idBase + s × 10,000,000 on). */
      readonly idBase: number;
      /** The seeded ids go up to about this (updates and deletes pick rows from there). */
      readonly seeded: number;
      readonly pauseMs?: number;
    },
  ) {
    if (layout.algorithm !== 'last3-mod') throw new RangeError('the sharded writer places orders by last3-mod only');
  }

  /** The physical tables of server `server` that the rule can place an order in. */
  private slotsOf(server: number): Slot[] {
    const { databases: n, tablesPerDb: m } = this.layout;
    const slots: Slot[] = [];
    this.layout.placement.forEach((p, db) => {
      if (p !== server) return;
      for (let t = 0; t < m; t++) {
        const tails = Array.from({ length: 1000 }, (_, v) => v).filter((v) => v % n === db && v % m === t);
        if (!tails.length) continue;
        const database = q(this.layout.databasePattern.replaceAll('{db}', String(db)));
        slots.push({ orders: `${database}.${q(`order_info_${t}`)}`, items: `${database}.${q(`order_item_detail_${t}`)}`, tails });
      }
    });
    return slots;
  }

  start(): void {
    this.running = true;
    this.loops = this.pools.map((pool, server) => this.loop(pool, server));
  }

  private async loop(pool: Pool, server: number): Promise<void> {
    const slots = this.slotsOf(server);
    if (!slots.length) return;
    const rand = rng(this.opts.seed + server);
    let nextId = this.opts.idBase + server * 10_000_000;
    while (this.running) {
      const conn = await pool.getConnection();
      // Counted once the transaction commits.
      const done = { insert: 0, update: 0, delete: 0, ops: 0 };
      try {
        await conn.beginTransaction();
        for (let i = 0; i < 10; i++) {
          const slot = slots[Math.floor(rand() * slots.length)]!;
          const pivot = 1 + Math.floor(rand() * this.opts.seeded);
          const r = rand();
          if (r < 0.35) {
            // An order and its items, in one transaction, in the physical tables the rule places them in.
            const id = nextId++;
            const tail = slot.tails[Math.floor(rand() * slot.tails.length)]!;
            const no = `2026120${server}${String(id).padStart(8, '0').slice(-5)}${String(tail).padStart(3, '0')}`;
            const user = 100_000 + Math.floor(rand() * 900_000);
            await conn.query(`INSERT INTO ${slot.orders} (id, order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, ?, ?, 42.00, 'Nouveau client 🆕', NOW(3), NOW(6))`, [id, no, user]);
            const items = 1 + Math.floor(rand() * 2);
            for (let k = 0; k < items; k++)
              await conn.query(`INSERT INTO ${slot.items} (id, order_no, user_id, sku_id, product_name, price, quantity, create_time, update_time) VALUES (?, ?, ?, 1, '新商品', 42.00, 1, NOW(3), NOW(6))`, [
                id * 4 + k,
                no,
                user,
              ]);
            done.insert += 1 + items;
          } else if (r < 0.8) {
            await conn.query(`UPDATE ${slot.orders} SET status = status + 1, remark = ?, update_time = NOW(6) WHERE id >= ? ORDER BY id LIMIT 1`, ['updated during the reshard ✓', pivot]);
            await conn.query(`UPDATE ${slot.items} SET quantity = quantity + 1, update_time = NOW(6) WHERE id >= ? ORDER BY id LIMIT 1`, [pivot]);
            done.update += 2;
          } else {
            const [rows] = await conn.query<RowDataPacket[]>(`SELECT id, order_no, user_id FROM ${slot.orders} WHERE id >= ? ORDER BY id LIMIT 1`, [pivot]);
            const o = rows[0];
            if (o) {
              await conn.query(`DELETE FROM ${slot.items} WHERE order_no <=> ? AND user_id <=> ?`, [o.order_no, o.user_id]);
              await conn.query(`DELETE FROM ${slot.orders} WHERE id = ?`, [o.id]);
              done.delete++;
            }
          }
          done.ops++;
        }
        await conn.commit();
        this.counts.insert += done.insert;
        this.counts.update += done.update;
        this.counts.delete += done.delete;
        this.ops += done.ops;
      } catch (err) {
        // Apply writes the same rows meanwhile: a deadlock or lock wait rolls this transaction back, and the
        // loop goes on, as an application would retry.
        const code = (err as { code?: string }).code;
        if (code !== 'ER_LOCK_DEADLOCK' && code !== 'ER_LOCK_WAIT_TIMEOUT') throw err;
        await conn.rollback().catch(() => undefined);
        this.rolledBack++;
      } finally {
        conn.release();
      }
      await sleep(this.opts.pauseMs ?? 20);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  summary(): string {
    return `${this.counts.insert} inserts, ${this.counts.update} updates, ${this.counts.delete} deletes`;
  }
}
