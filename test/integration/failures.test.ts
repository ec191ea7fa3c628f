/**
 * Failure handling on the real stack: a persistently failing segment, fencing of a stale worker,
 * and bad input (missing scroll index, unreachable database, unroutable rows).
 */
import { describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { States } from '../../lib/full-copy-state-machine.js';
import { ensureStateTable, LOCAL_AWS } from '../../local/emulators.js';
import { seedOrders } from '../../local/seed.js';
import { checkAll } from '../../local/checksum.js';
import { migrationStatus } from '../../lambdas/app/status.js';
import { plan } from '../../lambdas/app/plan.js';
import { buildContext, closeContext } from '../../lambdas/app/build-context.js';
import { dynamoClient, StateStore } from '../../lambdas/adapters/state-store.js';
import { LeaseHeldError, LeaseLostError, SchemaError, TransientError } from '../../lambdas/core/errors.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 100, segments: 4, concurrency: 2, leaseSeconds: 2, items: false });
const fresh = suite.config;

describe('a persistently failing segment', () => {
  it('fails its child and the execution (redrive-able), records the error and retries, and a rerun resumes from the checkpoints', async () => {
    const config = fresh('failseg');
    await seedOrders(suite.pool, config.source.database!, { orders: 1200, itemsPerOrder: 0, seed: 3 });
    let broken = true;
    const touched: number[] = [];
    const hooks = {
      beforePage: (_t: string, segment: number) => {
        touched.push(segment);
        if (broken && segment === 2) throw new TransientError('injected: target shard unavailable');
      },
    };
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, hooks, retryIntervalMs: 20 });
    try {
      // The child fails in CopyBatch once its retries are spent; the Map Run (tolerance 0) fails with it.
      await expect(rt.execute().result).rejects.toThrow(/injected: target shard unavailable/);
      const view = await migrationStatus(config, rt.store);
      const segs = view.tables[0]!.segments;
      expect(segs[2]!.status).toBe('FAILED');
      expect(segs[2]!.error).toMatch(/TransientError: injected: target shard unavailable/);
      // 1 attempt + 6 retries of the state machine, each counted by copy-batch.
      expect(segs[2]!.retries).toBe(7);
      expect(view.status).toBe('FAILED');
      // Aborted children stopped at a page boundary: whatever they committed stays.
      const committed = segs.map((s) => s.pagesDone);

      broken = false;
      touched.length = 0;
      // Redrive of the failed child: it restarts at CopyBatch with the same input and resumes from the checkpoint.
      // A child ends with empty output (nothing of it counts against the Map); its checkpoint says DONE.
      const child = await rt.executeChild(States.map, { migrationId: config.migrationId, table: 'order_info', segment: 2 }).result;
      expect(child).toEqual({});
      expect(new Set(touched)).toEqual(new Set([2]));
      expect((await migrationStatus(config, rt.store)).tables[0]!.segments[2]).toMatchObject({ status: 'DONE', retries: 7 });
      // The rest (aborted children, verification, finalize): a new execution picks up whatever is unfinished.
      touched.length = 0;
      await rt.execute().result;
      // Only unfinished segments copy pages again, each from its checkpoint.
      for (const [i, s] of segs.entries()) if (s.status === 'DONE') expect(touched).not.toContain(i);
      expect(touched).not.toContain(2);
      const after = await migrationStatus(config, rt.store);
      expect(after.status).toBe('DONE');
      for (const [i, s] of after.tables[0]!.segments.entries()) expect(s.pagesDone).toBeGreaterThanOrEqual(committed[i]!);
      expect(after.tables[0]!.rowsCopied).toBe(1200);

      // Rerun one segment by hand (StartExecution input `only`): only it is touched, and verified again.
      touched.length = 0;
      await rt.execute({ only: [{ table: 'order_info', segment: 3 }] }).result;
      expect(touched).toEqual([]); // DONE: nothing left to copy
      expect((await rt.store.verifyBatches(config.migrationId, 'order_info', 3)).length).toBeGreaterThan(0);
      await expect(rt.execute({ only: [{ table: 'order_info', segment: 99 }] }).result).rejects.toThrow(/only: segment order_info#99 does not exist/);
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.match).toBe(true);
    } finally {
      await rt.close();
    }
  });
});

describe('fencing', () => {
  it('a stale worker whose lease expired cannot move the checkpoint', async () => {
    await ensureStateTable(suite.dynamo.client, 'fencing');
    let now = 1_000_000;
    const store = new StateStore(dynamoClient({ ...LOCAL_AWS, endpoint: suite.dynamo.endpoint }), 'fencing', () => now);
    await store.ensureSegments('m1', 't', [{ index: 0, lo: null, hi: null }]);
    const a = await store.acquire('m1', 't', 0, 'worker-a', 1000);
    await expect(store.acquire('m1', 't', 0, 'worker-b', 1000)).rejects.toBeInstanceOf(LeaseHeldError);
    const page = { cursor: '100', rows: 100, inserted: 100, updated: 0, skipped: 0, done: false };
    const a1 = await store.commitPage('m1', a, 'worker-a', 1000, page);
    expect(a1.cursor).toBe('100');

    now += 5000; // a's lease expires…
    await expect(store.commitPage('m1', a1, 'worker-a', 1000, { ...page, cursor: '150' })).rejects.toBeInstanceOf(LeaseLostError);
    const b = await store.acquire('m1', 't', 0, 'worker-b', 1000); // …and b takes over (new token)
    expect(b.leaseToken).toBe(a1.leaseToken + 1);
    now -= 4500; // even if a's clock says its lease is still valid, its token is stale
    await expect(store.commitPage('m1', a1, 'worker-a', 1000, { ...page, cursor: '999' })).rejects.toBeInstanceOf(LeaseLostError);
    const b1 = await store.commitPage('m1', b, 'worker-b', 1000, { ...page, cursor: '200' });
    expect(b1).toMatchObject({ cursor: '200', pagesDone: 2, rowsCopied: 200 });
    // Progress only moves forward: replaying b's earlier view of the checkpoint fails.
    await expect(store.commitPage('m1', b, 'worker-b', 1000, { ...page, cursor: '300' })).rejects.toBeInstanceOf(LeaseLostError);
    expect((await store.getSegment('m1', 't', 0))!.cursor).toBe('200');
  });
});

describe('bad input', () => {
  it('plan refuses a scroll key that is not unique, or that no index serves, naming the index to add', async () => {
    const config = fresh('noidx');
    const src = `\`${config.source.database!}\`.\`order_info\``;
    await seedOrders(suite.pool, config.source.database!, { orders: 50, itemsPerOrder: 0 });
    await suite.pool.query(`ALTER TABLE ${src} ADD COLUMN seq BIGINT NOT NULL DEFAULT 0, ADD COLUMN maybe BIGINT NULL`);
    await suite.pool.query(`UPDATE ${src} SET seq = id * 10`);
    const planWith = async (scrollKey: string | string[]) => {
      const c = parseConfig({ ...config, tables: [{ ...config.tables[0]!, scrollKey }] });
      const ctx = await buildContext({ config: c, store: new StateStore(dynamoClient({ ...LOCAL_AWS, endpoint: suite.dynamo.endpoint }), 'x'), workerId: 't' });
      try {
        const err = await plan(ctx, { dryRun: true }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SchemaError);
        return (err as Error).message;
      } finally {
        await closeContext(ctx);
      }
    };
    // Not unique: seq has no unique index (its values happen to be unique: a unique index is the fix).
    expect(await planWith('seq')).toContain(`scroll key seq is not unique: no unique index lies within its columns (unique indexes: PRIMARY (id))`);
    expect(await planWith('seq')).toContain(`ALTER TABLE ${src} ADD UNIQUE INDEX \`uk_seq\` (\`seq\`);`);
    // Unique (the primary key lies within it) but no index starts with seq: the index to add.
    const noIndex = await planWith(['seq', 'id']);
    expect(noIndex).toMatch(/no index serves the keyset scroll on seq, id/);
    expect(noIndex).toContain(`ALTER TABLE ${src} ADD INDEX \`idx_seq_id\` (\`seq\`, \`id\`);`);
    // A column that may be NULL: rows with a NULL key would never be read.
    expect(await planWith(['id', 'maybe'])).toMatch(/scroll key \(id, maybe\): maybe may be NULL, and a keyset scroll never reads a row whose key is NULL/);
  });

  it('an unreachable database is named in the error', async () => {
    const config = fresh('unreach');
    const bad = parseConfig({ ...config, source: { ...config.source, port: 1, connectTimeoutMs: 500 } });
    const ctx = await buildContext({ config: bad, store: new StateStore(dynamoClient({ ...LOCAL_AWS, endpoint: suite.dynamo.endpoint }), 'x'), workerId: 't' });
    try {
      await expect(plan(ctx, { dryRun: true })).rejects.toThrow(/cannot reach source 127\.0\.0\.1:1: ECONNREFUSED/);
    } finally {
      await closeContext(ctx);
    }
  });

  it('a row whose shard keys are NULL or non-numeric fails its batch with an error naming the row, loses nothing, and retry completes after the fix', async () => {
    const config = fresh('badrow', { segments: 1 });
    await seedOrders(suite.pool, config.source.database!, { orders: 500, itemsPerOrder: 0, seed: 5 });
    const db = `\`${config.source.database!}\``;
    await suite.pool.query(`UPDATE ${db}.order_info SET order_no = NULL, user_id = NULL WHERE id = 250`);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 20 });
    try {
      await expect(rt.execute().result).rejects.toThrow(/order_info row id=250: every shard key column/);
      let seg = (await migrationStatus(config, rt.store)).tables[0]!.segments[0]!;
      expect(seg.status).toBe('FAILED');
      expect(seg.error).toMatch(/RowRoutingError: order_info row id=250: every shard key column \(order_no, user_id\) is NULL or empty/);
      // Not retried: a bad row is not transient. The pages before it are kept.
      expect(seg.retries).toBe(1);
      expect(seg.rowsCopied).toBe(200);

      await suite.pool.query(`UPDATE ${db}.order_info SET order_no = 'SO-X12' WHERE id = 250`);
      await expect(rt.execute().result).rejects.toThrow(/order_info row id=250: cannot route shard key "SO-X12"/);

      await suite.pool.query(`UPDATE ${db}.order_info SET order_no = '20260101000000250' WHERE id = 250`);
      await rt.execute().result;
      seg = (await migrationStatus(config, rt.store)).tables[0]!.segments[0]!;
      expect(seg.status).toBe('DONE');
      const [check] = await checkAll(config, suite.pool, [suite.pool]);
      expect(check!.sourceRows).toBe(500);
      expect(check!.match).toBe(true);
    } finally {
      await rt.close();
    }
  });
});
