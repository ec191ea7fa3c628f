/**
 * `npm run bench:cutover`: how long writes stay frozen in a cut-over while the source takes ~1,000 writes/s.
 * 200,000 orders are copied into 8 × 8 tables with CDC on; a writer then updates rows at a steady pace, and
 * `reshard cutover`'s app runs with the lock freeze: precheck, freeze, catch-up, a verification of the whole
 * table, switch, thaw. Reported: `cutoverFreezeMs` (freeze to thaw, as recorded), the writer's longest wait
 * for one write (`writerMaxStallMs`), and the ceiling measured in the same run: the same verification alone,
 * before the cut-over (`verifyAloneMs`). Last line: one JSON object. Options: --orders N, --writes N (per second), --port P.
 */
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../lambdas/core/config.js';
import { ordersConfig } from '../local/seed.js';
import { LocalRuntime } from '../local/runtime.js';
import { runCutover } from '../lambdas/app/cutover.js';
import { verifyTable } from '../lambdas/app/verify.js';
import { benchArgs, benchServer } from './harness.js';

const { orders, writes: writesPerSec, port } = benchArgs({ numbers: { orders: 200_000, writes: 1000, port: 3429 } });
const here = dirname(fileURLToPath(import.meta.url));

const bench = await benchServer('cutover', port, { connectionLimit: 8 });
const { admin, calibration } = bench;
const dbs = ['benchco_src', ...Array.from({ length: 8 }, (_, i) => `benchco_db_${i}`)];
let rt: LocalRuntime | undefined;
try {
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
  if (spawnSync(process.execPath, ['--import', 'tsx', join(here, 'seed-child.ts'), String(port), String(orders), 'benchco_src'], { stdio: 'inherit' }).status !== 0) throw new Error('seeding failed');
  const config = parseConfig({
    ...ordersConfig({ migrationId: `benchco-${Date.now()}`, port, sourceDb: 'benchco_src', targetPrefix: 'benchco_db', pageSize: 20000, segments: 8, concurrency: 2, items: false }),
    cdc: { enabled: true, serverId: 9200, applyConcurrency: 4 },
    verify: { enabled: true, batchRows: 100000 },
  });
  rt = await LocalRuntime.start({ config });
  const runtime = rt;
  runtime.cdc!.start();
  await runtime.execute().result;
  await runtime.cdc!.drain(120_000);
  console.log(`copied and verified ${orders.toLocaleString('en-US')} orders into 8 × 8 tables`);

  // The ceiling: the same check the cut-over makes, alone.
  let t = Date.now();
  await verifyTable(runtime.ctx, 'order_info', { repair: false });
  const verifyAloneMs = Date.now() - t;

  // ~writesPerSec single-row updates, each its own transaction, timed one by one.
  let writing = true;
  let writes = 0;
  let maxStallMs = 0;
  const writer = (async () => {
    const started = Date.now();
    for (let i = 0; writing; i++) {
      const due = started + (i * 1000) / writesPerSec;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const t0 = Date.now();
      await admin.query('UPDATE benchco_src.order_info SET remark = ?, update_time = NOW(6) WHERE id = ?', [`w${i}`, 1 + (i % orders)]);
      maxStallMs = Math.max(maxStallMs, Date.now() - t0);
      writes++;
    }
  })();
  await new Promise((r) => setTimeout(r, 3000));
  await runtime.cdc!.catchUp(60_000);
  const stallBefore = maxStallMs;
  maxStallMs = 0;
  t = Date.now();
  const out = await runCutover(runtime.ctx, runtime.cutoverDeps());
  const cutoverMs = Date.now() - t;
  await new Promise((r) => setTimeout(r, 500));
  writing = false;
  await writer;
  console.log(`cut-over in ${cutoverMs} ms; writes frozen ${out.freezeMs} ms (${out.rowsChecked?.toLocaleString('en-US')} rows checked; the check alone took ${verifyAloneMs} ms)`);
  console.log(`writer: ${writes} writes, longest wait for one ${maxStallMs} ms during the cut-over (${stallBefore} ms before it)`);
  console.log(
    JSON.stringify({
      orders,
      writesPerSec,
      cutoverFreezeMs: out.freezeMs,
      writerMaxStallMs: maxStallMs,
      verifyAloneMs,
      freezeOverVerify: Number(((out.freezeMs ?? 0) / verifyAloneMs).toFixed(2)),
      cutoverMs,
      rowsChecked: out.rowsChecked,
      calibration,
    }),
  );
} finally {
  await rt?.close();
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
  await bench.stop();
}
