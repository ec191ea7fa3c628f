/**
 * `npm run bench:verify`: verification of 1,000,000 `order_info` rows copied into 8 dbs × 8 tables by the
 * real copy (state machine, copy-batch handler), timed two ways in the same run:
 * - clean: `verifyTable` on an equal target (every batch proven by its checksums, the fast path);
 * - row by row: one row changed in every batch of the target, so every batch falls back to the row-by-row
 *   comparison (its time includes the checksums that failed first).
 * Then a profile of one clean pass, replaying the queries of an earlier design batch by batch (one
 * combined checksum per side; verify now routes the source CRCs per target and evaluates each row's CRC
 * once, see lambdas/app/verify.ts) — and the checksum expression's own cost over the whole table.
 * Last line: one JSON object. Options: --rows N, --batch-rows N, --passes N, --port N, --keep, --reuse.
 * The server: RESHARD_TEST_MYSQL_PORT / RESHARD_TEST_MYSQL_DIR when set (reused if running), else its own.
 */
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { parseConfig } from '../lambdas/core/config.js';
import { q, qt } from '../lambdas/core/sql.js';
import { sumsSql } from '../lambdas/core/verify-sql.js';
import { slotOf } from '../lambdas/core/verify-sums.js';
import { inParallel } from '../lambdas/core/parallel.js';
import { verifyTable, type VerifySummary } from '../lambdas/app/verify.js';
import { planFor, routerFor, tableConfig } from '../lambdas/app/context.js';
import { tableCheck } from '../lambdas/app/verify/table-check.js';
import { ordersConfig } from '../local/seed.js';
import { LocalRuntime } from '../local/runtime.js';
import { cpuMeter, cpuText, serverPid, stealMeter, workRatio as cpuWorkRatio, type CpuReading } from './calibrate.js';
import { benchArgs, benchServer } from './harness.js';

const values = benchArgs({
  numbers: { rows: 1_000_000, 'batch-rows': 100_000, passes: 3, concurrency: 2, port: Number(process.env.RESHARD_TEST_MYSQL_PORT ?? 3429) },
  flags: ['keep', 'reuse'],
});
const { rows, port } = values;
const batchRows = values['batch-rows'];
const passes = Math.max(1, values.passes);
const here = dirname(fileURLToPath(import.meta.url));
const SRC = 'bench_verify_src';
const DBS = [SRC, ...Array.from({ length: 8 }, (_, i) => `bench_verify_db_${i}`)];
const stateDir = join(tmpdir(), `reshard-bench-verify-state-${port}`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => (ms / 1000).toFixed(2);

const bench = await benchServer('mariadb', port, { connectionLimit: 4, dir: process.env.RESHARD_TEST_MYSQL_DIR });
const { admin, calibration } = bench;
let rt: LocalRuntime | undefined;

async function timed<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await fn();
  return [out, performance.now() - t];
}

async function one(pool: Pool, sql: string, params: unknown[] = []): Promise<RowDataPacket | undefined> {
  const [r] = await pool.query<RowDataPacket[]>(sql, params);
  return r[0];
}

try {
  // The copy runs without its own verification stage: the passes below time verification.
  const config = parseConfig({
    ...ordersConfig({ migrationId: 'bench-verify', port, sourceDb: SRC, targetPrefix: 'bench_verify_db', pageSize: 10_000, segments: 8, concurrency: values.concurrency, items: false }),
    verify: { enabled: false },
  });
  const have = values.reuse && existsSync(stateDir) && (await one(admin, `SELECT COUNT(*) AS n FROM ${SRC}.order_info`).then((r) => Number(r?.n) === rows, () => false));
  if (!have) {
    for (const db of DBS) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    rmSync(stateDir, { recursive: true, force: true });
    const [, seedMs] = await timed(() => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'seed-child.ts'), String(port), String(rows), SRC], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('generating the bench rows failed');
    });
    console.log(`generated ${fmt(rows)} order_info rows in ${secs(seedMs)}s`);
    await admin.query(`ANALYZE TABLE ${SRC}.order_info`);
  } else console.log(`reusing ${fmt(rows)} rows in ${SRC} and their copy (--reuse)`);

  rt = await LocalRuntime.start({ config, stateDir });
  if (!have) {
    const [, copyMs] = await timed(() => rt!.execute().result);
    console.log(`copied into 8 × 8 tables by the real copy in ${secs(copyMs)}s (${fmt(rows / (copyMs / 1000))} rows/s)`);
  }
  const ctx = rt.ctx;

  // DynamoDB time inside verifyTable (state writes per batch, clearing the previous pass).
  let dynamoMs = 0;
  for (const m of ['putVerifyBatch', 'putVerifyBatches', 'clearVerify'] as const) {
    const orig = rt.store[m].bind(rt.store) as (...a: unknown[]) => Promise<void>;
    (rt.store as unknown as Record<string, unknown>)[m] = async (...a: unknown[]) => {
      const t = performance.now();
      try {
        return await orig(...a);
      } finally {
        dynamoMs += performance.now() - t;
      }
    };
  }

  // 1. Clean: the checksum fast path.
  // CPU seconds of each pass: this process (verify's Node side, DynamoDB's emulator) and the server.
  const pids = { node: process.pid, server: await serverPid(admin) };
  const clean: { ms: number; dynamoMs: number; summary: VerifySummary; stealPct: number | undefined; cpu: CpuReading }[] = [];
  for (let p = 0; p < passes; p++) {
    dynamoMs = 0;
    const stolen = stealMeter();
    const cpu = cpuMeter(pids);
    const [summary, ms] = await timed(() => verifyTable(ctx, 'order_info', { batchRows }));
    const passCpu = cpu();
    const stealPct = stolen();
    if (!summary.clean || summary.byChecksum !== rows) throw new Error(`clean pass ${p + 1} is not clean by checksum: ${JSON.stringify({ ...summary, dirty: summary.dirty.slice(0, 5) })}`);
    clean.push({ ms, dynamoMs, summary, stealPct, cpu: passCpu });
    console.log(`clean pass ${p + 1}: ${fmt(rows)} rows in ${summary.batches} batches, ${secs(ms)}s = ${fmt(rows / (ms / 1000))} rows/s (DynamoDB ${secs(dynamoMs)}s; CPU stolen by the hypervisor: ${stealPct ?? 'n/a'}%)`);
  }
  const best = clean.reduce((a, b) => (b.ms < a.ms ? b : a));
  const batches = best.summary.batches;

  // 2. Profile: the statements verify runs (`tableCheck`'s row CRC and placement check, `sumsSql`) for the
  // same batches, one phase at a time, each with the server's CPU seconds.
  const table = tableConfig(ctx, 'order_info');
  const plan = await planFor(ctx, 'order_info');
  const check = await tableCheck(ctx, table, plan);
  if (!check.placement) throw new Error('the bench table has a built-in rule: verify should check placement in SQL');
  const targets = routerFor(ctx, table).allTargets();
  const crc = check.crc;
  const key = q(table.scrollKey[0]!);
  const server = { server: pids.server };
  const prof = { edgeMs: 0, sourceMs: 0, targetsWallMs: 0, targetsSumMs: 0, targetQueries: 0, bareTargetsWallMs: 0 };
  const serverCpu = { edges: 0, source: 0, targets: 0, targetsWithoutPlacement: 0 };
  const timedCpu = async <T,>(phase: keyof typeof serverCpu, fn: () => Promise<T>): Promise<[T, number]> => {
    const cpu = cpuMeter(server);
    const out = await timed(fn);
    serverCpu[phase] += cpu().sec.server ?? 0;
    return out;
  };
  const targetSums = (placed: boolean) => (where: string, params: unknown[]) =>
    inParallel(targets, check.concurrency, async (t) => {
      const sql = sumsSql({ database: t.database, table: t.tableName, crc, where, ...(placed ? { notProven: check.placement!.notProvenIn(slotOf(t, table.tablesPerDb)) } : {}) });
      const [, ms] = await timed(() => ctx.writer.poolFor(t.db).query(sql, params));
      if (placed) {
        prof.targetsSumMs += ms;
        prof.targetQueries++;
      }
    });
  let lo: string | null = null;
  for (;;) {
    const [edge, edgeMs] = await timedCpu('edges', () => one(ctx.source, `SELECT ${key} AS k FROM ${qt(SRC, 'order_info')}${lo !== null ? ` WHERE ${key} > ?` : ''} ORDER BY ${key} LIMIT 1 OFFSET ${batchRows - 1}`, lo !== null ? [BigInt(lo)] : []));
    prof.edgeMs += edgeMs;
    const hi: string | null = edge ? String(edge.k) : null;
    const parts = [...(lo !== null ? [`${key} > ?`] : []), ...(hi !== null ? [`${key} <= ?`] : [])];
    const where = parts.length ? parts.join(' AND ') : '1=1';
    const params = [...(lo !== null ? [BigInt(lo)] : []), ...(hi !== null ? [BigInt(hi)] : [])];
    const [, sourceMs] = await timedCpu('source', () => ctx.source.query(sumsSql({ database: SRC, table: 'order_info', crc, where }), params));
    prof.sourceMs += sourceMs;
    prof.targetsWallMs += (await timedCpu('targets', () => targetSums(true)(where, params)))[1];
    prof.bareTargetsWallMs += (await timedCpu('targetsWithoutPlacement', () => targetSums(false)(where, params)))[1];
    if (hi === null) break;
    lo = hi;
  }
  const phases = prof.edgeMs + prof.sourceMs + prof.targetsWallMs;
  const cpuSec = (phase: keyof typeof serverCpu) => `server ${serverCpu[phase].toFixed(2)} CPU-s`;
  console.log(`\nprofile of one clean pass (${batches} batches of ${fmt(batchRows)}, each phase alone; verify runs a batch's source checksum beside its target checksums):`);
  console.log(`  batch-edge queries (LIMIT 1 OFFSET ${batchRows - 1}):   ${secs(prof.edgeMs)}s  ${((prof.edgeMs / phases) * 100).toFixed(0)}%  ${cpuSec('edges')}`);
  console.log(`  source checksums (1 per batch):             ${secs(prof.sourceMs)}s  ${((prof.sourceMs / phases) * 100).toFixed(0)}%  ${cpuSec('source')}  = ${fmt(rows / (prof.sourceMs / 1000))} rows/s`);
  console.log(`  target checksums with the placement check (${targets.length} per batch, ${check.concurrency} at a time): ${secs(prof.targetsWallMs)}s  ${((prof.targetsWallMs / phases) * 100).toFixed(0)}%  ${cpuSec('targets')}  (${fmt(prof.targetQueries)} queries, ${(prof.targetsSumMs / prof.targetQueries).toFixed(2)} ms each on average)`);
  console.log(`  the same without the placement check:       ${secs(prof.bareTargetsWallMs)}s  ${cpuSec('targetsWithoutPlacement')}`);
  console.log(`  DynamoDB state writes (inside verifyTable):  ${secs(best.dynamoMs)}s`);
  console.log(`  sum ${secs(phases + best.dynamoMs)}s vs verifyTable ${secs(best.ms)}s`);

  // The checksum expression's own cost, over the whole source table in one statement.
  const whole = async (select: string, from = qt(SRC, 'order_info')) => (await timed(() => ctx.source.query(`SELECT ${select} FROM ${from}`)))[1];
  const cols = plan.columns;
  const hexCrc = `CRC32(CONCAT_WS('|', ${cols.map((c) => `IFNULL(HEX(CAST(${q(c)} AS BINARY)), '~')`).join(', ')}))`;
  await whole('COUNT(*)'); // warm
  const expr = {
    scanOnly: await whole('COUNT(*)'),
    scanAllColumns: await whole(`COUNT(*), MAX(${cols.map((c) => `LENGTH(${q(c)})`).join(' + ')})`),
    crcXorOnly: await whole(`COUNT(*), BIT_XOR(${crc})`),
    crcXorAndSum: await whole(`COUNT(*), BIT_XOR(${crc}), SUM(${crc})`),
    // The per-row CRC evaluated once: a derived table with LIMIT is materialized, not merged (which would
    // put the expression into both aggregates again).
    crcOnceXorAndSum: await whole('COUNT(*), BIT_XOR(c), SUM(c)', `(SELECT ${crc} AS c FROM ${qt(SRC, 'order_info')} LIMIT 18446744073709551615) x`),
    hexCrcXorAndSum: await whole(`COUNT(*), BIT_XOR(${hexCrc}), SUM(${hexCrc})`),
  };
  console.log(`\nwhole-table statements on the source (${fmt(rows)} rows, one thread):`);
  for (const [name, ms] of Object.entries(expr)) console.log(`  ${name.padEnd(16)} ${secs(ms)}s = ${fmt(rows / (ms / 1000))} rows/s`);

  // 3. Row by row: one row changed in every batch (batches follow the copy segments), so no batch passes by checksum.
  const router = routerFor(ctx, table);
  const ranges = await rt.store.verifyBatches(config.migrationId, 'order_info');
  if (ranges.length !== batches) throw new Error(`expected ${batches} stored batch ranges, found ${ranges.length}`);
  for (const [b, range] of ranges.entries()) {
    const bounds = [...(range.lo !== null ? ['id > ?'] : []), ...(range.hi !== null ? ['id <= ?'] : [])];
    const first = await one(ctx.source, `SELECT MIN(id) AS id FROM ${qt(SRC, 'order_info')}${bounds.length ? ` WHERE ${bounds.join(' AND ')}` : ''}`, [...(range.lo !== null ? [BigInt(range.lo)] : []), ...(range.hi !== null ? [BigInt(range.hi)] : [])]);
    const id = Number(first!.id) + (b % 7);
    const row = await one(ctx.source, `SELECT id, order_no, user_id FROM ${qt(SRC, 'order_info')} WHERE id = ?`, [id]);
    const t = router.route(row!);
    await admin.query(`UPDATE ${qt(t.database, t.tableName)} SET remark = CONCAT(IFNULL(remark, ''), ' ~') WHERE id = ?`, [id]);
  }
  dynamoMs = 0;
  const [byRows, rowsMs] = await timed(() => verifyTable(ctx, 'order_info', { batchRows }));
  if (byRows.byRows !== rows || byRows.different !== batches || byRows.missing + byRows.extra !== 0)
    throw new Error(`row-by-row pass found ${JSON.stringify({ ...byRows, dirty: byRows.dirty.slice(0, 5) })}, expected ${batches} different rows over ${rows} rows compared row by row`);
  console.log(`\nrow-by-row pass (1 changed row per batch, all ${batches} batches compared row by row): ${secs(rowsMs)}s = ${fmt(rows / (rowsMs / 1000))} rows/s; found ${byRows.different} different`);
  console.log(`  of which beyond the checksums: ${secs(rowsMs - best.ms)}s = ${fmt(rows / ((rowsMs - best.ms) / 1000))} rows/s for reading both sides and comparing in Node`);
  const [, repairMs] = await timed(() => verifyTable(ctx, 'order_info', { batchRows, repair: true }));
  console.log(`  repair pass: ${secs(repairMs)}s`);

  // 4. The ceiling: one plain COUNT(*), BIT_XOR(CRC32(every column)) over the whole source table and one over
  // all target tables together, run at once, timed by the slower side (best of three).
  const plainCrc = `CRC32(CONCAT_WS('|', ${plan.columns.map((c) => `IFNULL(${q(c)}, '~')`).join(', ')}))`;
  const sourceWhole = `SELECT COUNT(*) AS n, BIT_XOR(${plainCrc}) AS x FROM ${qt(SRC, 'order_info')}`;
  const targetsWhole = `SELECT COUNT(*) AS n, BIT_XOR(c) AS x FROM (${targets.map((t) => `SELECT ${plainCrc} AS c FROM ${qt(t.database, t.tableName)}`).join(' UNION ALL ')}) u`;
  const ceilings: { ms: number; cpu: CpuReading }[] = [];
  for (let i = 0; i < 3; i++) {
    const cpu = cpuMeter(pids);
    const [[, sourceMs], [, targetsMs]] = await Promise.all([timed(() => ctx.source.query(sourceWhole)), timed(() => ctx.targets[0]!.query(targetsWhole))]);
    ceilings.push({ ms: Math.max(sourceMs, targetsMs), cpu: cpu() });
  }
  const ceiling = ceilings.reduce((a, b) => (b.ms < a.ms ? b : a));
  const ceilingMs = ceiling.ms;
  const workRatio = cpuWorkRatio(ceiling.cpu, best.cpu);
  console.log(`CPU: best clean pass ${cpuText(best.cpu)}; ceiling ${cpuText(ceiling.cpu)}; the ceiling's CPU ÷ the pass's: ${workRatio}`);
  const verifyRatio = Number((ceilingMs / best.ms).toFixed(3));
  console.log(
    `\nceiling: one COUNT(*), BIT_XOR(CRC32(every column)) over the source table beside one over all ${targets.length} target tables, the slower side: ${secs(ceilingMs)}s = ${fmt(rows / (ceilingMs / 1000))} rows/s (best of 3); verify clean at ${verifyRatio} of it (target ≥ 0.8)`,
  );

  const verifyRowsPerSec = Math.round(rows / (best.ms / 1000));
  const verifyRowByRowRowsPerSec = Math.round(rows / (rowsMs / 1000));
  console.log(`\nverified ${fmt(rows)} rows: ${fmt(verifyRowsPerSec)} rows/s clean (checksums), ${fmt(verifyRowByRowRowsPerSec)} rows/s row by row; target ≥ 300,000 rows/s clean: ${verifyRowsPerSec >= 300_000 ? 'met' : 'not met'}`);
  console.log(
    JSON.stringify({
      rows,
      batchRows,
      batches,
      verifySeconds: Number((best.ms / 1000).toFixed(3)),
      verifyRowsPerSec,
      verifyRowByRowSeconds: Number((rowsMs / 1000).toFixed(3)),
      verifyRowByRowRowsPerSec,
      ceilingSeconds: Number((ceilingMs / 1000).toFixed(3)),
      ceilingRowsPerSec: Math.round(rows / (ceilingMs / 1000)),
      verifyRatio,
      // CPU seconds and how busy the cores were: a ratio under 0.8 with every core busy is CPU-bound.
      cpu: { clean: best.cpu, ceiling: ceiling.cpu, workRatio },
      calibration,
      cleanPasses: clean.map((c) => Number((c.ms / 1000).toFixed(3))),
      cleanPassStealPct: clean.map((c) => c.stealPct ?? null),
      profile: {
        edgeSeconds: Number((prof.edgeMs / 1000).toFixed(3)),
        sourceChecksumSeconds: Number((prof.sourceMs / 1000).toFixed(3)),
        targetChecksumSeconds: Number((prof.targetsWallMs / 1000).toFixed(3)),
        targetQueries: prof.targetQueries,
        dynamoSeconds: Number((best.dynamoMs / 1000).toFixed(3)),
        targetChecksumWithoutPlacementSeconds: Number((prof.bareTargetsWallMs / 1000).toFixed(3)),
        serverCpuSeconds: Object.fromEntries(Object.entries(serverCpu).map(([k, v]) => [k, Number(v.toFixed(2))])),
        wholeTableSeconds: Object.fromEntries(Object.entries(expr).map(([k, v]) => [k, Number((v / 1000).toFixed(3))])),
      },
    }),
  );
} finally {
  await rt?.close();
  if (!values.keep) {
    for (const db of DBS) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
  await bench.stop();
}
