/**
 * `npm run demo`: a private MariaDB with binlog, a generated single-db source (orders + items),
 * a full copy into 8 dbs × 8 tables through the synthesized state machine, and a checksum summary.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { parseConfig } from '../lambdas/core/config.js';
import { startMariaDb } from './mariadb.js';
import { ordersConfig, seedOrders } from './seed.js';
import { LocalRuntime } from './runtime.js';
import { startProgress } from './progress.js';
import { checkAll } from './checksum.js';

export interface DemoOptions {
  readonly orders: number;
  readonly port: number;
  readonly dir: string;
  readonly keep: boolean;
}

export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const log = (l: string) => console.log(l);
  const server = await startMariaDb({ dir: join(opts.dir, 'mariadb'), port: opts.port, detached: opts.keep, log });
  const admin = mysql.createPool({ host: '127.0.0.1', port: opts.port, user: 'root', password: '', connectionLimit: 4 });
  let runtime: LocalRuntime | undefined;
  try {
    for (const db of ['demo_src', ...Array.from({ length: 8 }, (_, i) => `demo_order_db_${i}`)]) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    const t0 = Date.now();
    log(`generating ${opts.orders.toLocaleString('en-US')} orders and their items in demo_src…`);
    const seeded = await seedOrders(admin, 'demo_src', { orders: opts.orders, itemsPerOrder: 2.5, seed: 2026 });
    log(`  ${seeded.orders.toLocaleString('en-US')} orders, ${seeded.items.toLocaleString('en-US')} items in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

    const config = parseConfig(
      ordersConfig({ migrationId: 'demo', port: opts.port, sourceDb: 'demo_src', targetPrefix: 'demo_order_db', databases: 8, tablesPerDb: 8, pageSize: 5000, segments: 8, concurrency: 4 }),
      'demo config',
    );
    const stateDir = join(opts.dir, 'state');
    rmSync(stateDir, { recursive: true, force: true });
    runtime = await LocalRuntime.start({ config, stateDir });
    log('copying into demo_order_db_{0..7}.{order_info,order_item_detail}_{0..7} through the synthesized state machine…');
    const started = Date.now();
    const progress = startProgress(config, runtime.store);
    let ok = true;
    try {
      await runtime.execute().result;
    } catch (err) {
      ok = false;
      console.error(`copy failed: ${(err as Error).message}`);
    } finally {
      await progress.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    const checks = await checkAll(config, runtime.ctx.source, runtime.ctx.targets);
    const totalRows = checks.reduce((a, c) => a + c.targetRows, 0);
    log('\nsummary');
    log(`  ${'table'.padEnd(20)} ${'source rows'.padStart(12)} ${'target rows'.padStart(12)}  targets  checksum`);
    for (const c of checks)
      log(`  ${c.table.padEnd(20)} ${c.sourceRows.toLocaleString('en-US').padStart(12)} ${c.targetRows.toLocaleString('en-US').padStart(12)}  ${String(c.targets.filter((t) => t.targetRows > 0).length).padStart(7)}  ${c.match ? 'MATCH' : 'MISMATCH'}`);
    log(`  copied ${totalRows.toLocaleString('en-US')} rows in ${seconds.toFixed(1)}s (${Math.round(totalRows / seconds).toLocaleString('en-US')} rows/s)`);
    ok &&= checks.every((c) => c.match);
    if (opts.keep) {
      log(`\nMariaDB left running (datadir ${join(opts.dir, 'mariadb')}):`);
      log(`  source: mysql://root@127.0.0.1:${opts.port}/demo_src`);
      log(`  target: mysql://root@127.0.0.1:${opts.port}/demo_order_db_0 … demo_order_db_7`);
    }
    return ok;
  } finally {
    await runtime?.close();
    await admin.end();
    if (!opts.keep) await server.stop();
  }
}
