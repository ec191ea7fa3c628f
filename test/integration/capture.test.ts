/**
 * Capture crashes and duplicate delivery: the capture dies at seeded points (before SQS accepted a batch,
 * or after SQS accepted it but before the position checkpoint) and the next run resumes from the
 * checkpoint; replays, SQS deduplication and re-deliveries after the dedup window change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { startDynamo, startQueues, type LocalDynamo, type LocalQueues } from '../../local/emulators.js';
import { rng, seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { Poller } from '../../local/poller.js';
import { ChangeQueue } from '../../lambdas/adapters/sqs.js';
import { readChanges } from '../../lambdas/adapters/binlog/reader.js';
import { captureRun, type ReadChanges } from '../../lambdas/app/capture.js';
import { makeApplyHandler } from '../../lambdas/handlers/apply.js';
import type { OutgoingMessage } from '../../lambdas/core/events/model.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';
import { recordCommits } from '../helpers/binlog.js';

class Crash extends Error {}

/** A queue whose n-th send dies before or after SQS accepts the messages. */
class CrashingQueue extends ChangeQueue {
  calls = 0;
  sent: OutgoingMessage[] = [];
  constructor(
    base: ChangeQueue,
    private readonly crashAt: number,
    private readonly when: 'beforeSend' | 'afterSend',
  ) {
    super(base.sqs, base.queueUrl);
  }
  override async send(messages: readonly OutgoingMessage[]): Promise<void> {
    const n = ++this.calls;
    if (n === this.crashAt && this.when === 'beforeSend') throw new Crash('killed before SQS accepted the batch');
    await super.send(messages);
    this.sent.push(...messages);
    if (n === this.crashAt && this.when === 'afterSend') throw new Crash('killed after SQS accepted the batch, before the checkpoint');
  }
}

const prefix = uniquePrefix('capture');
const base = testConfig(prefix, { databases: 2, tablesPerDb: 2, pageSize: 500, segments: 2, concurrency: 2, items: false });
const config = parseConfig({ ...base, cdc: { enabled: true, serverId: 8000 + Math.floor(Math.random() * 50_000) } });
const src = `\`${config.source.database!}\`.order_info`;
let pool: Pool;
let dynamo: LocalDynamo;
let queues: LocalQueues;
let rt: LocalRuntime;

beforeAll(async () => {
  pool = rootPool();
  await seedOrders(pool, config.source.database!, { orders: 2000, itemsPerOrder: 0, seed: 17 });
  dynamo = await startDynamo();
  queues = await startQueues({ maxReceiveCount: 5, visibilityTimeout: 5 });
  rt = await LocalRuntime.start({ config, dynamo, queues });
  await rt.execute().result; // plan records the capture position, then the copy runs
});
afterAll(async () => {
  await rt?.close();
  await queues?.close();
  await dynamo?.close();
  await dropPrefixed(pool, prefix);
  await pool.end();
});

describe('capture crashes', () => {
  it('dies at 12 seeded points; every run resumes from the checkpoint; nothing lost, nothing out of order', async () => {
    const queue = new ChangeQueue(queues.sqs, queues.queueUrl);
    const read: ReadChanges = (opts) =>
      readChanges({ ...opts, batchSize: 50, connection: { host: '127.0.0.1', port: config.source.port, user: 'root', password: '' }, serverId: config.cdc.serverId });
    const poller = new Poller({ queue, queueArn: queues.queueArn, handler: makeApplyHandler(async () => rt.ctx), concurrency: 3, visibilityTimeout: 5 });
    poller.start();
    try {
      const rand = rng(4242);
      let step = 0;
      /** One key changed in strict order (its last value must win), plus random changes elsewhere. */
      const write = async (n: number) => {
        for (let i = 0; i < n; i++) {
          step++;
          await pool.query(`UPDATE ${src} SET remark = ?, status = ? WHERE id = 42`, [`step ${step}`, step % 7]);
          if (step % 3 === 0) await pool.query(`UPDATE ${src} SET amount = amount + 1 WHERE id = ?`, [1 + Math.floor(rand() * 2000)]);
          if (step % 25 === 0) await pool.query(`DELETE FROM ${src} WHERE id = ?`, [100 + step]);
        }
      };
      let crashes = 0;
      for (let run = 0; run < 60 && crashes < 12; run++) {
        await write(40);
        const when = rand() < 0.5 ? 'beforeSend' : 'afterSend';
        const q = new CrashingQueue(queue, 1 + Math.floor(rand() * 2), when);
        try {
          await captureRun(rt.ctx, { queue: q, read }, { owner: `run-${run}`, budgetMs: 5000, maxEventsPerRead: 30, idleMs: 300 });
        } catch (err) {
          if (!(err instanceof Crash)) throw err;
          crashes++;
        }
      }
      // A clean run catches up with whatever the crashed ones left.
      for (let i = 0; i < 20 && !(await captureRun(rt.ctx, { queue, read }, { owner: 'final', budgetMs: 5000, idleMs: 300 })).caughtUp; i++);
      expect(crashes).toBe(12);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const d = await queue.depth();
        if (d.visible + d.inFlight === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await poller.stop();
    }
    const [[row]] = (await pool.query(`SELECT remark FROM ${src} WHERE id = 42`)) as unknown as [[{ remark: string }]];
    expect(row.remark).toMatch(/^step \d+$/);
    expect(Number(row.remark.slice(5))).toBeGreaterThanOrEqual(12 * 40);
    const [check] = await checkAll(config, pool, [pool]);
    expect(check!.targets.filter((t) => !t.match)).toEqual([]);
    expect(check!.targetRows).toBe(check!.sourceRows);
  });

  it('a redelivery after the deduplication window (same events, new dedup ids) changes nothing', async () => {
    const queue = new ChangeQueue(queues.sqs, queues.queueUrl);
    const captured: OutgoingMessage[] = [];
    const recorder = new (class extends ChangeQueue {
      override async send(messages: readonly OutgoingMessage[]) {
        captured.push(...messages);
        await super.send(messages);
      }
    })(queues.sqs, queues.queueUrl);
    const read: ReadChanges = (opts) => readChanges({ ...opts, connection: { host: '127.0.0.1', port: config.source.port, user: 'root', password: '' }, serverId: config.cdc.serverId });
    await pool.query(`UPDATE ${src} SET remark = 'once' WHERE id BETWEEN 500 AND 520`);
    await pool.query(`UPDATE ${src} SET remark = 'twice' WHERE id BETWEEN 500 AND 510`);
    await captureRun(rt.ctx, { queue: recorder, read }, { owner: 'dedup', budgetMs: 5000, idleMs: 300 });
    expect(captured.length).toBeGreaterThan(0);
    // Five minutes later SQS no longer deduplicates: the same events arrive again, after everything else.
    await queue.send(captured.map((m) => ({ ...m, dedupId: `${m.dedupId}-late` })));
    const poller = new Poller({ queue, queueArn: queues.queueArn, handler: makeApplyHandler(async () => rt.ctx), concurrency: 2, visibilityTimeout: 5 });
    poller.start();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const d = await queue.depth();
      if (d.visible + d.inFlight === 0 && poller.processed >= captured.length * 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await poller.stop();
    const [check] = await checkAll(config, pool, [pool]);
    expect(check!.targets.filter((t) => !t.match)).toEqual([]);
  });
});

describe('capture sends behind the read', () => {
  /** A read that hands over `batches` batches of one update each (order_info rows 1..n) once; later reads find nothing new. */
  const syntheticRead = (batches: number): ReadChanges => {
    let done = false;
    return async (opts) => {
      if (done) return { position: opts.from, events: 0 };
      done = true;
      for (let b = 0; b < batches; b++) {
        const row = { id: String(b + 1), order_no: `20260601${String(b + 1).padStart(10, '0')}`, user_id: String(b + 1) };
        await opts.onBatch([{ table: 'order_info', op: 'update', before: row, after: { ...row, remark: `b${b}` }, position: { file: opts.from.file, position: opts.from.position + 100 * (b + 1) }, rowIndex: 0, timestamp: Date.now() }]);
      }
      return { position: { file: opts.from.file, position: opts.from.position + 100 * batches + 50 }, events: batches };
    };
  };

  /** Records sends; the `failAt`-th fails after a while; every send takes `ms`. */
  class SlowQueue extends ChangeQueue {
    readonly log: { n: number; start: number; end?: number; ok: boolean }[] = [];
    constructor(private readonly ms: number, private readonly failAt?: number) {
      super(queues.sqs, queues.queueUrl);
    }
    override async send(): Promise<void> {
      const entry: { n: number; start: number; end?: number; ok: boolean } = { n: this.log.length + 1, start: Date.now(), ok: false };
      this.log.push(entry);
      await new Promise((r) => setTimeout(r, this.ms));
      entry.end = Date.now();
      if (entry.n === this.failAt) throw new Crash(`send ${entry.n} failed`);
      entry.ok = true;
    }
  }

  it('sends every flush, one after another, before the checkpoint moves', async () => {
    const before = (await rt.store.getCapture(config.migrationId))!;
    const queue = new SlowQueue(30);
    const { commits, restore } = recordCommits(rt.ctx.store);
    try {
      const run = await captureRun(rt.ctx, { queue, read: syntheticRead(5) }, { owner: 'pipelined', budgetMs: 5000, sendEvents: 1, maxEventsPerRead: 5 });
      expect(run.events).toBe(5);
    } finally {
      restore();
    }
    expect(queue.log.map((s) => s.n)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < queue.log.length; i++) expect(queue.log[i]!.start).toBeGreaterThanOrEqual(queue.log[i - 1]!.end!);
    expect(commits[0]).toBeGreaterThanOrEqual(queue.log[4]!.end!);
    // (A made-up position past the real binlog: no later test here reads the binlog.)
    expect((await rt.store.getCapture(config.migrationId))!.position).toEqual({ file: before.position.file, position: before.position.position + 550 });
  });

  it('a failed send stops every later send of the run, and the checkpoint stays where it was', async () => {
    const before = (await rt.store.getCapture(config.migrationId))!;
    const queue = new SlowQueue(40, 1);
    await expect(captureRun(rt.ctx, { queue, read: syntheticRead(6) }, { owner: 'failing', budgetMs: 5000, sendEvents: 1, maxEventsPerRead: 6 })).rejects.toThrow(/send 1 failed/);
    expect(queue.log).toHaveLength(1);
    const after = (await rt.store.getCapture(config.migrationId))!;
    expect(after.position).toEqual(before.position);
    // The lease was released: another run may start at once.
    const held = await rt.store.acquireCapture(config.migrationId, 'next', 10_000);
    await rt.store.releaseCapture(config.migrationId, held, 'next');
  });
});
