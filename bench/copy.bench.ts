/**
 * `npm run bench`: 1,000,000 `order_info` rows (~200 bytes each) copied into 8 dbs × 8 tables through the
 * real path (synthesized state machine, copy-batch handler, checkpoints in dynalite), beside the server's
 * own ceiling for the same rows (one INSERT … SELECT into a single unsharded table, run before the copy and
 * after it: the ratio is to the mean of the two).
 * With --reshard (`npm run bench:reshard`), the same rows are then spread over 8 × 8 source tables (spread
 * rule) and copied from there into 16 × 16: `reshardRowsPerSec`, and `reshardRatio` against the same ceiling.
 * Last line: one JSON object. Options: --rows N, --page-size N, --segments N, --concurrency N, --port N, --reshard.
 */
import { join } from 'node:path';
import { parseConfig } from '../lambdas/core/config.js';
import { ordersConfig, spreadRows } from '../local/seed.js';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalRuntime } from '../local/runtime.js';
import { checkAll } from '../local/checksum.js';
import { cpuMeter, cpuText, meanOf, measure, serverPid, settleServer, stealMeter, workRatio as cpuWorkRatio } from './calibrate.js';
import { benchArgs, benchServer } from './harness.js';

const args = benchArgs({ numbers: { rows: 1_000_000, 'page-size': 20_000, segments: 8, concurrency: 2, port: 3427 }, flags: ['reshard'] });
const { rows, segments, concurrency, port } = args;
const pageSize = args['page-size'];

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

const bench = await benchServer('mariadb', port, { connectionLimit: 4 });
const { admin, calibration } = bench;
try {
  for (const db of ['bench_src', 'bench_ceiling', 'bench_plain', ...Array.from({ length: 16 }, (_, i) => [`bench_db_${i}`, `bench_old_${i}`, `bench_new_${i}`]).flat()]) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
  let t = Date.now();
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'seed-child.ts'), String(port), String(rows), 'bench_src'], { stdio: 'inherit' });
  if (seeded.status !== 0) throw new Error('generating the bench rows failed');
  console.log(`generated ${rows.toLocaleString('en-US')} order_info rows in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  await admin.query('ANALYZE TABLE bench_src.order_info');
  const [[size]] = (await admin.query(`SELECT AVG_ROW_LENGTH AS l FROM information_schema.TABLES WHERE TABLE_SCHEMA='bench_src' AND TABLE_NAME='order_info'`)) as unknown as [[{ l: number }]];

  const quiesce = () => settleServer(admin, (l) => console.log(l));
  // CPU seconds of each phase: this process (the copy's Node side) and the server.
  const pids = { node: process.pid, server: await serverPid(admin) };

  // Ceiling: the server copying the same rows into one table by itself. Measured before the copy and again
  // after it: the machine's speed drifts within minutes, and the mean of the two is the ceiling of the copy's
  // time between them.
  const measureCeiling = async () => {
    await admin.query('CREATE DATABASE bench_ceiling');
    await admin.query('CREATE TABLE bench_ceiling.order_info LIKE bench_src.order_info');
    await quiesce();
    const steal = stealMeter();
    const run = await measure(pids, () => admin.query('INSERT INTO bench_ceiling.order_info SELECT * FROM bench_src.order_info'));
    const stealPct = steal();
    await admin.query('DROP DATABASE bench_ceiling');
    return { ...run, stealPct };
  };
  const ceilingBefore = await measureCeiling();

  // Baseline: a plain mysql2 loop over the same rows (keyset pages, one multi-row INSERT per target table,
  // 8 at a time on a pool of 8, the next page read while this one is written) — no routing rules, no
  // guard, no checkpoints: what a client can push into 64 tables on this server.
  await admin.query('CREATE DATABASE bench_plain');
  for (let i = 0; i < 64; i++) await admin.query(`CREATE TABLE bench_plain.t${i} LIKE bench_src.order_info`);
  await quiesce();
  let stolen = stealMeter();
  // In a child process: its pages (rows as objects) are not the copy's memory. It times its own loop.
  const plain = spawnSync(process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'plain-child.ts'), String(port), String(pageSize)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (plain.status !== 0) throw new Error('the plain mysql2 loop failed');
  const plainSec = (JSON.parse(plain.stdout.trim().split('\n').pop()!) as { seconds: number }).seconds;
  const plainStealPct = stolen();
  await admin.query('DROP DATABASE bench_plain');

  // The copy alone: verification has its own benchmark (bench:verify).
  const config = parseConfig({
    ...ordersConfig({ migrationId: `bench-${Date.now()}`, port, sourceDb: 'bench_src', targetPrefix: 'bench_db', pageSize, segments, concurrency, items: false }),
    verify: { enabled: false },
  });
  const rssAt = (phase: string) => console.log(`  rss ${phase}: ${Math.round(process.memoryUsage().rss / 1048576)} MB (heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MB)`);
  rssAt('before copy');
  const seedPeak = peakRss;
  peakRss = 0;
  const rt = await LocalRuntime.start({ config });
  rssAt('runtime started');
  await quiesce();
  t = Date.now();
  stolen = stealMeter();
  const cpu = cpuMeter(pids);
  await rt.execute().result;
  const copySec = (Date.now() - t) / 1000;
  const copyCpu = cpu();
  const copyStealPct = stolen();
  rssAt('after copy');
  console.log(`  peak rss while generating ${Math.round(seedPeak / 1048576)} MB, while copying ${Math.round(peakRss / 1048576)} MB`);
  const [check] = await checkAll(config, rt.ctx.source, rt.ctx.targets);
  const segs = await rt.store.segments(config.migrationId);
  const checkpoints = segs.reduce((a, s) => a + s.pagesDone, 0);
  // The copy window alone (first segment started → last finished), without plan and state-machine overhead.
  const windowSec = (Math.max(...segs.map((s) => s.finishedAt ?? 0)) - Math.min(...segs.map((s) => s.startedAt ?? Infinity))) / 1000;
  await rt.close();
  const ceilingAfter = await measureCeiling();
  const { sec: ceilingSec, cpu: ceilingCpu } = meanOf(ceilingBefore, ceilingAfter);
  const ceilingStealPct = ceilingBefore.stealPct === undefined || ceilingAfter.stealPct === undefined ? undefined : Number(((ceilingBefore.stealPct + ceilingAfter.stealPct) / 2).toFixed(1));

  // A sharded source: the same rows over 8 × 8 tables (spread on order_no, else user_id), copied into 16 × 16.
  let reshard: { rowsPerSec: number; peakRssMb: number; match: boolean; seconds: number } | undefined;
  if (args.reshard) {
    for (let i = 0; i < 8; i++) await admin.query(`DROP DATABASE IF EXISTS \`bench_db_${i}\``);
    t = Date.now();
    const old = { databasePattern: 'bench_old_{db}', databases: 8, tablesPerDb: 8, algorithm: 'spread' as const };
    await spreadRows(admin, { database: 'bench_src', table: 'order_info' }, old, 'order_info_{table}', [0, 1, 2, 3, 4, 5, 6, 7]);
    const [[placed]] = (await admin.query('SELECT ' + Array.from({ length: 64 }, (_, i) => `(SELECT COUNT(*) FROM \`bench_old_${Math.floor(i / 8)}\`.order_info_${i % 8})`).join(' + ') + ' AS n')) as unknown as [[{ n: string }]];
    if (Number(placed.n) !== rows) throw new Error(`spreading the rows over 8 × 8 tables placed ${placed.n} of ${rows}`);
    console.log(`spread ${rows.toLocaleString('en-US')} rows over 8 × 8 source tables in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    await quiesce();
    // In a child process: its peak RSS is the reshard copy's own, not the single-source copy's before it.
    const child = spawnSync(process.execPath, [...process.execArgv, join(dirname(fileURLToPath(import.meta.url)), 'reshard-child.ts'), String(port), String(rows), String(pageSize), String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    if (child.status !== 0) throw new Error('the reshard copy failed');
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number; match: boolean };
    reshard = { rowsPerSec: Math.round(rows / out.seconds), peakRssMb: out.peakRssMb, match: out.match, seconds: out.seconds };
  }
  clearInterval(rssTimer);

  const copyRowsPerSec = Math.round(rows / copySec);
  const ceilingRowsPerSec = Math.round(rows / ceilingSec);
  console.log(`\nrows ${rows.toLocaleString('en-US')} (avg ${size.l} bytes on disk), page ${pageSize}, ${segments} segments × concurrency ${concurrency}`);
  console.log(`full copy (state machine → copy-batch → 64 tables, ${checkpoints} checkpoints): ${copySec.toFixed(1)}s = ${copyRowsPerSec.toLocaleString('en-US')} rows/s`);
  console.log(`  of which the segments' copy window: ${windowSec.toFixed(1)}s = ${Math.round(rows / windowSec).toLocaleString('en-US')} rows/s (the rest: plan — statistics, sample, target tables — and orchestration)`);
  console.log(`ceiling (INSERT … SELECT into one table):                 ${ceilingSec.toFixed(1)}s = ${ceilingRowsPerSec.toLocaleString('en-US')} rows/s (mean of ${ceilingBefore.sec.toFixed(1)}s before the copy and ${ceilingAfter.sec.toFixed(1)}s after)`);
  console.log(`plain mysql2 loop (same pages, 64 tables, 8 at a time, no guard or checkpoints): ${plainSec.toFixed(1)}s = ${Math.round(rows / plainSec).toLocaleString('en-US')} rows/s`);
  const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${v}%`);
  console.log(`CPU time taken by the hypervisor (steal) during: ceiling ${pct(ceilingStealPct)}, plain loop ${pct(plainStealPct)}, copy ${pct(copyStealPct)}`);
  const workRatio = cpuWorkRatio(ceilingCpu, copyCpu);
  console.log(`CPU: copy ${cpuText(copyCpu)}; ceiling ${cpuText(ceilingCpu)}; the ceiling's CPU ÷ the copy's: ${workRatio}`);
  console.log(`ratio ${(copyRowsPerSec / ceilingRowsPerSec).toFixed(2)} (copy window / plain loop ${(rows / windowSec / (rows / plainSec)).toFixed(2)}), peak RSS ${Math.round(peakRss / 1048576)} MB, checksums ${check!.match ? 'MATCH' : 'MISMATCH'}`);
  const reshardRatio = reshard ? Number((reshard.rowsPerSec / ceilingRowsPerSec).toFixed(3)) : undefined;
  if (reshard)
    console.log(
      `reshard (8 × 8 source tables → 16 × 16): ${reshard.seconds.toFixed(1)}s = ${reshard.rowsPerSec.toLocaleString('en-US')} rows/s, ratio ${reshardRatio!.toFixed(2)} = ${(reshardRatio! / (copyRowsPerSec / ceilingRowsPerSec)).toFixed(2)} × the copy's, peak RSS ${reshard.peakRssMb} MB, checksums ${reshard.match ? 'MATCH' : 'MISMATCH'}`,
    );
  console.log(
    JSON.stringify({
      rows,
      ...(reshard
        ? { reshardRowsPerSec: reshard.rowsPerSec, reshardRatio, reshardVsCopy: Number((reshardRatio! / (copyRowsPerSec / ceilingRowsPerSec)).toFixed(3)), reshardPeakRssMb: reshard.peakRssMb, reshardChecksumMatch: reshard.match }
        : {}),
      copyRowsPerSec,
      ceilingRowsPerSec,
      ceilingSeconds: { before: ceilingBefore.sec, after: ceilingAfter.sec },
      ratio: Number((copyRowsPerSec / ceilingRowsPerSec).toFixed(3)),
      peakRssMb: Math.round(peakRss / 1048576),
      pageSize,
      segments,
      concurrency,
      checkpoints,
      copyWindowRowsPerSec: Math.round(rows / windowSec),
      plainLoopRowsPerSec: Math.round(rows / plainSec),
      checksumMatch: check!.match,
      stealPct: { ceiling: ceilingStealPct, plainLoop: plainStealPct, copy: copyStealPct },
      // CPU seconds per phase and how busy the cores were: a ratio under 0.8 with every core busy is CPU-bound.
      cpu: { copy: copyCpu, ceiling: ceilingCpu, workRatio },
      calibration,
    }),
  );
  if (!check!.match || (reshard && !reshard.match)) process.exitCode = 1;
} finally {
  clearInterval(rssTimer);
  const dbs = ['bench_src', 'bench_plain', ...Array.from({ length: 8 }, (_, i) => [`bench_db_${i}`, `bench_old_${i}`]).flat(), ...Array.from({ length: 16 }, (_, i) => `bench_new_${i}`)];
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
  await bench.stop();
}
