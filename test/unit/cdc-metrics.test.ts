/**
 * The CDC handlers' health metrics, as the alarms read them: apply publishes how many change messages it
 * reported failed (batchItemFailures), capture publishes a heartbeat on every run that ends well and none
 * on a run that fails (a reverse run: under the reverse migration's id).
 */
import { captureStdout } from '../helpers/emf.js';
import { describe, expect, it, vi } from 'vitest';
import { makeApplyHandler } from '../../lambdas/handlers/apply.js';
import { makeCaptureHandler } from '../../lambdas/handlers/capture.js';
import type { AppContext } from '../../lambdas/app/context.js';
import type { CaptureDeps } from '../../lambdas/app/capture.js';
import type { ChangeQueue } from '../../lambdas/adapters/sqs.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { spread } from '../../lambdas/core/routing.js';
import { changeEvent, sqsEvent, sqsRecord } from '../helpers/events.js';

const out = captureStdout({ AWS_LAMBDA_FUNCTION_NAME: 'Reshard-prod-cdc' });
const emfLines = () => out.emf();

describe('apply', () => {
  /** One configured table, order_info, written by a fake target writer; events of any other table fail. */
  const fakeContext = (): AppContext =>
    ({
      config: parseConfig({
        migrationId: 'orders-2026',
        source: { host: 'src', user: 'reshard', database: 'orders' },
        target: { connection: { host: 'tgt', user: 'reshard' }, databases: 2, databasePattern: 'db_{db}' },
        tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
      }),
      routeFn: spread,
      store: { getPlan: async () => ({ columns: ['id', 'order_no'], keyKind: 'int' }) },
      writer: { applyUpsert: async ({ rows }: { rows: unknown[][] }) => ({ inserted: rows.length, updated: 0, skipped: 0 }) },
    }) as unknown as AppContext;
  let orderNo = 100;
  const good = (group: string) => sqsRecord(group, [changeEvent('order_info', 'insert', { after: { id: orderNo, order_no: orderNo++ } })]);
  const bad = (group: string) => sqsRecord(group, [changeEvent('not_migrated', 'insert', { after: { id: 2 } })]);

  it('publishes the number of records it reports in batchItemFailures (a failed record and the rest of its group)', async () => {
    // Prepare: group a fails at its first message (its second is skipped, so failed too); group b applies.
    const event = sqsEvent([bad('a'), good('a'), good('b')]);
    // Act
    const response = await makeApplyHandler(async () => fakeContext())(event);
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([event.Records[0]!.messageId, event.Records[1]!.messageId]);
    expect(emfLines()).toEqual([expect.objectContaining({ migrationId: 'orders-2026', ApplyRecordFailures: 2, EventsApplied: 1 })]);
  });

  it('counts every record when all of them fail (the processor throws and the window is retried)', async () => {
    const event = sqsEvent([bad('a'), bad('b'), bad('c')]);
    await expect(makeApplyHandler(async () => fakeContext())(event)).rejects.toThrow(/All records failed/);
    expect(emfLines()).toEqual([expect.objectContaining({ ApplyRecordFailures: 3, EventsApplied: 0 })]);
  });

  it('applies reverse groups through the reverse migration, and refuses them where there is none', async () => {
    const written: string[] = [];
    const ctxWriting = (name: string): AppContext => {
      const c = fakeContext();
      return { ...c, writer: { applyUpsert: async ({ rows }: { rows: unknown[][] }) => (written.push(`${name}:${rows.length}`), { inserted: rows.length, updated: 0, skipped: 0 }) } } as unknown as AppContext;
    };
    const forward = ctxWriting('forward');
    const reverse = ctxWriting('reverse');
    const event = sqsEvent([good('a'), good('r:b'), good('r:c')]);
    expect((await makeApplyHandler(async () => forward, async () => reverse)(event)).batchItemFailures).toEqual([]);
    expect(written.sort()).toEqual(['forward:1', 'reverse:1', 'reverse:1']);
    // Without reverse replication a reverse message fails (to the DLQ after its receives), the rest applies.
    const alone = await makeApplyHandler(async () => forward)(sqsEvent([good('a'), good('r:b')]));
    expect(alone.batchItemFailures).toHaveLength(1);
  });

  it('publishes 0 failures when the whole window applies', async () => {
    const response = await makeApplyHandler(async () => fakeContext())(sqsEvent([good('a'), good('b')]));
    expect(response.batchItemFailures).toEqual([]);
    expect(emfLines()).toEqual([expect.objectContaining({ ApplyRecordFailures: 0, EventsApplied: 2 })]);
  });
});

describe('capture', () => {
  const position = { file: 'binlog.000007', position: 4 };
  /** A source server that says it is MariaDB with server_id 1, the server the capture position belongs to. */
  const server = {
    query: async (sql: string) => [sql.startsWith('SELECT VERSION()') ? [{ v: '10.11.6-MariaDB', c: '' }] : [{ id: 1 }], []],
  };
  const fakeContext = (): AppContext =>
    ({
      workerId: 'test',
      config: { migrationId: 'orders-2026', tables: [], bindings: [], source: { database: 'orders' }, cdc: { captureBudgetSeconds: 5, messageGroup: 'target' }, cutover: { reverse: false } },
      sources: [server, server],
      store: {
        acquireCapture: vi.fn(async () => ({ position, sourceId: 'server_id=1' })),
        commitCapture: vi.fn(async () => ({ position })),
        releaseCapture: vi.fn(async () => undefined),
      },
    }) as unknown as AppContext;
  const queue = { send: vi.fn(async () => undefined) } as unknown as ChangeQueue;
  /**
   * The reverse migration's context before any switch (no cut-over, no capture position yet): its runs are
   * idle. Its id is the reverse migration's, as `envReverseContext` builds it.
   */
  const idleReverseContext = (): AppContext => {
    const base = fakeContext();
    return {
      ...base,
      reverse: true,
      config: { ...base.config, migrationId: 'orders-2026.reverse' },
      store: { ...base.store, getCutover: vi.fn(async () => undefined), getCapture: vi.fn(async () => undefined) },
    } as unknown as AppContext;
  };
  /** A binlog with nothing new: the run is caught up at once. */
  const caughtUp: CaptureDeps['read'] = async ({ from }) => ({ position: from, events: 0 });

  it('publishes CaptureRuns = 1 (the heartbeat) with its events and lag when a run ends well', async () => {
    await makeCaptureHandler(async () => fakeContext(), () => queue, () => caughtUp)({});
    expect(emfLines()).toEqual([expect.objectContaining({ migrationId: 'orders-2026', CaptureRuns: 1, EventsCaptured: 0, CaptureLagSeconds: 0 })]);
  });

  it('publishes the heartbeat of source server n > 0 under its own sourceServer dimension', async () => {
    const sharded = (): AppContext => {
      const ctx = fakeContext();
      return { ...ctx, config: { ...ctx.config, source: { databases: 2, databasePattern: 'orders_{db}', connections: [{ host: 'a', port: 3306 }, { host: 'b', port: 3306 }] } } } as unknown as AppContext;
    };
    await makeCaptureHandler(async () => sharded(), () => queue, () => caughtUp)({ server: 1 });
    expect(emfLines()).toEqual([expect.objectContaining({ migrationId: 'orders-2026', sourceServer: '1', CaptureRuns: 1 })]);
    await expect(makeCaptureHandler(async () => sharded(), () => queue, () => caughtUp)({ server: 2 })).rejects.toThrow(/source server #2 does not exist \(the source has 2\)/);
  });

  it('reads a target server for a reverse event, and refuses one where there is no reverse replication', async () => {
    const read = vi.fn(caughtUp);
    // Before any switch the reverse run is idle: no position yet, nothing read.
    const out = await makeCaptureHandler(async () => fakeContext(), () => queue, () => read, async () => idleReverseContext())({ server: 0, reverse: true });
    expect(out).toMatchObject({ events: 0, idle: 'no switch with reverse replication' });
    expect(read).not.toHaveBeenCalled();
    await expect(makeCaptureHandler(async () => fakeContext(), () => queue, () => read)({ reverse: true })).rejects.toThrow(/has no reverse replication \(cutover\.reverse\)/);
  });

  it('an idle reverse run (before any switch) publishes under the reverse migration: heartbeat on, no lag, not paused (what its alarms read)', async () => {
    await makeCaptureHandler(async () => fakeContext(), () => queue, () => caughtUp, async () => idleReverseContext())({ server: 0, reverse: true });
    expect(emfLines()).toEqual([expect.objectContaining({ migrationId: 'orders-2026.reverse', CaptureRuns: 1, CaptureLagSeconds: 0, CapturePaused: 0 })]);
  });

  it('publishes no heartbeat when the run fails', async () => {
    const broken: CaptureDeps['read'] = async () => {
      throw new Error('binlog connection lost');
    };
    await expect(makeCaptureHandler(async () => fakeContext(), () => queue, () => broken)({})).rejects.toThrow(/binlog connection lost/);
    expect(emfLines()).toEqual([]);
  });
});
