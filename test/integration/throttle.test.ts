/**
 * The copy's throttle on the real MariaDB: sessions sleeping in `SELECT SLEEP(…)` count in `Threads_running`,
 * which keeps the copy paused above `throttle.maxThreadsRunning` (status THROTTLED, with the metric); a copy-batch
 * call paused for its whole budget returns with its lease given back; once the sessions end, the copy resumes
 * and completes, and the targets equal the source. With CDC, a capture behind the source pauses the copy
 * until it catches up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { plan } from '../../lambdas/app/plan.js';
import { copySegment } from '../../lambdas/app/copy-segment.js';
import { migrationStatus, type MigrationView } from '../../lambdas/app/status.js';
import { sleep } from '../../lambdas/core/time.js';
import { integrationSuite } from '../helpers/suite.js';
import { mysqlPort, ownMariaDb } from '../helpers/db.js';

const suite = integrationSuite();
const SLEEPERS = 12;

/** `Threads_running` now. */
async function threadsRunning(): Promise<number> {
  const [rows] = await suite.pool.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Threads_running'");
  return Number(rows[0]!.Value);
}

/** Sessions each running `SELECT SLEEP(600)` until `stop()` kills their queries. */
async function startLoad(): Promise<{ stop(): Promise<void> }> {
  const conns: Connection[] = await Promise.all(Array.from({ length: SLEEPERS }, () => mysql.createConnection({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '' })));
  const running = conns.map((c) => c.query('SELECT SLEEP(600)').catch(() => undefined));
  while ((await threadsRunning()) < SLEEPERS) await sleep(50);
  return {
    async stop() {
      for (const c of conns) await suite.pool.query('KILL QUERY ?', [c.threadId]);
      await Promise.all(running);
      await Promise.all(conns.map((c) => c.end()));
    },
  };
}

/** The first status `pred` holds for; fails naming the last status seen if none does within `timeoutMs`. */
async function untilStatus(rt: LocalRuntime, pred: (v: MigrationView) => boolean, timeoutMs = 60_000): Promise<MigrationView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await migrationStatus(rt.config, rt.store);
    if (pred(view)) return view;
    if (Date.now() > deadline) throw new Error(`status never reached the expected state; last: ${JSON.stringify(view.tables)}`);
    await sleep(100);
  }
}

describe('copy throttle', () => {
  const base = suite.config('throttle', { pageSize: 500, segments: 2, concurrency: 2, items: false });
  // At most two segments × (one write + the next page's read) run at once besides the reading itself: the
  // copy alone stays at or under 5.
  const config = { ...base, copy: { ...base.copy, writeConcurrency: 1 }, throttle: { ...base.throttle, maxThreadsRunning: 5, checkIntervalMs: 200 } };
  let rt: LocalRuntime;
  let load: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    await seedOrders(suite.pool, config.source.database!, { orders: 6000, itemsPerOrder: 0, seed: 11 });
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
  });
  afterAll(async () => {
    await load?.stop();
    await rt?.close();
  });

  it('pauses while Threads_running is above the limit, then resumes and completes', async () => {
    await plan(rt.ctx);
    load = await startLoad();

    // A call throttled for its whole budget returns, its checkpoint unmoved and its lease given back.
    const first = await copySegment(rt.ctx, { table: 'order_info', segment: 0, budgetMs: 1500 }, 'throttle-test');
    expect(first).toMatchObject({ done: false, pages: 0, rows: 0 });
    const held = await rt.store.getSegment(config.migrationId, 'order_info', 0);
    expect(held?.leaseOwner).toBeUndefined();
    expect(held?.throttled).toMatchObject({ metric: 'Threads_running', limit: 5, where: 'source' });

    // The state machine's copy stays paused while the load runs: status says why.
    const execution = rt.execute();
    const paused = await untilStatus(rt, (v) => v.tables[0]!.throttled?.segments.length === 2);
    const table = paused.tables[0]!;
    expect(paused.status).toBe('THROTTLED');
    expect(table.status).toBe('THROTTLED');
    expect(table.throttled).toMatchObject({ metric: 'Threads_running', limit: 5, where: 'source' });
    expect(table.throttled!.value).toBeGreaterThan(5);
    expect(table.throttled!.reason).toMatch(/^Threads_running \d+ > 5 on source$/);
    expect(table.segments.map((s) => s.throttled)).toEqual([expect.stringMatching(/^Threads_running/), expect.stringMatching(/^Threads_running/)]);
    expect(table.rowsCopied).toBe(0);

    await load.stop();
    load = undefined;
    const result = (await execution.result) as { tables: { table: string; status: string }[] };
    expect(result.tables).toEqual([expect.objectContaining({ table: 'order_info', status: 'DONE' })]);

    const done = await migrationStatus(config, rt.store);
    expect(done.tables[0]).toMatchObject({ status: 'DONE', rowsCopied: 6000 });
    expect(done.tables[0]!.throttled).toBeUndefined();
    expect((await rt.store.segments(config.migrationId)).map((s) => s.throttled)).toEqual([undefined, undefined]);
    const [check] = await checkAll(config, suite.pool, [suite.pool]);
    expect(check!.targets.filter((t) => !t.match)).toEqual([]);
    expect(check!.targetRows).toBe(check!.sourceRows);
    expect(check!.sourceRows).toBe(6000);
  });
});

// On a MariaDB of its own: with a lag limit of 1 s, other test files writing to a shared server keep its
// binlog moving, so capture is never caught up for long and the copy can stay paused past the test's timeout.
describe('copy throttle with CDC', () => {
  const { port, pool: own } = ownMariaDb('throttle-cdc', 1005);
  const base = suite.config('throttlecdc', { port, pageSize: 500, segments: 2, concurrency: 2, items: false });
  const config = { ...base, cdc: { ...base.cdc, enabled: true, serverId: 7371 }, throttle: { ...base.throttle, maxCdcLagSeconds: 1, checkIntervalMs: 200 } };
  let pool: Pool;
  let rt: LocalRuntime;

  beforeAll(async () => {
    pool = own();
    await seedOrders(pool, config.source.database!, { orders: 3000, itemsPerOrder: 0, seed: 12 });
    rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
  }, 180_000);
  afterAll(async () => {
    await rt?.close();
  });

  it('yields while capture is behind the source, and goes on once it caught up', async () => {
    await plan(rt.ctx);
    const cdc = rt.cdc!;
    cdc.start();
    while ((await rt.store.getCapture(config.migrationId, 0))?.caughtUpAt === undefined) await sleep(100);
    await cdc.stop();
    // Capture stopped, the source moves on: capture's checkpoint is behind it.
    await pool.query(`UPDATE \`${config.source.database!}\`.order_info SET update_time = NOW(6) WHERE id <= 20`);
    // Lag counts from capture's last event or catch-up: once it is past the 1 s limit, the copy is throttled at
    // its first check, however fast it would copy the table.
    const held = (await rt.store.getCapture(config.migrationId, 0))!;
    const since = Math.max(held.lastEventAt ?? 0, held.caughtUpAt ?? 0);
    while (Date.now() - since < 1500) await sleep(100);

    const execution = rt.execute();
    const paused = await untilStatus(rt, (v) => v.tables[0]!.throttled !== undefined);
    expect(paused.tables[0]!.status).toBe('THROTTLED');
    expect(paused.tables[0]!.throttled).toMatchObject({ metric: 'CDC lag', limit: 1, where: 'source' });
    expect(paused.tables[0]!.throttled!.reason).toMatch(/^CDC lag [\d.]+ s > 1 s on source$/);

    cdc.start();
    const result = (await execution.result) as { tables: { table: string; status: string }[] };
    expect(result.tables).toEqual([expect.objectContaining({ table: 'order_info', status: 'DONE' })]);
    await cdc.drain(60_000);
    const [check] = await checkAll(config, pool, [pool]);
    expect(check!.targets.filter((t) => !t.match)).toEqual([]);
    expect(check!.targetRows).toBe(check!.sourceRows);
  });
});
