/**
 * Capture's read and pack in a worker thread (app/capture-pipeline.ts): flushes cross the thread boundary in
 * binlog order per group, a slow send holds the reader (at most a bounded number of flushes wait), a failed
 * read surfaces as the same typed error on capture's thread, and the checkpoint moves only after SQS accepted
 * every message of a read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { seedOrders } from '../../local/seed.js';
import { currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { BinlogPositionError } from '../../lambdas/adapters/binlog/stream.js';
import { ChangeQueue } from '../../lambdas/adapters/sqs.js';
import { captureReadOptions, captureRun, capturedTables, sourceBinlogReader, type ReadChanges } from '../../lambdas/app/capture.js';
import { captureWorkerFile, readPackedInWorker, type WorkerReadOptions } from '../../lambdas/app/capture-pipeline.js';
import type { PackedFlush, PackRequest } from '../../lambdas/app/capture-pack.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { decodeEvents } from '../../lambdas/core/events/wire.js';
import { comparePositions, type BinlogPosition } from '../../lambdas/core/position.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { dropPrefixed, rootPool, testConfig, uniquePrefix } from '../helpers/db.js';
import { recordCommits } from '../helpers/binlog.js';

const prefix = uniquePrefix('pipeline');
const config = parseConfig({ ...testConfig(prefix, { databases: 2, tablesPerDb: 2, pageSize: 500, segments: 2, concurrency: 2, items: false }), cdc: { enabled: true, worker: true, serverId: 8000 + Math.floor(Math.random() * 50_000) } });
const src = `\`${config.source.database!}\`.order_info`;
const file = captureWorkerFile()!;
let pool: Pool;
let from: BinlogPosition;
let to: BinlogPosition;

/** The read's options as capture gives them, from `from` up to `to`. */
const readOptions = (over: Partial<WorkerReadOptions> = {}): WorkerReadOptions => ({
  connection: { host: '127.0.0.1', port: config.source.port, user: 'root', password: '' },
  ...captureReadOptions(config),
  serverId: config.cdc.serverId,
  from,
  until: to,
  sources: capturedTables(config, 0),
  idleMs: 2000,
  deadlineMs: Date.now() + 60_000,
  batchSize: 50,
  ...over,
});
const packRequest = (sendEvents = 50): PackRequest => ({ config, reverse: false, dedupPrefix: '', sendEvents, maxBufferMs: 10_000 });

beforeAll(async () => {
  pool = rootPool();
  await seedOrders(pool, config.source.database!, { orders: 1000, itemsPerOrder: 0, seed: 23 });
  from = await currentPosition(pool);
  // 3,000 changes: each row of 1..300 updated ten times, one statement a pass (a row's changes are in order).
  for (let pass = 1; pass <= 10; pass++) await pool.query(`UPDATE ${src} SET remark = ? WHERE id BETWEEN 1 AND 300`, [`pass ${pass}`]);
  to = await currentPosition(pool);
});
afterAll(async () => {
  await dropPrefixed(pool, prefix);
  await pool.end();
});

describe('capture pipeline (worker thread)', () => {
  it('hands every flush over in order: each row changes in binlog order within its group, none lost or repeated', async () => {
    const flushes: PackedFlush[] = [];
    const result = await readPackedInWorker(readOptions(), { ...packRequest(), onPacked: async (f) => void flushes.push(f) }, file);
    expect(result.events).toBe(3000);
    expect(comparePositions(result.position, to)).toBeGreaterThanOrEqual(0);
    expect(flushes.reduce((a, f) => a + f.events, 0)).toBe(3000);
    const passes = new Map<string, number[]>();
    const groupOfRow = new Map<string, string>();
    const lastOfGroup = new Map<string, { position: BinlogPosition; rowIndex: number }>();
    for (const f of flushes)
      for (const m of f.messages) {
        const events = decodeEvents(JSON.parse(m.body));
        expect(events).toHaveLength(m.events);
        for (const e of events) {
          const id = String(e.after!.id);
          // A row stays in one group, and its group's events come in binlog order.
          expect(groupOfRow.get(id) ?? m.groupId).toBe(m.groupId);
          groupOfRow.set(id, m.groupId);
          const prev = lastOfGroup.get(m.groupId);
          if (prev) expect(comparePositions(prev.position, e.position) || prev.rowIndex - e.rowIndex).toBeLessThan(0);
          lastOfGroup.set(m.groupId, e);
          passes.set(id, [...(passes.get(id) ?? []), Number(String(e.after!.remark).slice(5))]);
        }
      }
    expect(passes.size).toBe(300);
    for (const list of passes.values()) expect(list).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a slow send holds the reader: no more than two flushes are posted ahead of the one being sent', async () => {
    const taken: number[] = [];
    const posted: number[] = [];
    const result = await readPackedInWorker(
      readOptions(),
      {
        ...packRequest(),
        onPacked: async (f) => {
          taken.push(Date.now());
          posted.push(f.postedAt);
          await new Promise((r) => setTimeout(r, 40));
        },
      },
      file,
    );
    expect(result.events).toBe(3000);
    expect(taken.length).toBeGreaterThanOrEqual(20);
    // When flush k was taken, at most k + 1 + 2 had been posted (this one, the ones before it, two ahead).
    for (let k = 0; k < taken.length; k++) expect(posted.filter((p) => p <= taken[k]!).length).toBeLessThanOrEqual(k + 3);
    // And the reader went at the sender's pace: the last flush was posted long after the first was taken.
    expect(posted.at(-1)! - taken[0]!).toBeGreaterThan(40 * (taken.length - 4));
  });

  it('a failed read surfaces as its typed error on capture’s thread', async () => {
    const onPacked = () => Promise.resolve();
    const gone = readPackedInWorker(readOptions({ from: { file: `${from.file.replace(/\d+$/, '')}999999`, position: 4 }, until: undefined }), { ...packRequest(), onPacked }, file);
    await expect(gone).rejects.toBeInstanceOf(BinlogPositionError);
    const invalid = readPackedInWorker(readOptions({ serverId: 0 }), { ...packRequest(), onPacked }, file);
    await expect(invalid).rejects.toBeInstanceOf(ConfigError);
    await expect(invalid).rejects.toMatchObject({ issues: [expect.stringMatching(/^serverId/)] });
  });

  it('a failed send ends the read: nothing after it is sent', async () => {
    let calls = 0;
    const failing = readPackedInWorker(
      readOptions(),
      {
        ...packRequest(),
        onPacked: async () => {
          if (++calls === 3) throw new Error('send 3 failed');
          await new Promise((r) => setTimeout(r, 10));
        },
      },
      file,
    );
    await expect(failing).rejects.toThrow('send 3 failed');
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(3);
  });
});

describe('capture through the worker', () => {
  let rt: LocalRuntime;
  beforeAll(async () => {
    rt = await LocalRuntime.start({ config });
    await rt.execute().result; // plan records the capture position, then the copy runs
  });
  afterAll(async () => {
    await rt?.close();
  });

  /** The source reader, failing the test if any event reaches capture's own thread (the worker packs them all). */
  const packedOnly = (): ReadChanges => {
    const read = sourceBinlogReader(config);
    return (opts) => read({ ...opts, onBatch: () => Promise.reject(new Error('an event reached capture’s thread')) });
  };

  it('checkpoints only after SQS accepted every message of the read', async () => {
    const before = (await rt.store.getCapture(config.migrationId))!;
    await pool.query(`UPDATE ${src} SET remark = 'checkpoint' WHERE id BETWEEN 301 AND 700`);
    const sends: { start: number; end: number }[] = [];
    const queue = new (class extends ChangeQueue {
      override async send(messages: Parameters<ChangeQueue['send']>[0]): Promise<void> {
        const entry = { start: Date.now(), end: Number.POSITIVE_INFINITY };
        sends.push(entry);
        await new Promise((r) => setTimeout(r, 30));
        await super.send(messages);
        entry.end = Date.now();
      }
    })(rt.cdc!.queue.sqs, rt.cdc!.queue.queueUrl);
    const { commits, restore } = recordCommits(rt.ctx.store);
    let events = 0;
    try {
      for (let i = 0; i < 10; i++) {
        const run = await captureRun(rt.ctx, { queue, read: packedOnly() }, { owner: `pipelined-${i}`, budgetMs: 10_000, idleMs: 300, sendEvents: 100, batchSize: 100 });
        events += run.events;
        if (run.caughtUp) break;
      }
    } finally {
      restore();
    }
    expect(events).toBeGreaterThanOrEqual(400);
    // How many flushes 400 events make depends on how the reader batches them (at least 100 each): two or more.
    expect(sends.length).toBeGreaterThanOrEqual(2);
    // Every send started before a checkpoint had ended before it.
    expect(commits.length).toBeGreaterThan(0);
    for (const c of commits) for (const s of sends.filter((x) => x.start < c)) expect(s.end).toBeLessThanOrEqual(c);
    expect(comparePositions((await rt.store.getCapture(config.migrationId))!.position, before.position)).toBeGreaterThan(0);
  });

  it('a failed send leaves the checkpoint where it was', async () => {
    const before = (await rt.store.getCapture(config.migrationId))!;
    await pool.query(`UPDATE ${src} SET remark = 'failing' WHERE id BETWEEN 701 AND 1000`);
    let sends = 0;
    const queue = new (class extends ChangeQueue {
      override async send(): Promise<void> {
        if (++sends === 2) throw new Error('send 2 failed');
        await new Promise((r) => setTimeout(r, 20));
      }
    })(rt.cdc!.queue.sqs, rt.cdc!.queue.queueUrl);
    await expect(captureRun(rt.ctx, { queue, read: packedOnly() }, { owner: 'failing', budgetMs: 10_000, idleMs: 300, sendEvents: 50, batchSize: 50 })).rejects.toThrow('send 2 failed');
    expect(sends).toBe(2);
    expect((await rt.store.getCapture(config.migrationId))!.position).toEqual(before.position);
  });
});
