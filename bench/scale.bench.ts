/**
 * `npm run bench:scale`: how the cost of a migration grows with the table. For each size (250,000, 1,000,000
 * and 4,000,000 `order_info` rows by default) the rows are generated afresh, then planned, copied into
 * 8 dbs × 8 tables and verified by one execution of the synthesized state machine in a process of its own
 * (`scale-child.ts`: its peak RSS is that size's alone), each stage timed. Per size: plan ms (and per million
 * rows), copy and verification rows/s, peak RSS. Then the largest size against the smallest, same run:
 * `copyDrop` / `verifyDrop` = how much rows/s fell (`linear` when neither fell more than 15%), `rssGrowth` =
 * how many times the peak RSS grew (`rssFlat` when at most 1.25×); and the slopes, what the rows the largest
 * size has beyond the smallest cost without each stage's fixed part: `planMarginalMsPerMillionRows`,
 * `copyMarginalRowsPerSec`, `verifyMarginalRowsPerSec`.
 * Exits 0 whatever the timings (it reports them); non-zero when a copy or verification is wrong.
 * Last line: one JSON object. Options: --sizes N,N,…, --page-size N, --segments N, --concurrency N, --port N, --keep.
 * The server: RESHARD_TEST_MYSQL_PORT / RESHARD_TEST_MYSQL_DIR when set (reused if running), else its own.
 */
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { RowDataPacket } from 'mysql2/promise';
import { calibrate, calibrationText, settleServer, stealMeter, type Calibration } from './calibrate.js';
import { benchArgs, benchServer } from './harness.js';

const values = benchArgs({
  numbers: { 'page-size': 20_000, segments: 8, concurrency: 2, port: Number(process.env.RESHARD_TEST_MYSQL_PORT ?? 3433) },
  strings: { sizes: '250000,1000000,4000000' },
  flags: ['keep'],
});
const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1000)) throw new Error(`--sizes: give two or more row counts of at least 1,000 (got ${values.sizes})`);
sizes.sort((a, b) => a - b);
const { port } = values;
const here = dirname(fileURLToPath(import.meta.url));
const SRC = 'bench_scale_src';
const DBS = [SRC, ...Array.from({ length: 8 }, (_, i) => `bench_scale_db_${i}`)];
const stateRoot = join(tmpdir(), `reshard-bench-scale-state-${port}`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => (ms / 1000).toFixed(1);
/** Rows/s fall allowed from the smallest size to the largest, and peak RSS growth still called flat. */
const MAX_DROP = 0.15;
const FLAT_RSS = 1.25;
const SETTLE_MAX_MS = 600_000;

/** What `scale-child.ts` prints last. */
interface ChildOut {
  planMs: number;
  copyMs: number;
  verifyMs: number;
  finalizeMs: number;
  copyWindowMs: number;
  peakRssMb: number;
  stages: Record<'plan' | 'copy' | 'verify' | 'finalize', { rssMb: number; heapMb: number; externalMb: number }>;
  complete: boolean;
  rowsCopied: number;
  verifiedRows: number;
  dirtyRows: number;
  sourceRows: number;
  targetRows: number;
  checksumMatch: boolean;
}

interface SizeResult {
  rows: number;
  planMs: number;
  planMsPerMillionRows: number;
  copyMs: number;
  copyRowsPerSec: number;
  verifyMs: number;
  verifyRowsPerSec: number;
  peakRssMb: number;
  stageRssMb: { plan: number; copy: number; verify: number };
  stageHeapMb: { plan: number; copy: number; verify: number };
  sourceMb: number;
  stealPct: number | null;
  calibration: Calibration;
}

const bench = await benchServer('mariadb', port, { connectionLimit: 4, dir: process.env.RESHARD_TEST_MYSQL_DIR });
const { admin, calibration } = bench;
const dropAll = async () => {
  for (const db of DBS) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
  rmSync(stateRoot, { recursive: true, force: true });
};
try {
  const results: SizeResult[] = [];
  for (const rows of sizes) {
    console.log(`\n— ${fmt(rows)} rows`);
    await dropAll();
    let t = performance.now();
    const seeded = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'seed-child.ts'), String(port), String(rows), SRC], { stdio: 'inherit' });
    if (seeded.status !== 0) throw new Error(`generating ${fmt(rows)} rows failed`);
    await admin.query(`ANALYZE TABLE ${SRC}.order_info`);
    const [[size]] = await admin.query<RowDataPacket[]>(`SELECT DATA_LENGTH + INDEX_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'order_info'`, [SRC]);
    const sourceMb = Math.round(Number(size!.b) / 1048576);
    console.log(`generated ${fmt(rows)} order_info rows (${sourceMb} MB on disk with indexes) in ${secs(performance.now() - t)}s`);
    // Every size starts with its rows written out: the server flushes the generator's dirty pages at a few
    // hundred a second, so the largest size would otherwise copy while still flushing (and the smallest not).
    await settleServer(admin, (l) => console.log(l), SETTLE_MAX_MS);
    const sizeCalibration = await calibrate(admin);
    console.log(`  ${calibrationText(sizeCalibration)}`);

    // Plan, copy and verification in a process of their own (with this process's flags: its heap cap too).
    const stolen = stealMeter();
    t = performance.now();
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, join(here, 'scale-child.ts'), String(port), String(rows), join(stateRoot, String(rows)), String(values['page-size']), String(values.segments), String(values.concurrency)],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 1048576 },
    );
    const stealPct = stolen() ?? null;
    if (child.status !== 0) throw new Error(`plan, copy and verification of ${fmt(rows)} rows failed (exit ${child.status ?? child.signal})`);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildOut;
    const wrong = [
      ...(out.complete ? [] : ['finalize did not report the table complete']),
      ...(out.dirtyRows === 0 ? [] : [`${out.dirtyRows} dirty rows`]),
      ...(out.verifiedRows === rows ? [] : [`${out.verifiedRows} rows verified`]),
      ...(out.sourceRows === rows && out.targetRows === rows ? [] : [`${out.sourceRows} source rows, ${out.targetRows} target rows`]),
      ...(out.checksumMatch ? [] : ['the independent checksums of source and targets differ']),
    ];
    if (wrong.length) throw new Error(`${fmt(rows)} rows: ${wrong.join('; ')} (of ${fmt(rows)} generated)`);
    const r: SizeResult = {
      rows,
      planMs: out.planMs,
      planMsPerMillionRows: Math.round(out.planMs / (rows / 1e6)),
      copyMs: out.copyMs,
      verifyMs: out.verifyMs,
      copyRowsPerSec: Math.round(rows / (out.copyMs / 1000)),
      verifyRowsPerSec: Math.round(rows / (out.verifyMs / 1000)),
      peakRssMb: out.peakRssMb,
      stageRssMb: { plan: out.stages.plan.rssMb, copy: out.stages.copy.rssMb, verify: out.stages.verify.rssMb },
      stageHeapMb: { plan: out.stages.plan.heapMb, copy: out.stages.copy.heapMb, verify: out.stages.verify.heapMb },
      sourceMb,
      stealPct,
      calibration: sizeCalibration,
    };
    results.push(r);
    console.log(
      `  plan ${secs(out.planMs)}s (${fmt(r.planMsPerMillionRows)} ms per million rows), copy ${secs(out.copyMs)}s = ${fmt(r.copyRowsPerSec)} rows/s (segments' window ${secs(out.copyWindowMs)}s), ` +
        `verify ${secs(out.verifyMs)}s = ${fmt(r.verifyRowsPerSec)} rows/s, finalize ${secs(out.finalizeMs)}s; all ${secs(performance.now() - t)}s with process start`,
    );
    console.log(
      `  peak RSS ${r.peakRssMb} MB; sampled peaks by stage: ` +
        (['plan', 'copy', 'verify'] as const).map((s) => `${s} ${out.stages[s].rssMb} MB (heap ${out.stages[s].heapMb}, buffers ${out.stages[s].externalMb})`).join(', ') +
        `; CPU stolen by the hypervisor ${stealPct ?? 'n/a'}%; verified clean, checksums match`,
    );
  }

  const small = results[0]!;
  const large = results[results.length - 1]!;
  const ratio = (n: number) => Number(n.toFixed(3));
  const copyDrop = ratio(1 - large.copyRowsPerSec / small.copyRowsPerSec);
  const verifyDrop = ratio(1 - large.verifyRowsPerSec / small.verifyRowsPerSec);
  const rssGrowth = ratio(large.peakRssMb / small.peakRssMb);
  const linear = copyDrop <= MAX_DROP && verifyDrop <= MAX_DROP;
  const rssFlat = rssGrowth <= FLAT_RSS;
  // Memory follows the page: a size whose segments hold less than a page never holds a full one, and its peak
  // RSS is below the steady state every larger size reaches (so rssGrowth then overstates growth).
  const pageSize = Number(values['page-size']);
  const smallestFillsPages = small.rows / values.segments >= pageSize;
  // The slopes: what the rows the largest size has beyond the smallest cost (each stage's fixed part cancels out).
  const extraMillions = (large.rows - small.rows) / 1e6;
  const planMarginalMsPerMillionRows = Math.round((large.planMs - small.planMs) / extraMillions);
  const marginalRate = (ms: number) => (ms > 0 ? Math.round((extraMillions * 1e6) / (ms / 1000)) : null);
  const copyMarginalRowsPerSec = marginalRate(large.copyMs - small.copyMs);
  const verifyMarginalRowsPerSec = marginalRate(large.verifyMs - small.verifyMs);
  const pct = (f: number) => `${(f * 100).toFixed(1)}%`;
  console.log(`\nsize        plan ms  ms/M rows  copy rows/s  verify rows/s  peak RSS MB  source MB`);
  for (const r of results)
    console.log(
      `${fmt(r.rows).padStart(10)}  ${fmt(r.planMs).padStart(7)}  ${fmt(r.planMsPerMillionRows).padStart(9)}  ${fmt(r.copyRowsPerSec).padStart(11)}  ${fmt(r.verifyRowsPerSec).padStart(13)}  ${String(r.peakRssMb).padStart(11)}  ${String(r.sourceMb).padStart(9)}`,
    );
  console.log(
    `${fmt(small.rows)} → ${fmt(large.rows)} rows: copy rows/s ${copyDrop >= 0 ? 'fell' : 'rose'} ${pct(Math.abs(copyDrop))}, verify rows/s ${verifyDrop >= 0 ? 'fell' : 'rose'} ${pct(Math.abs(verifyDrop))} ` +
      `(target: neither falls more than ${pct(MAX_DROP)}: ${linear ? 'met' : 'not met'}); peak RSS × ${rssGrowth} (flat up to × ${FLAT_RSS}: ${rssFlat ? 'met' : 'not met'}); ` +
      `the extra ${fmt(large.rows - small.rows)} rows: plan ${fmt(planMarginalMsPerMillionRows)} ms per million, copy ${copyMarginalRowsPerSec === null ? 'n/a' : fmt(copyMarginalRowsPerSec)} rows/s, ` +
      `verify ${verifyMarginalRowsPerSec === null ? 'n/a' : fmt(verifyMarginalRowsPerSec)} rows/s`,
  );
  if (!smallestFillsPages)
    console.log(`note: the ${fmt(small.rows)}-row size's segments hold ${fmt(small.rows / values.segments)} rows, less than one page of ${fmt(pageSize)}: its pages are not full, so its peak RSS is below the steady state and rssGrowth overstates growth`);
  console.log(
    JSON.stringify({
      sizes: results.map((r) => ({
        rows: r.rows,
        planMs: r.planMs,
        planMsPerMillionRows: r.planMsPerMillionRows,
        copyMs: r.copyMs,
        verifyMs: r.verifyMs,
        copyRowsPerSec: r.copyRowsPerSec,
        verifyRowsPerSec: r.verifyRowsPerSec,
        peakRssMb: r.peakRssMb,
        stageRssMb: r.stageRssMb,
        stageHeapMb: r.stageHeapMb,
        sourceMb: r.sourceMb,
        stealPct: r.stealPct,
        calibration: r.calibration,
      })),
      copyDrop,
      verifyDrop,
      rssGrowth,
      linear,
      rssFlat,
      smallestFillsPages,
      planMarginalMsPerMillionRows,
      copyMarginalRowsPerSec,
      verifyMarginalRowsPerSec,
      pageSize,
      segments: values.segments,
      concurrency: values.concurrency,
      calibration,
    }),
  );
} finally {
  if (!values.keep) await dropAll().catch(() => undefined);
  await bench.stop();
}
