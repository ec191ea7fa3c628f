/**
 * `npm run bench:cdc`: the incremental-sync path on a copied 8 × 8 layout.
 * - capture: a backlog of ~160,000 row changes read from the binlog and sent to SQS FIFO (packed messages),
 *   beside its ceiling, the same binlog range read alone, before capture and after it (`captureRatio` is to the
 *   mean of the two); both with warm code, as a capture Lambda's container reads after its first run (each
 *   thread reads the range once untimed; the worker's first read is reported);
 * - apply: the same events through the apply handler (merged windows, batched writes) on the 64 tables,
 *   beside one statement per event, measured on the handler and the database (not the SQS emulator), and
 *   beside its ceiling (plain upserts of the final images), run before apply and after it: `applyRatio` is to
 *   the mean of the two;
 * - lag: 1,000 source writes/s for 60 s with capture and apply running; p95 of write → visible in target.
 * Last line: one JSON object. Options: --orders N, --lag-seconds N, --port N.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import type { SQSEvent } from 'aws-lambda';
import { parseConfig } from '../lambdas/core/config.js';
import type { ChangeEvent, OutgoingMessage } from '../lambdas/core/events/model.js';
import { packMessages } from '../lambdas/core/events/pack.js';
import { decodeEvents } from '../lambdas/core/events/wire.js';
import { ChangeQueue } from '../lambdas/adapters/sqs.js';
import { readChanges } from '../lambdas/adapters/binlog/reader.js';
import { currentPosition } from '../lambdas/adapters/binlog/server.js';
import { FLUSH_DEFAULTS, captureReadOptions, captureRun, capturedTables, groupOf, keyOnly, keysOnlyBefore, sourceBinlogReader } from '../lambdas/app/capture.js';
import { applyEvents } from '../lambdas/app/apply.js';
import { prewarmCaptureWorker } from '../lambdas/app/capture-pipeline.js';
import { routerFor, tableConfig } from '../lambdas/app/context.js';
import { makeApplyHandler } from '../lambdas/handlers/apply.js';
import { inParallel } from '../lambdas/core/parallel.js';
import { ordersConfig } from '../local/seed.js';
import { LocalRuntime } from '../local/runtime.js';
import { createQueues } from '../local/emulators.js';
import { checkAll } from '../local/checksum.js';
import { toRecord } from '../local/poller.js';
import { cpuMeter, cpuText, meanOf, measure, serverPid, settleServer, workRatio } from './calibrate.js';
import { benchArgs, benchServer } from './harness.js';

const args = benchArgs({ numbers: { orders: 200_000, 'lag-seconds': 60, port: 3428 } });
const { orders, port } = args;
const lagSeconds = args['lag-seconds'];
const here = dirname(fileURLToPath(import.meta.url));

const bench = await benchServer('cdc', port, { connectionLimit: 8 });
const { admin, calibration } = bench;
const dbs = ['benchcdc_src', ...Array.from({ length: 8 }, (_, i) => `benchcdc_db_${i}`)];
let rt: LocalRuntime | undefined;
let stopQueues: () => Promise<void> = () => Promise.resolve();
try {
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
  if (spawnSync(process.execPath, ['--import', 'tsx', join(here, 'seed-child.ts'), String(port), String(orders), 'benchcdc_src'], { stdio: 'inherit' }).status !== 0) throw new Error('seeding failed');
  const config = parseConfig({
    ...ordersConfig({ migrationId: `benchcdc-${Date.now()}`, port, sourceDb: 'benchcdc_src', targetPrefix: 'benchcdc_db', pageSize: 10000, segments: 8, concurrency: 2, items: false }),
    // Capture pipelined over a worker thread (`cdc.worker`, off by default): the bench measures it on.
    cdc: { enabled: true, worker: true, serverId: 9100, applyConcurrency: 4 },
  });
  // SQS (fauxqs) in a process of its own: on AWS the queue is elsewhere, so its work must not share the
  // capture's thread here.
  const fauxqs = spawn(process.execPath, ['--input-type=module', '-e', "const { startFauxqs } = await import('fauxqs'); const s = await startFauxqs({ port: 0, logger: false }); console.log(s.address);"], { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  stopQueues = () => Promise.resolve(void fauxqs.kill());
  const endpoint = await new Promise<string>((resolve, reject) => {
    fauxqs.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    fauxqs.once('exit', (code) => reject(new Error(`fauxqs exited with ${code}`)));
  });
  const queues = await createQueues(endpoint, { maxReceiveCount: config.cdc.maxReceiveCount }, () => Promise.resolve(void fauxqs.kill()));
  stopQueues = () => queues.close();
  rt = await LocalRuntime.start({ config, queues });
  await rt.execute().result; // plan records the binlog position, then the full copy
  console.log(`copied ${orders.toLocaleString('en-US')} orders into 8 × 8 tables`);

  // A backlog: ~100k updates, ~20k deletes, ~40k inserts.
  const src = '`benchcdc_src`.order_info';
  for (let lo = 1; lo <= Math.min(orders, 100_000); lo += 5000) await admin.query(`UPDATE ${src} SET status = status + 1, remark = CONCAT('u', id), update_time = NOW(6) WHERE id BETWEEN ? AND ?`, [lo, lo + 4999]);
  await admin.query(`DELETE FROM ${src} WHERE id > ? AND id <= ?`, [orders - 20_000, orders]);
  await admin.query(
    `INSERT INTO ${src} (order_no, user_id, amount, buyer_name, create_time, update_time) SELECT CONCAT('2026112299', LPAD(seq, 8, '0')), seq, 1.50, 'bench ✓', NOW(3), NOW(6) FROM mysql.seq_1_to_40000`,
  );

  // Capture the backlog into the FIFO queue, recording what was sent.
  const sent: OutgoingMessage[] = [];
  const base = rt.cdc!.queue;
  const recorder = new (class extends ChangeQueue {
    override async send(messages: readonly OutgoingMessage[]) {
      sent.push(...messages);
      await super.send(messages);
    }
  })(base.sqs, base.queueUrl);
  const src0 = config.source;
  const from = (await rt.store.getCapture(config.migrationId))!.position;
  const binlogConnection = { host: src0.host, port: src0.port, user: src0.user, password: '' };
  // The backlog ends at the binlog position of now: capture reads up to it (a bounded catch-up) rather than
  // until the server falls quiet, so no idle wait is timed.
  const backlogEnd = await currentPosition(admin);
  // CPU seconds of each phase: this process (capture's threads, apply), the server, and SQS (fauxqs).
  const pids = { node: process.pid, server: await serverPid(admin), sqs: fauxqs.pid };
  // Capture's ceiling and where its time goes: the same binlog range read without sending (before capture and
  // again after it: the ratio is to the mean of the two), then read and packed.
  const rereadSec = async (pack: boolean) => {
    const group = groupOf(rt!.ctx);
    const slim = keyOnly(rt!.ctx);
    const slimBefore = keysOnlyBefore(rt!.ctx);
    const t0 = Date.now();
    await readChanges({
      from,
      until: backlogEnd,
      database: config.source.database!,
      tables: config.tables.map((x) => x.name),
      connection: binlogConnection,
      ...captureReadOptions(config),
      serverId: config.cdc.serverId + 1,
      batchSize: 5000,
      onBatch: (events) => {
        if (pack) packMessages(events.map(slimBefore), { groupOf: group, keyOnly: slim });
        return Promise.resolve();
      },
    });
    return (Date.now() - t0) / 1000;
  };
  const readAlone = () => measure(pids, () => rereadSec(false));
  // Both sides are timed with warm code, as a capture Lambda's container runs them after its first read: this
  // thread reads the range once untimed before its first timed read, and the worker below once before capture.
  await rereadSec(false);
  const readBefore = await readAlone();

  // The Lambda's reader: its binlog read and packing run in a worker thread, loaded once per process (a Lambda
  // container keeps it between runs, as the modules this thread loaded): that load is timed on its own.
  let t = Date.now();
  const sourceRead = sourceBinlogReader(config);
  await prewarmCaptureWorker();
  console.log(`capture worker thread loaded in ${((Date.now() - t) / 1000).toFixed(2)}s (once per process; not in the capture time)`);
  // The worker's first read: the same range read and packed in the worker, nothing sent (its code still cold).
  t = Date.now();
  await sourceRead({
    from,
    until: backlogEnd,
    sources: capturedTables(config, 0),
    maxEvents: 500_000,
    idleMs: 500,
    deadlineMs: Date.now() + 120_000,
    onBatch: () => Promise.resolve(),
    pack: { config, reverse: false, dedupPrefix: '', ...FLUSH_DEFAULTS, onPacked: () => Promise.resolve() },
  });
  const workerFirstReadSec = (Date.now() - t) / 1000;
  console.log(`the worker's first read of the range (read and packed, nothing sent; not in the capture time): ${workerFirstReadSec.toFixed(2)}s`);
  let cpu = cpuMeter(pids);
  t = Date.now();
  let captured = 0;
  for (;;) {
    const run = await captureRun(
      rt.ctx,
      { queue: recorder, read: (o) => sourceRead({ ...o, until: backlogEnd }) },
      { owner: 'bench', budgetMs: 120_000, maxEventsPerRead: 500_000, idleMs: 500 },
    );
    captured += run.events;
    if (run.caughtUp) break;
  }
  const captureSec = (Date.now() - t) / 1000;
  const captureCpu = cpu();
  console.log(`captured ${captured.toLocaleString('en-US')} events into ${sent.length.toLocaleString('en-US')} messages in ${captureSec.toFixed(1)}s`);
  const readAfter = await readAlone();
  const { sec: readOnlySec, cpu: readCpu } = meanOf(readBefore, readAfter);
  const readPackSec = await rereadSec(true);
  console.log(
    `  of which reading the binlog (zongji + events): ${Math.round(captured / readOnlySec).toLocaleString('en-US')} events/s alone (mean of ${readBefore.sec.toFixed(2)}s before capture and ${readAfter.sec.toFixed(2)}s after); with packing: ${Math.round(captured / readPackSec).toLocaleString('en-US')} events/s; the rest is sending`,
  );
  await base.sqs.send(new (await import('@aws-sdk/client-sqs')).PurgeQueueCommand({ QueueUrl: base.queueUrl }));

  // One statement per event (the naive way), on the messages holding the first ~10,000 events.
  let split = 0;
  for (let n = 0; split < sent.length && n < 10_000; split++) n += sent[split]!.events;
  const sample = sent.slice(0, split).flatMap((m) => decodeEvents(JSON.parse(m.body)));
  const byGroup = new Map<string, ChangeEvent[]>();
  const group = groupOf(rt.ctx);
  for (const e of sample) {
    const g = group(e);
    byGroup.set(g, [...(byGroup.get(g) ?? []), e]);
  }
  t = Date.now();
  await inParallel([...byGroup.values()], 8, async (list) => {
    for (const e of list) await applyOneByOne(e);
  });
  const oneByOneSec = (Date.now() - t) / 1000;

  // The apply handler on the rest, as the event source would call it: 10 messages per invocation, 4 at once.
  const restMessages = sent.slice(split);

  // The apply ceiling's input, prepared before apply runs: two copies of every target table as it is now (the
  // ceiling runs before apply and again after it), and the final row image of each key of the rest (or its
  // deletion), per target table — decoded and merged untimed.
  const targetTables = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info')).allTargets();
  const scratches = ['benchcdc_ceiling_before', 'benchcdc_ceiling_after'];
  const scratchName = (t: { database: string; tableName: string }) => `${t.database}__${t.tableName}`;
  for (const scratch of scratches) {
    await admin.query(`DROP DATABASE IF EXISTS ${scratch}`);
    await admin.query(`CREATE DATABASE ${scratch}`);
    await inParallel(targetTables, 4, async (t) => {
      await admin.query(`CREATE TABLE \`${scratch}\`.\`${scratchName(t)}\` LIKE \`${t.database}\`.\`${t.tableName}\``);
      await admin.query(`INSERT INTO \`${scratch}\`.\`${scratchName(t)}\` SELECT * FROM \`${t.database}\`.\`${t.tableName}\``);
    });
  }
  const finalImages = new Map<string, Map<string, Record<string, unknown> | null>>();
  const tableRouter = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
  const put = (image: Record<string, unknown>, row: Record<string, unknown> | null) => {
    const t = tableRouter.route(image);
    const name = scratchName(t);
    if (!finalImages.has(name)) finalImages.set(name, new Map());
    finalImages.get(name)!.set(String(image.id), row);
  };
  for (const m of restMessages)
    for (const e of decodeEvents(JSON.parse(m.body))) {
      if (e.op === 'delete') put(e.before!, null);
      else {
        // A shard-key change leaves the old table.
        if (e.op === 'update' && e.before && tableRouter.route(e.before) !== tableRouter.route(e.after!)) put(e.before, null);
        put(e.after!, e.after!);
      }
    }
  const invocations: SQSEvent[] = [];
  // FIFO: one group's messages never run in parallel; invocations are formed by group.
  const groups = new Map<string, OutgoingMessage[]>();
  for (const m of restMessages) groups.set(m.groupId, [...(groups.get(m.groupId) ?? []), m]);
  const lanes: OutgoingMessage[][] = [[], [], [], []];
  let lane = 0;
  for (const list of groups.values()) lanes[lane++ % 4]!.push(...list);
  for (const l of lanes) for (let i = 0; i < l.length; i += 10) invocations.push({ Records: l.slice(i, i + 10).map((m, n) => toRecord({ MessageId: `${i}-${n}`, ReceiptHandle: 'x', Body: m.body, Attributes: { MessageGroupId: m.groupId } }, 'arn:bench')) });
  const handler = makeApplyHandler(() => Promise.resolve(rt!.ctx));
  const applyEventCount = restMessages.reduce((a, m) => a + m.events, 0);

  // The ceiling: a plain mysql2 loop writing those final images into one of the copies, as multi-row upserts
  // (1,000 rows a statement) and one DELETE … IN per target table, 4 tables at once; no decode, merge or guard.
  // Each timed phase starts once the server has flushed what the one before left dirty.
  const quiesce = () => settleServer(admin, (l) => console.log(l));
  const measureCeiling = async (scratch: string) => {
    await quiesce();
    return measure(pids, () =>
      inParallel([...finalImages], 4, async ([name, rows]) => {
        const table = `\`${scratch}\`.\`${name}\``;
        const upserts = [...rows.values()].filter((r): r is Record<string, unknown> => r !== null);
        const deletes = [...rows].filter(([, r]) => r === null).map(([id]) => id);
        for (let i = 0; i < upserts.length; i += 1000) {
          const chunk = upserts.slice(i, i + 1000);
          const cols = Object.keys(chunk[0]!);
          await admin.query(
            `INSERT INTO ${table} (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES ${chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')} ON DUPLICATE KEY UPDATE ${cols.map((c) => `\`${c}\` = VALUES(\`${c}\`)`).join(', ')}`,
            chunk.flatMap((r) => cols.map((c) => r[c])),
          );
        }
        if (deletes.length) await admin.query(`DELETE FROM ${table} WHERE id IN (?)`, [deletes]);
      }),
    );
  };
  const ceilingBefore = await measureCeiling(scratches[0]!);
  await quiesce();
  cpu = cpuMeter(pids);
  t = Date.now();
  const perLane = Math.ceil(invocations.length / 4);
  await Promise.all(
    lanes.map(async (_l, i) => {
      for (const inv of invocations.filter((_, k) => Math.floor(k / perLane) === i)) {
        const res = await handler(inv);
        if (res.batchItemFailures.length) throw new Error(`apply reported ${res.batchItemFailures.length} failure(s)`);
      }
    }),
  );
  const applySec = (Date.now() - t) / 1000;
  const applyCpu = cpu();
  const ceilingAfter = await measureCeiling(scratches[1]!);
  const [check] = await checkAll(config, rt.ctx.source, rt.ctx.targets);
  const { sec: ceilingSec, cpu: ceilingCpu } = meanOf(ceilingBefore, ceilingAfter);
  console.log(`CPU: capture ${cpuText(captureCpu)}; binlog read alone ${cpuText(readCpu)}`);
  console.log(`CPU: apply ${cpuText(applyCpu)}; its ceiling ${cpuText(ceilingCpu)}`);
  for (const scratch of scratches) await admin.query(`DROP DATABASE IF EXISTS ${scratch}`);
  const applyRatio = Number((ceilingSec / applySec).toFixed(3));
  console.log(
    `apply ceiling (plain multi-row upserts of the final images, same events): ${ceilingSec.toFixed(2)}s = ${Math.round(applyEventCount / ceilingSec).toLocaleString('en-US')} events/s (mean of ${ceilingBefore.sec.toFixed(2)}s before apply and ${ceilingAfter.sec.toFixed(2)}s after); apply at ${applyRatio} of it (target ≥ 0.8)`,
  );
  console.log(`applied ${applyEventCount.toLocaleString('en-US')} events in ${applySec.toFixed(1)}s; one by one ${sample.length} in ${oneByOneSec.toFixed(1)}s; checksums ${check!.match ? 'MATCH' : 'MISMATCH'}`);

  // Lag under a sustained write load, with the local capture loop and pollers running.
  rt.cdc!.start();
  await rt.cdc!.drain(120_000);
  const lags: number[] = [];
  const writerPool = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 16, dateStrings: true });
  const reader = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: 2 });
  const router = routerFor(rt.ctx, tableConfig(rt.ctx, 'order_info'));
  const [idRows] = await writerPool.query<RowDataPacket[]>(`SELECT id, order_no, user_id FROM ${src} ORDER BY id LIMIT 5000`);
  const pending: { id: number; marker: string; at: number; where: string }[] = [];
  const end = Date.now() + lagSeconds * 1000;
  let writes = 0;
  const probe = (async () => {
    await Promise.resolve();
    while (Date.now() < end + 30_000 && (Date.now() < end || pending.length)) {
      const now = Date.now();
      for (const p of pending.splice(0, pending.length)) {
        const [r] = await reader.query<RowDataPacket[]>(`SELECT remark FROM ${p.where} WHERE id = ?`, [p.id]);
        if (r[0]?.remark === p.marker) lags.push((now - p.at) / 1000);
        else pending.push(p);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  while (Date.now() < end) {
    const tick = Date.now();
    const batch = Array.from({ length: 100 }, () => idRows[Math.floor(Math.random() * idRows.length)]!);
    await Promise.all(
      batch.map(async (row, n) => {
        const marker = `lag ${writes + n} ${tick}`;
        await writerPool.query(`UPDATE ${src} SET remark = ?, update_time = NOW(6) WHERE id = ?`, [marker, row.id]);
        if (n % 20 === 0) {
          const target = router.route(row);
          pending.push({ id: Number(row.id), marker, at: Date.now(), where: `\`${target.database}\`.\`${target.tableName}\`` });
        }
      }),
    );
    writes += batch.length;
    void probe.catch(() => undefined);
    const wait = 100 - (Date.now() - tick); // 100 writes per 100 ms = 1,000 writes/s
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const writeSec = lagSeconds;
  await probe;
  await rt.cdc!.drain(120_000);
  await writerPool.end();
  await reader.end();
  lags.sort((a, b) => a - b);
  const p95 = lags[Math.floor(lags.length * 0.95)] ?? Number.NaN;
  const [final] = await checkAll(config, rt.ctx.source, rt.ctx.targets);

  const result = {
    events: captured,
    captureEventsPerSec: Math.round(captured / captureSec),
    captureReadOnlyEventsPerSec: Math.round(captured / readOnlySec),
    captureReadAndPackEventsPerSec: Math.round(captured / readPackSec),
    // Capture against its own input: the binlog read alone, in the same run (target ≥ 0.8).
    captureReadAloneSeconds: { before: readBefore.sec, after: readAfter.sec },
    captureWorkerFirstReadSeconds: workerFirstReadSec,
    captureRatio: Number((readOnlySec / captureSec).toFixed(3)),
    applyEventsPerSec: Math.round(applyEventCount / applySec),
    applyOneByOneEventsPerSec: Math.round(sample.length / oneByOneSec),
    applyCeilingEventsPerSec: Math.round(applyEventCount / ceilingSec),
    applyCeilingSeconds: { before: ceilingBefore.sec, after: ceilingAfter.sec },
    applyRatio,
    lagP95Sec: Number(p95.toFixed(2)),
    lagSamples: lags.length,
    sourceWritesPerSec: Math.round(writes / writeSec),
    checksumMatch: check!.match && final!.match,
    // CPU seconds per phase and how busy the cores were: a ratio under 0.8 with every core busy is CPU-bound.
    cpu: {
      capture: captureCpu,
      readAlone: readCpu,
      apply: applyCpu,
      applyCeiling: ceilingCpu,
      captureWorkRatio: workRatio(readCpu, captureCpu),
      applyWorkRatio: workRatio(ceilingCpu, applyCpu),
    },
    calibration,
  };
  console.log(`capture ${result.captureEventsPerSec.toLocaleString('en-US')} events/s, apply ${result.applyEventsPerSec.toLocaleString('en-US')} events/s (one by one ${result.applyOneByOneEventsPerSec.toLocaleString('en-US')}), lag p95 ${result.lagP95Sec}s at ${result.sourceWritesPerSec} writes/s`);
  console.log(JSON.stringify(result));
  if (!result.checksumMatch) process.exitCode = 1;

  /** The naive apply: one statement per event, no merging, no batching. */
  async function applyOneByOne(e: ChangeEvent): Promise<void> {
    await applyEvents(rt!.ctx, [e]);
  }
} finally {
  await rt?.close();
  await stopQueues();
  for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
  await bench.stop();
}
