/** The copy's throttle, pure: which limit pauses it, the line that says so, and the servers it reads. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  captureLagSeconds,
  historyListLengthOf,
  throttleReason,
  throttleText,
  throttleWaitMs,
  watchedServers,
  type ThrottleLimits,
  type ThrottleReadings,
  type ThrottleReason,
} from '../../lambdas/core/throttle.js';
import { parseConfig } from '../../lambdas/core/config.js';

const limits: ThrottleLimits = { maxThreadsRunning: 25, maxHistoryListLength: 1_000_000, maxReplicaLagSeconds: 5, maxCdcLagSeconds: 30 };

describe('throttleReason', () => {
  it.each<[string, ThrottleReadings, ThrottleReason | undefined]>([
    ['nothing read', { servers: [] }, undefined],
    ['all under', { servers: [{ where: 'source', threadsRunning: 3, historyListLength: 10 }], replica: { where: 'replica r:3306', lagSeconds: 1 }, cdc: [{ where: 'source', lagSeconds: 0 }] }, undefined],
    ['at the limit is not above it', { servers: [{ where: 'source', threadsRunning: 25, historyListLength: 1_000_000 }], replica: { where: 'replica r:3306', lagSeconds: 5 }, cdc: [{ where: 'source', lagSeconds: 30 }] }, undefined],
    [
      'Threads_running on a target',
      { servers: [{ where: 'source', threadsRunning: 2 }, { where: 'target db 1', threadsRunning: 31 }] },
      { metric: 'Threads_running', value: 31, limit: 25, where: 'target db 1' },
    ],
    ['history list length', { servers: [{ where: 'source', threadsRunning: 2, historyListLength: 2_500_000 }] }, { metric: 'history list length', value: 2_500_000, limit: 1_000_000, where: 'source' }],
    ['a metric not readable is no reason', { servers: [{ where: 'target', threadsRunning: 1 }] }, undefined],
    ['replica lag', { servers: [], replica: { where: 'replica r:3306', lagSeconds: 9 } }, { metric: 'replica lag', value: 9, limit: 5, where: 'replica r:3306' }],
    ['replication not running', { servers: [], replica: { where: 'replica r:3306', lagSeconds: null } }, { metric: 'replica lag', value: null, limit: 5, where: 'replica r:3306' }],
    [
      'CDC lag comes first',
      { servers: [{ where: 'source', threadsRunning: 99, historyListLength: 9_000_000 }], replica: { where: 'replica r:3306', lagSeconds: 60 }, cdc: [{ where: 'source a:1', lagSeconds: 1 }, { where: 'source b:1', lagSeconds: 45 }] },
      { metric: 'CDC lag', value: 45, limit: 30, where: 'source b:1' },
    ],
    [
      'replica lag before the servers',
      { servers: [{ where: 'source', threadsRunning: 99 }], replica: { where: 'replica r:3306', lagSeconds: 6 } },
      { metric: 'replica lag', value: 6, limit: 5, where: 'replica r:3306' },
    ],
    [
      'Threads_running before history list length',
      { servers: [{ where: 'source', historyListLength: 5_000_000 }, { where: 'target', threadsRunning: 26 }] },
      { metric: 'Threads_running', value: 26, limit: 25, where: 'target' },
    ],
  ])('%s', (_name, readings, reason) => {
    expect(throttleReason(readings, limits)).toEqual(reason);
  });

  const reading = fc.record({
    servers: fc.array(fc.record({ where: fc.constantFrom('source', 'target db 0', 'target db 1'), threadsRunning: fc.option(fc.nat(60), { nil: undefined }), historyListLength: fc.option(fc.nat(3_000_000), { nil: undefined }) }), { maxLength: 4 }),
    replica: fc.option(fc.record({ where: fc.constant('replica r:3306'), lagSeconds: fc.option(fc.double({ min: 0, max: 20, noNaN: true }), { nil: null }) }), { nil: undefined }),
    cdc: fc.option(fc.array(fc.record({ where: fc.constant('source'), lagSeconds: fc.double({ min: 0, max: 100, noNaN: true }) }), { maxLength: 3 }), { nil: undefined }),
  });
  const limit = fc.record({ maxThreadsRunning: fc.integer({ min: 1, max: 50 }), maxHistoryListLength: fc.integer({ min: 1, max: 2_000_000 }), maxReplicaLagSeconds: fc.double({ min: 0, max: 10, noNaN: true }), maxCdcLagSeconds: fc.double({ min: 1, max: 60, noNaN: true }) });
  const strip = (r: typeof reading extends fc.Arbitrary<infer T> ? T : never): ThrottleReadings => ({
    servers: r.servers.map((s) => ({ where: s.where, ...(s.threadsRunning !== undefined ? { threadsRunning: s.threadsRunning } : {}), ...(s.historyListLength !== undefined ? { historyListLength: s.historyListLength } : {}) })),
    ...(r.replica ? { replica: r.replica } : {}),
    ...(r.cdc ? { cdc: r.cdc } : {}),
  });

  it('pauses exactly when some reading is above its limit, and names a reading that is', () => {
    fc.assert(
      fc.property(reading, limit, (raw, l) => {
        const r = strip(raw);
        const over = [
          ...(r.cdc ?? []).filter((c) => c.lagSeconds > l.maxCdcLagSeconds),
          ...(r.replica && (r.replica.lagSeconds === null || r.replica.lagSeconds > l.maxReplicaLagSeconds) ? [r.replica] : []),
          ...r.servers.filter((s) => (s.threadsRunning ?? 0) > l.maxThreadsRunning || (s.historyListLength ?? 0) > l.maxHistoryListLength),
        ];
        const reason = throttleReason(r, l);
        expect(reason !== undefined).toBe(over.length > 0);
        if (!reason) return;
        const limitOf = { 'CDC lag': l.maxCdcLagSeconds, 'replica lag': l.maxReplicaLagSeconds, Threads_running: l.maxThreadsRunning, 'history list length': l.maxHistoryListLength }[reason.metric];
        expect(reason.limit).toBe(limitOf);
        expect(reason.value === null || reason.value > reason.limit).toBe(true);
        // CDC has priority: while capture lags, that is the reason given.
        if ((r.cdc ?? []).some((c) => c.lagSeconds > l.maxCdcLagSeconds)) expect(reason.metric).toBe('CDC lag');
      }),
    );
  });

  it('never pauses for readings under every limit, whatever else they hold', () => {
    fc.assert(
      fc.property(reading, (raw) => {
        const r = strip(raw);
        const high: ThrottleLimits = { maxThreadsRunning: 61, maxHistoryListLength: 3_000_001, maxReplicaLagSeconds: 21, maxCdcLagSeconds: 101 };
        expect(throttleReason(r, high) === undefined).toBe(r.replica?.lagSeconds !== null);
      }),
    );
  });
});

describe('throttleText', () => {
  it.each<[ThrottleReason, string]>([
    [{ metric: 'Threads_running', value: 31, limit: 25, where: 'target db 1' }, 'Threads_running 31 > 25 on target db 1'],
    [{ metric: 'history list length', value: 2_500_000, limit: 1_000_000, where: 'source' }, 'history list length 2,500,000 > 1,000,000 on source'],
    [{ metric: 'replica lag', value: 12, limit: 5, where: 'replica 10.0.0.9:3306' }, 'replica lag 12 s > 5 s on replica 10.0.0.9:3306'],
    [{ metric: 'replica lag', value: null, limit: 5, where: 'replica 10.0.0.9:3306' }, 'replica lag unknown (replication not running) on replica 10.0.0.9:3306'],
    [{ metric: 'CDC lag', value: 42.46, limit: 30, where: 'source' }, 'CDC lag 42.5 s > 30 s on source'],
  ])('%j → %s', (reason, text) => {
    expect(throttleText(reason)).toBe(text);
  });
});

describe('historyListLengthOf', () => {
  it('reads SHOW ENGINE INNODB STATUS', () => {
    expect(historyListLengthOf('------------\nTRANSACTIONS\n------------\nTrx id counter 1234\nPurge done for trx\'s n:o < 1200\nHistory list length 4567\nLIST OF TRANSACTIONS')).toBe(4567);
    expect(historyListLengthOf('no such line')).toBeUndefined();
  });
});

describe('captureLagSeconds', () => {
  it.each<[string, boolean, number | undefined, number | undefined, number]>([
    ['caught up', true, 1_000, 2_000, 0],
    ['nothing captured yet', false, undefined, undefined, 0],
    ['behind since the last event', false, 40_000, undefined, 60],
    ['caught up later than the last event: nothing unread is older', false, 40_000, 90_000, 10],
  ])('%s', (_name, caughtUp, lastEventAt, caughtUpAt, lag) => {
    expect(captureLagSeconds(caughtUp, lastEventAt, caughtUpAt, 100_000)).toBe(lag);
  });
});

describe('throttleWaitMs', () => {
  it('waits a check interval, never past the end of the budget', () => {
    expect(throttleWaitMs(1_000, 10_000, 1_000)).toBe(1_000);
    expect(throttleWaitMs(9_700, 10_000, 1_000)).toBe(300);
    expect(throttleWaitMs(10_500, 10_000, 1_000)).toBe(0);
  });
});

describe('watchedServers', () => {
  const base = {
    migrationId: 'm',
    source: { host: 'src', port: 3306, database: 'shop' },
    tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
  };
  it.each<[string, Record<string, unknown>, string[]]>([
    ['one target server', { databases: 4, databasePattern: 'db_{db}', connection: { host: 'tgt' } }, ['source', 'target']],
    ['targets on the source server are read as the source', { databases: 2, databasePattern: 'db_{db}', connection: { host: 'src' } }, ['source']],
    [
      'a server per database',
      { databases: 3, databasePattern: 'db_{db}', connections: [{ host: 'a' }, { host: 'b' }, { host: 'c' }] },
      ['source', 'target db 0', 'target db 1', 'target db 2'],
    ],
    [
      'servers holding several databases',
      { databases: 6, databasePattern: 'db_{db}', connections: [{ host: 'a' }, { host: 'b' }, { host: 'a' }, { host: 'b' }, { host: 'a' }, { host: 'a' }] },
      ['source', 'target dbs 0, 2, 4, 5', 'target dbs 1, 3'],
    ],
  ])('%s', (_name, target, names) => {
    expect(watchedServers(parseConfig({ ...base, target })).map((s) => s.where)).toEqual(names);
  });
});

describe('throttle config', () => {
  const base = {
    migrationId: 'm',
    source: { database: 'shop' },
    target: { databases: 2, databasePattern: 'db_{db}' },
    tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
  };
  it('defaults as pt-online-schema-change and Vitess', () => {
    expect(parseConfig(base).throttle).toEqual({ enabled: true, maxThreadsRunning: 25, maxHistoryListLength: 1_000_000, maxReplicaLagSeconds: 5, maxCdcLagSeconds: 120, checkIntervalMs: 1000 });
  });
  it.each([
    [{ maxThreadsRunning: 0 }, 'throttle.maxThreadsRunning'],
    [{ checkIntervalMs: 10 }, 'throttle.checkIntervalMs'],
    [{ maxCdcLagSeconds: 0 }, 'throttle.maxCdcLagSeconds'],
    [{ replica: { host: 'r', port: 0 } }, 'throttle.replica.port'],
    [{ maxLoad: 3 }, 'throttle'],
  ])('refuses %j naming %s', (throttle, path) => {
    expect(() => parseConfig({ ...base, throttle })).toThrow(path);
  });
});
