/**
 * `npm run demo`: a private MariaDB with binlog, a generated single-db source (orders + items) changed by
 * a writer while it is copied, a full copy with CDC into 8 dbs × 8 tables through the synthesized state
 * machine, a checksum summary and a verification. With `keep`, the MariaDB stays up and the config the
 * demo ran with is written next to its state, so the other verbs can be tried on it.
 */
import { rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql, { type Pool, type PoolConnection } from 'mysql2/promise';
import { parseConfig } from '../lambdas/core/config.js';
import { startMariaDb } from './mariadb.js';
import { ordersConfig, rng, seedOrders } from './seed.js';
import { LocalRuntime } from './runtime.js';
import { startProgress } from './progress.js';
import { checkAll, type TableCheck } from './checksum.js';
import { verifyTable } from '../lambdas/app/verify.js';
import { sleep } from '../lambdas/core/time.js';

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

    const input = {
      ...ordersConfig({ migrationId: 'demo', port: opts.port, sourceDb: 'demo_src', targetPrefix: 'demo_order_db', databases: 8, tablesPerDb: 8, pageSize: 5000, segments: 8, concurrency: 4 }),
      cdc: { enabled: true, serverId: 7101, applyConcurrency: 4 },
    };
    const config = parseConfig(input, 'demo config');
    const { stateDir, configFile } = demoPaths(opts.dir);
    rmSync(stateDir, { recursive: true, force: true });
    runtime = await LocalRuntime.start({ config, stateDir });
    log('copying into demo_order_db_{0..7}.{order_info,order_item_detail}_{0..7} through the synthesized state machine…');
    const rt = runtime;
    const run = await runUnderWrites(rt, new DemoWriter(admin, 'demo_src', opts.orders), log, 'the source');
    let ok = run.ok;
    const seconds = run.seconds;
    const checks = await checkAll(config, runtime.ctx.source, runtime.ctx.targets);
    const totalRows = checks.reduce((a, c) => a + c.targetRows, 0);
    logChecks(log, 'summary', checks);
    const lag = await rt.cdc!.lag();
    log(`  copied and synced ${totalRows.toLocaleString('en-US')} rows in ${seconds.toFixed(1)}s (${Math.round(totalRows / seconds).toLocaleString('en-US')} rows/s); CDC captured ${lag.captured.toLocaleString('en-US')} events, backlog ${lag.backlog}, DLQ ${lag.dead}`);
    ok &&= checks.every((c) => c.match);
    for (const t of config.tables) {
      const v = await verifyTable(rt.ctx, t.name, { settle: () => rt.cdc!.catchUp(5 * 60_000) });
      log(`  verify ${t.name}: ${v.clean ? 'CLEAN' : 'DIRTY'} — ${v.rowsCompared.toLocaleString('en-US')} rows in ${v.batches} batches (${v.byChecksum.toLocaleString('en-US')} by checksum, ${v.byRows.toLocaleString('en-US')} row by row)`);
      ok &&= v.clean;
    }
    if (opts.keep) {
      await writeFile(configFile, `${JSON.stringify(input, null, 2)}\n`);
      for (const l of keptDemoNotes(opts.dir, opts.port)) log(l);
    }
    return ok;
  } finally {
    await runtime?.close();
    await admin.end();
    if (!opts.keep) await server.stop();
  }
}

/** What changes the source while a demo runs. */
export interface DemoWrites {
  readonly ops: number;
  start(): void;
  stop(): Promise<void>;
  summary(): string;
}

/**
 * Runs the migration through the synthesized state machine with CDC while `writer` changes `what`, then waits
 * until CDC has applied everything; `ok` is false (the error printed) when the run failed.
 */
export async function runUnderWrites(rt: LocalRuntime, writer: DemoWrites, log: (l: string) => void, what: string): Promise<{ ok: boolean; seconds: number }> {
  const started = Date.now();
  rt.cdc!.start();
  const progress = startProgress(rt.config, rt.store, { lag: () => rt.cdc!.lag() });
  let ok = true;
  try {
    writer.start();
    await rt.execute().result;
    await writer.stop();
    log(`copy done; the writer changed ${what} ${writer.ops.toLocaleString('en-US')} times meanwhile (${writer.summary()}); applying until CDC lag reaches 0…`);
    await rt.cdc!.drain(10 * 60_000);
  } catch (err) {
    ok = false;
    await writer.stop();
    console.error(`migration failed: ${(err as Error).message}`);
  } finally {
    await progress.stop();
  }
  return { ok, seconds: (Date.now() - started) / 1000 };
}

/** The checksum summary: rows on each side, target tables with rows, and whether every target table matched. */
export function logChecks(log: (l: string) => void, title: string, checks: readonly TableCheck[]): void {
  log(`\n${title}`);
  log(`  ${'table'.padEnd(20)} ${'source rows'.padStart(12)} ${'target rows'.padStart(12)}  targets  checksum`);
  for (const c of checks)
    log(`  ${c.table.padEnd(20)} ${c.sourceRows.toLocaleString('en-US').padStart(12)} ${c.targetRows.toLocaleString('en-US').padStart(12)}  ${String(c.targets.filter((t) => t.targetRows > 0).length).padStart(7)}  ${c.match ? 'MATCH' : 'MISMATCH'}`);
}

/** Where the demo keeps its state and, with `keep`, the config it ran with. */
export function demoPaths(dir: string): { readonly stateDir: string; readonly configFile: string } {
  return { stateDir: join(dir, 'state'), configFile: join(dir, 'config.json') };
}

/** What `keep` leaves behind and the commands to try next. */
export function keptDemoNotes(dir: string, port: number): string[] {
  const { stateDir, configFile } = demoPaths(dir);
  const args = `--config ${configFile} --state-dir ${stateDir}`;
  return [
    `\nMariaDB left running (datadir ${join(dir, 'mariadb')}, stop it with \`kill $(cat ${join(dir, 'mariadb', 'mariadbd.pid')})\`):`,
    `  source: mysql://root@127.0.0.1:${port}/demo_src`,
    `  target: mysql://root@127.0.0.1:${port}/demo_order_db_0 … demo_order_db_7`,
    `config written to ${configFile} (state in ${stateDir}); try:`,
    `  npx tsx bin/reshard.ts status ${args}`,
    `  npx tsx bin/reshard.ts verify ${args} --report ${join(dir, 'report.html')}`,
    `  npx tsx bin/reshard.ts plan --config ${configFile}`,
  ];
}

/** Changes the source while the copy runs: updates, deletes and new orders with items, in small transactions. */
export class DemoWriter implements DemoWrites {
  ops = 0;
  private counts = { insert: 0, update: 0, delete: 0 };
  private running = false;
  private loop?: Promise<void>;
  private nextId: number;
  constructor(
    private readonly pool: Pool,
    private readonly db: string,
    private readonly orders: number,
    private readonly seed = 7,
    /** Go on after a failed transaction (its session killed, the server restarting) instead of stopping. */
    private readonly tolerateErrors = false,
  ) {
    this.nextId = orders + 10_000_000;
  }
  start(): void {
    this.running = true;
    const rand = rng(this.seed);
    const t = (name: string) => `\`${this.db}\`.${name}`;
    this.loop = (async () => {
      while (this.running) {
        let conn: PoolConnection;
        try {
          conn = await this.pool.getConnection();
        } catch (err) {
          if (!this.tolerateErrors) throw err;
          await sleep(200);
          continue;
        }
        let broken = false;
        try {
          await conn.beginTransaction();
          for (let i = 0; i < 20; i++) {
            const id = 1 + Math.floor(rand() * this.orders);
            const r = rand();
            if (r < 0.6) {
              await conn.query(`UPDATE ${t('order_info')} SET status = status + 1, remark = ?, update_time = NOW(6) WHERE id = ?`, [`updated during the copy ✓`, id]);
              this.counts.update++;
            } else if (r < 0.75) {
              await conn.query(`DELETE FROM ${t('order_info')} WHERE id = ?`, [id]);
              await conn.query(`DELETE FROM ${t('order_item_detail')} WHERE id = ?`, [id]);
              this.counts.delete += 2;
            } else {
              const no = `20261122${String(this.nextId++).padStart(10, '0')}`;
              await conn.query(`INSERT INTO ${t('order_info')} (order_no, user_id, amount, buyer_name, create_time, update_time) VALUES (?, ?, 42.00, 'Nouveau client 🆕', NOW(3), NOW(6))`, [no, 100000 + i]);
              await conn.query(`INSERT INTO ${t('order_item_detail')} (order_no, user_id, sku_id, product_name, price, quantity, create_time, update_time) VALUES (?, ?, 1, '新商品', 42.00, 1, NOW(3), NOW(6))`, [no, 100000 + i]);
              this.counts.insert += 2;
            }
            this.ops++;
          }
          await conn.commit();
        } catch (err) {
          // A killed session or a restarting server (the chaos suite): the transaction is gone; go on.
          if (!this.tolerateErrors) throw err;
          broken = true;
        } finally {
          if (broken) conn.destroy();
          else conn.release();
        }
        await sleep(broken ? 200 : 20);
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
  summary(): string {
    return `${this.counts.insert} inserts, ${this.counts.update} updates, ${this.counts.delete} deletes`;
  }
}
