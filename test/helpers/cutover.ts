/** Cut-over test fixtures: a config with CDC and a `cutover` section, and a migration copied and verified under CDC. */
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import type { Suite } from './suite.js';

export function cutoverFixtures(suite: Suite, orders: number) {
  return {
    cutoverConfig(name: string, cutover: Record<string, unknown> = {}): MigrationConfig {
      const base = suite.config(name);
      return parseConfig({ ...base, cdc: { enabled: true, serverId: 60_000 + Math.floor(Math.random() * 100_000), applyConcurrency: 2 }, cutover });
    },
    /** Updates one row of `src` within 2 s of lock wait: it fails while writes are frozen. */
    async writeNow(src: string, id: number, remark: string): Promise<void> {
      const conn = await suite.pool.getConnection();
      try {
        await conn.query('SET SESSION lock_wait_timeout = 2');
        await conn.query(`UPDATE ${src} SET remark = ? WHERE id = ?`, [remark, id]);
      } finally {
        conn.release();
      }
    },
    /** Updates the source's orders in a loop until stopped; `count()` is how many went through. */
    liveWriter(src: string) {
      let writing = true;
      let writes = 0;
      const done = (async () => {
        for (let i = 0; writing; i++) {
          await suite.pool.query(`UPDATE ${src} SET remark = ?, update_time = NOW(6) WHERE id = ?`, [`live ${i}`, 1 + (i % orders)]);
          writes++;
        }
      })();
      return { count: () => writes, stop: async () => ((writing = false), await done) };
    },
    /** `orders` orders copied and verified with CDC on; `fn` runs while CDC keeps going (`src`: the source table, quoted). */
    async migrated(config: MigrationConfig, fn: (rt: LocalRuntime, src: string) => Promise<void>): Promise<void> {
      await seedOrders(suite.pool, config.source.database!, { orders, itemsPerOrder: 0, seed: 3 });
      const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 100 });
      try {
        rt.cdc!.start();
        await rt.execute().result;
        await rt.cdc!.drain(60_000);
        await fn(rt, `\`${config.source.database!}\`.order_info`);
      } finally {
        await rt.close();
      }
    },
  };
}
