/**
 * `npm run demo -- --from-sharded`: two private MariaDBs. The first holds `order_info` and
 * `order_item_detail` in 8 databases × 8 tables, placed by the original `last3-mod` rule; they are resharded
 * into 16 × 16 with `spread` on the second server, as a binding group, while a writer changes the old layout
 * (CDC). The summary shows checksums per logical table, then a verification pass.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mysql, { type Pool } from 'mysql2/promise';
import { parseConfig } from '../lambdas/core/config.js';
import { verifyTable } from '../lambdas/app/verify.js';
import { startMariaDb, type MariaDb } from './mariadb.js';
import { seedShardedOrders, type ShardedSeedLayout } from './seed.js';
import { ShardedWriter } from './sharded-writer.js';
import { LocalRuntime } from './runtime.js';
import { logChecks, runUnderWrites } from './demo.js';
import { checkAll } from './checksum.js';

export interface ShardedDemoOptions {
  readonly orders: number;
  /** The old layout's server; the new one listens on `port + 1`. */
  readonly port: number;
  readonly dir: string;
}

const OLD: ShardedSeedLayout = { databasePattern: 'demo_old_{db}', databases: 8, tablesPerDb: 8, placement: [0, 0, 0, 0, 0, 0, 0, 0], algorithm: 'last3-mod' };

export async function runShardedDemo(opts: ShardedDemoOptions): Promise<boolean> {
  const log = (l: string) => console.log(l);
  const servers: MariaDb[] = [];
  const pools: Pool[] = [];
  let runtime: LocalRuntime | undefined;
  try {
    for (const [i, name] of ['old', 'new'].entries()) {
      servers.push(await startMariaDb({ dir: join(opts.dir, `mariadb-${name}`), port: opts.port + i, log }));
      pools.push(mysql.createPool({ host: '127.0.0.1', port: opts.port + i, user: 'root', password: '', connectionLimit: 4 }));
    }
    const [oldPool, newPool] = pools as [Pool, Pool];
    for (let i = 0; i < 16; i++) {
      await oldPool.query(`DROP DATABASE IF EXISTS \`demo_old_${i}\``);
      await newPool.query(`DROP DATABASE IF EXISTS \`demo_new_${i}\``);
    }
    const t0 = Date.now();
    log(`generating ${opts.orders.toLocaleString('en-US')} orders and their items in demo_old_{0..7}.{order_info,order_item_detail}_{0..7} (last3-mod)…`);
    const seeded = await seedShardedOrders([oldPool], OLD, { orders: opts.orders, itemsPerOrder: 2.5, seed: 2026, staging: 'demo_staging' });
    log(`  ${seeded.orders.toLocaleString('en-US')} orders, ${seeded.items.toLocaleString('en-US')} items in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

    const conn = (port: number) => ({ host: '127.0.0.1', port, user: 'root', password: '' });
    const table = (name: string) => ({
      name,
      sourceTable: `${name}_{table}`,
      sourceTablesPerDb: 8,
      scrollKey: 'id',
      shardKeys: ['order_no', 'user_id'],
      versionColumn: 'update_time',
      timeColumn: 'create_time',
      targetTable: `${name}_{table}`,
      tablesPerDb: 16,
    });
    const config = parseConfig(
      {
        migrationId: 'demo-sharded',
        source: { ...conn(opts.port), databases: 8, databasePattern: 'demo_old_{db}', routing: { algorithm: 'last3-mod' } },
        target: { connection: conn(opts.port + 1), databases: 16, databasePattern: 'demo_new_{db}' },
        tables: [table('order_info'), table('order_item_detail')],
        bindings: [['order_info', 'order_item_detail']],
        routing: { algorithm: 'spread' },
        copy: { pageSize: 5000, segments: 2, concurrency: 4 },
        cdc: { enabled: true, serverId: 7102, applyConcurrency: 4 },
      },
      'sharded demo config',
    );
    const stateDir = join(opts.dir, 'state-sharded');
    rmSync(stateDir, { recursive: true, force: true });
    runtime = await LocalRuntime.start({ config, stateDir });
    const rt = runtime;
    log('resharding into demo_new_{0..15}.{order_info,order_item_detail}_{0..15} (spread) through the synthesized state machine…');
    const run = await runUnderWrites(rt, new ShardedWriter([oldPool], OLD, { seed: 7, idBase: 50_000_000, seeded: seeded.orders }), log, 'the old layout');
    let ok = run.ok;
    const seconds = run.seconds;
    const checks = await checkAll(config, rt.ctx.sources, rt.ctx.targets);
    logChecks(log, 'summary (checksums per logical table: every physical source table grouped by its new target in SQL)', checks);
    log(`  64 source tables per logical table → 256 target tables, in ${seconds.toFixed(1)}s`);
    ok &&= checks.every((c) => c.match);
    for (const t of config.tables) {
      const v = await verifyTable(rt.ctx, t.name, { settle: () => rt.cdc!.catchUp(5 * 60_000) });
      log(`  verify ${t.name}: ${v.clean ? 'CLEAN' : 'DIRTY'} — ${v.rowsCompared.toLocaleString('en-US')} rows in ${v.batches} batches`);
      ok &&= v.clean;
    }
    return ok;
  } finally {
    await runtime?.close();
    for (const p of pools) await p.end();
    for (const s of servers) await s.stop();
  }
}
