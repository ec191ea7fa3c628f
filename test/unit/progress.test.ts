/** The one progress line format: durations, table lines (bars, plain lines, `status`) and the CDC line. */
import { describe, expect, it } from 'vitest';
import { cdcLine, formatDuration, progressLine, RateMeter, secondsBehind, type CdcProgress, type TableProgress } from '../../lambdas/core/progress.js';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [0.4, '0s'],
    [42, '42s'],
    [59.6, '1m00s'],
    [185, '3m05s'],
    [3600, '1h00m'],
    [7625, '2h07m'],
    [90_000, '25h00m'],
    [-1, '--'],
    [Number.NaN, '--'],
    [Number.POSITIVE_INFINITY, '--'],
  ])('%d s → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('progressLine', () => {
  it.each<[string, TableProgress, string]>([
    ['running, rate known', { table: 'order_info', copied: 1200, total: 5000, rowsPerSec: 300, status: 'RUNNING' }, 'order_info: copied 1,200/5,000 (24.0%)  300 rows/s  ETA 13s  [RUNNING]'],
    ['no rate yet', { table: 't', copied: 0, total: 10, rowsPerSec: 0 }, 't: copied 0/10 (0.0%)  0 rows/s  ETA --'],
    ['done: no ETA', { table: 't', copied: 900, total: 900, rowsPerSec: 12.6, status: 'DONE' }, 't: copied 900/900 (100.0%)  13 rows/s  [DONE]'],
    ['copied past the statistics', { table: 't', copied: 1100, total: 1000, rowsPerSec: 5 }, 't: copied 1,100/1,000 (100.0%)  5 rows/s'],
    ['ETA given (status), no rate', { table: 't', copied: 500, total: 1000, etaSeconds: 185, status: 'RUNNING' }, 't: copied 500/1,000 (50.0%)  ETA 3m05s  [RUNNING]'],
    ['ETA given as unknown', { table: 't', copied: 500, total: 1000, etaSeconds: null, rowsPerSec: 10 }, 't: copied 500/1,000 (50.0%)  10 rows/s  ETA --'],
    ['done while the statistics grew: no ETA', { table: 't', copied: 329, total: 498, rowsPerSec: 0, status: 'DONE' }, 't: copied 329/498 (66.1%)  0 rows/s  [DONE]'],
    ['empty table done', { table: 't', copied: 0, total: 0, etaSeconds: null, status: 'DONE' }, 't: copied 0/0 (100.0%)  [DONE]'],
    ['not planned', { table: 't', copied: 0, total: 0, etaSeconds: null, status: 'NOT_PLANNED' }, 't: copied 0/0 (0.0%)  [NOT_PLANNED]'],
    ['large numbers', { table: 't', copied: 12_345_678, total: 100_000_000, rowsPerSec: 40_000.4 }, 't: copied 12,345,678/100,000,000 (12.3%)  40,000 rows/s  ETA 36m31s'],
  ])('%s', (_name, p, line) => {
    expect(progressLine(p)).toBe(line);
  });
});

describe('cdcLine', () => {
  it.each<[string, CdcProgress, string]>([
    ['caught up', { captured: 1234, backlog: 0, dead: 0, secondsBehind: 0, caughtUp: true }, 'cdc: captured 1,234 events, backlog 0 msg, lag 0.0 s (caught up)'],
    ['behind, with a DLQ', { captured: 10, backlog: 2500, dead: 3, secondsBehind: 12.345, caughtUp: false }, 'cdc: captured 10 events, backlog 2,500 msg, lag 12.3 s, DLQ 3'],
  ])('%s', (_name, c, line) => {
    expect(cdcLine(c)).toBe(line);
  });
});

describe('RateMeter', () => {
  it('measures rows per second over its window', () => {
    const m = new RateMeter(10_000);
    expect(m.add(0, 0)).toBe(0);
    expect(m.add(1000, 500)).toBe(500);
    expect(m.add(2000, 1000)).toBe(500);
    // Samples older than the window drop out: the rate follows the recent pace.
    expect(m.add(20_000, 1000)).toBeCloseTo(0);
  });
});

describe('secondsBehind', () => {
  it.each([
    [true, 1000, 5000, 0],
    [false, undefined, 5000, 0],
    [false, 1000, 5000, 4],
    [false, 6000, 5000, 0],
  ])('caught up %s, last event at %s, now %d → %d', (caughtUp, lastEventAt, now, seconds) => {
    expect(secondsBehind(caughtUp, lastEventAt, now)).toBe(seconds);
  });
});
