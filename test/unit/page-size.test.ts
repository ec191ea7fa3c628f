/** The copy's page length from `copy.pageSize`, `copy.pageBytes` and the rows' measured width. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesPerRowOf, pageRows, rowBytes } from '../../lambdas/core/page-size.js';

const limits = { pageSize: 20_000, pageBytes: 8 * 1024 * 1024 };

describe('pageRows', () => {
  it.each([
    ['width unknown', undefined, 20_000],
    ['width 0 (an empty estimate)', 0, 20_000],
    ['width not a number', Number.NaN, 20_000],
    ['narrow rows (180 B): pageSize binds', 180, 20_000],
    ['rows at the crossover (~419 B)', 8 * 1024 * 1024 / 20_000, 20_000],
    ['2 KiB rows', 2048, 4096],
    ['100 KiB rows', 100 * 1024, 81],
    ['rows larger than pageBytes: one a page', 16 * 1024 * 1024, 1],
  ])('%s', (_name, width, rows) => {
    expect(pageRows(limits, width)).toBe(rows);
  });

  it('stays within 1..pageSize, and within pageBytes unless one row alone is larger', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 65_536, max: 256 * 1024 * 1024 }), fc.double({ min: 0.5, max: 64 * 1024 * 1024, noNaN: true }), (pageSize, pageBytes, width) => {
        const rows = pageRows({ pageSize, pageBytes }, width);
        expect(Number.isInteger(rows)).toBe(true);
        expect(rows).toBeGreaterThanOrEqual(1);
        expect(rows).toBeLessThanOrEqual(pageSize);
        if (rows > 1) expect(rows * width).toBeLessThanOrEqual(pageBytes);
        // As long as the limits allow: no page is cut shorter than pageBytes needs.
        if (rows < pageSize) expect((rows + 1) * width).toBeGreaterThan(pageBytes);
      }),
    );
  });
});

describe('rowBytes and bytesPerRowOf', () => {
  it.each([
    ['a rendered line', [1, 'ORD-1', Buffer.alloc(300)], 8 + 5 + 300],
    ['values (strings as UTF-8)', [1, null, 'héllo', new Date(0), 2.5], 8 + 8 + 6 + 8 + 8],
    ['nothing', [], 0],
  ])('%s', (_name, row, bytes) => {
    expect(rowBytes(row)).toBe(bytes);
  });

  it('is the mean over a page, and undefined for an empty page', () => {
    expect(bytesPerRowOf([])).toBeUndefined();
    expect(bytesPerRowOf([[Buffer.alloc(100)], [Buffer.alloc(300)]])).toBe(200);
  });

  it('on a long page, the mean of rows spread evenly over it', () => {
    // 20,000 rows alternating 100 and 300 bytes in runs of 1,000: the sample sees both widths about equally.
    const rows = Array.from({ length: 20_000 }, (_, i) => [Buffer.alloc(Math.floor(i / 1000) % 2 ? 300 : 100)]);
    const mean = bytesPerRowOf(rows)!;
    expect(mean).toBeGreaterThan(180);
    expect(mean).toBeLessThan(220);
    expect(bytesPerRowOf(rows, 20_000)).toBe(200);
  });
});
