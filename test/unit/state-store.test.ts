/**
 * The state store on dynalite: plans made once, segment and capture leases (held, released, fenced by
 * token, forward-only commits), failed attempts, verification state and tombstones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStateTable, LOCAL_AWS, startDynamo, type LocalDynamo } from '../../local/emulators.js';
import { dynamoClient, StateStore } from '../../lambdas/adapters/state-store.js';
import { LeaseHeldError, LeaseLostError } from '../../lambdas/core/errors.js';
import { sortableKey, type TablePlan, type VerifyBatchState } from '../../lambdas/core/model.js';

let dynamo: LocalDynamo;
let now = 1_000_000;
let store: StateStore;

beforeAll(async () => {
  dynamo = await startDynamo();
  await ensureStateTable(dynamo.client, 'state');
  store = new StateStore(dynamoClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint }), 'state', () => now);
});
afterAll(async () => dynamo?.close());

const plan = (table: string): TablePlan => ({ table, keyKind: 'int', columns: ['id'], segments: 2, minKey: '1', maxKey: '200', createdAt: 1 });
const segments = [
  { index: 0, lo: null, hi: '100' },
  { index: 1, lo: '100', hi: null },
];
const page = { cursor: '50', rows: 50, inserted: 50, updated: 0, skipped: 0, done: false };

describe('plans', () => {
  it('are made once, with their segments', async () => {
    expect(await store.savePlanIfAbsent('p', plan('t'), segments)).toBe(true);
    expect(await store.savePlanIfAbsent('p', { ...plan('t'), segments: 9 }, [])).toBe(false);
    expect(await store.getPlan('p', 't')).toMatchObject({ segments: 2 });
    expect((await store.plans('p')).map((p) => p.table)).toEqual(['t']);
    expect(await store.segments('p', 't')).toMatchObject([
      { segment: 0, status: 'INIT', cursor: null, hi: '100', leaseToken: 0 },
      { segment: 1, status: 'INIT', cursor: '100', hi: null, leaseToken: 0 },
    ]);
  });
});

describe('segment leases', () => {
  it('hold, release, fence and finish', async () => {
    await store.ensureSegments('s', 't', segments);
    await expect(store.acquire('s', 't', 7, 'a', 1000)).rejects.toThrow(/segment t#7 of s does not exist: run plan first/);

    const a = await store.acquire('s', 't', 0, 'a', 1000);
    expect(a).toMatchObject({ status: 'RUNNING', leaseOwner: 'a', leaseToken: 1, leaseExpiry: now + 1000 });
    const held = await store.acquire('s', 't', 0, 'b', 1000).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(LeaseHeldError);
    expect(held).toMatchObject({ owner: 'a', expiresAt: now + 1000, message: `segment t#0 is leased by a until ${new Date(now + 1000).toISOString()}` });

    await store.release('s', a, 'b'); // not b's lease: nothing happens
    expect(await store.getSegment('s', 't', 0)).toMatchObject({ leaseOwner: 'a' });
    await store.release('s', a, 'a');
    const b = await store.acquire('s', 't', 0, 'b', 1000);
    expect(b).toMatchObject({ leaseOwner: 'b', leaseToken: 2 });
    await expect(store.commitPage('s', a, 'a', 1000, page)).rejects.toBeInstanceOf(LeaseLostError);

    const b1 = await store.commitPage('s', b, 'b', 1000, page);
    expect(b1).toMatchObject({ cursor: '50', pagesDone: 1, rowsCopied: 50 });
    // The same commit again (a retry whose first try took effect, its response lost): the checkpoint it made, counted once.
    expect(await store.commitPage('s', b, 'b', 1000, page)).toMatchObject({ cursor: '50', pagesDone: 1, rowsCopied: 50 });
    // Another page from the stale checkpoint: refused.
    const err = await store.commitPage('s', b, 'b', 1000, { ...page, cursor: '60' }).catch((e: unknown) => e);
    expect((err as LeaseLostError).message).toBe('checkpoint of t#0 not moved: lease or progress changed (held token 2 at page 0, now owner b token 2 page 1)');
    expect((err as LeaseLostError).current).toMatchObject({ pagesDone: 1, leaseOwner: 'b' });

    const done = await store.commitPage('s', b1, 'b', 1000, { ...page, cursor: '100', done: true });
    expect(done).toMatchObject({ status: 'DONE', cursor: '100', pagesDone: 2, rowsCopied: 100, finishedAt: now });
    expect(await store.commitPage('s', b1, 'b', 1000, { ...page, cursor: '100', done: true })).toMatchObject({ status: 'DONE', pagesDone: 2, rowsCopied: 100 });
    expect(done.leaseOwner).toBeUndefined();
    expect(await store.acquire('s', 't', 0, 'c', 1000)).toMatchObject({ status: 'DONE', leaseToken: 2 });
    expect((await store.acquire('s', 't', 0, 'c', 1000)).leaseOwner).toBeUndefined();

    expect(await store.reopenSegment('s', 't', 0)).toBe(true);
    expect(await store.reopenSegment('s', 't', 0)).toBe(false);
    expect(await store.getSegment('s', 't', 0)).toMatchObject({ status: 'RUNNING', cursor: '100' });
  });

  it('a throttled segment records why and renews its lease; a stale worker cannot; the next page clears it', async () => {
    await store.ensureSegments('th', 't', segments);
    const a = await store.acquire('th', 't', 0, 'a', 1000);
    const reason = { metric: 'Threads_running' as const, value: 31, limit: 25, where: 'target db 1', reason: 'Threads_running 31 > 25 on target db 1', since: now, at: now };
    now += 500;
    const marked = await store.markThrottled('th', a, 'a', 1000, { ...reason, at: now });
    expect(marked).toMatchObject({ leaseOwner: 'a', leaseToken: a.leaseToken, leaseExpiry: now + 1000, pagesDone: 0, throttled: { ...reason, at: now } });
    await expect(store.markThrottled('th', a, 'b', 1000, reason)).rejects.toBeInstanceOf(LeaseLostError);
    const replica = { metric: 'replica lag' as const, value: null, limit: 5, where: 'replica r:3306', reason: 'replica lag unknown (replication not running) on replica r:3306', since: now, at: now };
    expect((await store.markThrottled('th', marked, 'a', 1000, replica)).throttled).toEqual(replica);
    const next = await store.commitPage('th', marked, 'a', 1000, page);
    expect(next).toMatchObject({ pagesDone: 1, leaseOwner: 'a' });
    expect(next.throttled).toBeUndefined();
    now += 2000;
    await expect(store.markThrottled('th', next, 'a', 1000, reason)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('an expired lease is taken over with a new token', async () => {
    await store.ensureSegments('x', 't', segments);
    const a = await store.acquire('x', 't', 1, 'a', 1000);
    now += 1001;
    await expect(store.commitPage('x', a, 'a', 1000, page)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.acquire('x', 't', 1, 'b', 1000)).toMatchObject({ leaseOwner: 'b', leaseToken: 2 });
  });

  it('record failed attempts, releasing the lease only for its holder, and leave DONE segments alone', async () => {
    await store.ensureSegments('e', 't', segments);
    await store.acquire('e', 't', 0, 'a', 1000);
    await store.recordError('e', 't', 0, 'a', 'boom');
    const failed = await store.getSegment('e', 't', 0);
    expect(failed).toMatchObject({ status: 'FAILED', lastError: 'boom', retries: 1 });
    expect(failed!.leaseOwner).toBeUndefined();

    const b = await store.acquire('e', 't', 0, 'b', 1000);
    await store.recordError('e', 't', 0, 'a', 'late');
    expect(await store.getSegment('e', 't', 0)).toMatchObject({ status: 'FAILED', lastError: 'late', retries: 2, leaseOwner: 'b' });

    await store.commitPage('e', b, 'b', 1000, { ...page, done: true });
    await store.recordError('e', 't', 0, undefined, 'after');
    expect(await store.getSegment('e', 't', 0)).toMatchObject({ status: 'DONE', retries: 2 });
    await store.recordError('e', 't', 9, undefined, 'nowhere'); // no such segment: nothing is created
    expect(await store.getSegment('e', 't', 9)).toBeUndefined();
  });
});

describe('capture lease', () => {
  const at = (position: number) => ({ file: 'binlog.000001', position });

  it('starts once, moves forward under its lease only, and is given back', async () => {
    await expect(store.acquireCapture('c', 'a', 1000)).rejects.toThrow(/no capture position stored for c: run plan first/);
    expect(await store.initCapture('c', at(4))).toMatchObject({ position: at(4), start: at(4), events: 0, leaseToken: 0 });
    expect(await store.initCapture('c', at(99))).toMatchObject({ position: at(4) });

    const a = await store.acquireCapture('c', 'a', 1000);
    expect(a).toMatchObject({ leaseOwner: 'a', leaseToken: 1 });
    await expect(store.acquireCapture('c', 'b', 1000)).rejects.toThrow(`capture of c is leased by a until ${new Date(now + 1000).toISOString()}`);

    const a1 = await store.commitCapture('c', a, 'a', 1000, { position: at(300), events: 5, lastEventAt: 42 });
    expect(a1).toMatchObject({ position: at(300), start: at(4), events: 5, lastEventAt: 42 });
    // The same commit again (its first try took effect, its response lost): the state it made, counted once.
    expect(await store.commitCapture('c', a, 'a', 1000, { position: at(300), events: 5, lastEventAt: 42 })).toMatchObject({ position: at(300), events: 5 });
    const stale = await store.commitCapture('c', a, 'a', 1000, { position: at(200), events: 1 }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(LeaseLostError);
    expect((stale as LeaseLostError).message).toBe('capture position of c not moved: lease or position changed');
    expect((stale as LeaseLostError).current).toMatchObject({ position: at(300), events: 5 });

    await store.releaseCapture('c', a1, 'b', 7); // not b's lease: nothing happens
    expect(await store.getCapture('c')).toMatchObject({ leaseOwner: 'a' });
    await store.releaseCapture('c', a1, 'a', 7);
    const released = await store.getCapture('c');
    expect(released).toMatchObject({ caughtUpAt: 7, leaseToken: 1 });
    expect(released!.leaseOwner).toBeUndefined();
    expect(await store.acquireCapture('c', 'b', 1000)).toMatchObject({ leaseOwner: 'b', leaseToken: 2 });
  });
});

describe('capture stopped before a DDL', () => {
  const at = (position: number) => ({ file: 'binlog.000001', position });

  it('keeps the ghosts read, and resumes after the DDL with its GTID position, taking a swapped-in ghost out', async () => {
    await store.initCapture('g', at(4), 0, { gtid: '0-1-10' });
    const held = await store.acquireCapture('g', 'a', 1000);
    const ghosts = {
      'shop._orders_gho': { of: 'shop.orders', tool: 'gh-ost' as const, alters: [{ statement: 'ALTER TABLE _orders_gho ADD c INT', schema: 'shop' }] },
      'shop._users_new': { of: 'shop.users', tool: 'pt-online-schema-change' as const, alters: [] },
    };
    const moved = await store.commitCapture('g', held, 'a', 1000, { position: at(100), events: 0, gtid: '0-1-12', ghosts });
    expect(moved).toMatchObject({ position: at(100), gtid: '0-1-12', ghosts });
    const paused = await store.pauseCapture('g', moved, 'a', {
      statement: 'RENAME TABLE orders TO _orders_del, _orders_gho TO orders',
      schema: 'shop',
      kind: 'rename',
      changesColumns: true,
      tables: [{ physical: 'shop.orders', table: 'orders' }],
      at: at(100),
      next: at(180),
      nextGtid: '0-1-13',
      swap: { ghost: 'shop._orders_gho', tool: 'gh-ost', alters: ghosts['shop._orders_gho'].alters, changesColumns: true },
      pausedAt: 5,
      reason: 'cdc.onDdl is stop',
    });
    const resumed = await store.resumeCapture('g', paused, 'a');
    expect(resumed).toMatchObject({ position: at(180), gtid: '0-1-13', ghosts: { 'shop._users_new': ghosts['shop._users_new'] } });
    expect(resumed.paused).toBeUndefined();
    expect(resumed.ghosts!['shop._orders_gho']).toBeUndefined();
  });
});

describe('verification state and tombstones', () => {
  const batch = (segment: number, n: number): VerifyBatchState => ({
    table: 't', segment, batch: n, lo: null, hi: null, status: 'CLEAN', method: 'checksum', sourceRows: 1, targetRows: 1, missing: 0, different: 0, extra: 0, repaired: 0, dirtyRows: [],
  });

  it('clears a segment’s batches and marks it verifying, then records its outcome', async () => {
    await store.ensureSegments('v', 't', segments);
    await store.putVerifyBatches('v', [batch(0, 0), batch(0, 1), batch(1, 0)]);
    await store.putVerifyBatch('v', batch(1, 1));
    expect(await store.verifyBatches('v', 't')).toHaveLength(4);
    await store.clearVerify('v', 't', 0);
    expect((await store.verifyBatches('v')).map((b) => [b.segment, b.batch])).toEqual([[1, 0], [1, 1]]);
    expect(await store.getSegment('v', 't', 0)).toMatchObject({ verifyStatus: 'VERIFYING' });
    await store.markSegmentVerified('v', 't', 0, 'DIRTY', '2 rows differ');
    expect(await store.getSegment('v', 't', 0)).toMatchObject({ verifyStatus: 'DIRTY', verifyError: '2 rows differ', verifiedAt: now });
    await expect(store.markSegmentVerified('v', 't', 5, 'CLEAN')).rejects.toThrow(/conditional request failed/i);
  });

  it('finds tombstones by sort key range across partitions', async () => {
    const keys = [-5, 3, 10, 99, 1000];
    await store.putTombstones('tb', keys.map((k) => ({ table: 't', sortKey: sortableKey(String(k), 'int'), key: [k], db: 0, database: 'd', tableName: 't' })));
    const found = await store.tombstones('tb', 't', sortableKey('3', 'int'), sortableKey('99', 'int'));
    expect(found.map((s) => s.key[0]).sort((a, b) => Number(a) - Number(b))).toEqual([10, 99]);
    expect(await store.tombstones('tb', 't', null, null)).toHaveLength(5);
  });
});
