/** The time window in Node decides as the copy's SQL predicate does. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inWindow } from '../../lambdas/core/window.js';

const july = { from: '2026-07-01', to: '2026-08-01' };

describe('inWindow', () => {
  it.each([
    ['2026-07-01 00:00:00', july, true],
    ['2026-07-01 00:00:00.000000', july, true],
    ['2026-06-30 23:59:59.999999', july, false],
    ['2026-07-31 23:59:59.999', july, true],
    ['2026-08-01 00:00:00', july, false],
    ['2026-08-01 00:00:00.000', july, false],
    ['2026-07-01', july, true],
    ['2026-08-01', july, false],
    [null, july, false],
    [null, undefined, true],
    ['1999-01-01 00:00:00', { to: '2026-01-01' }, true],
    ['2026-07-01 00:00:00.5', { from: '2026-07-01T00:00:00.500Z' }, true],
    ['2026-07-01 00:00:00.499999', { from: '2026-07-01T00:00:00.500Z' }, false],
    ['2026-07-01 02:00:00', { from: '2026-07-01T03:00:00+02:00' }, true],
  ])('%s in %j: %s', (value, window, want) => {
    expect(inWindow(value, window)).toBe(want);
  });

  it('agrees with time order for any instant and bounds', () => {
    const instant = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true });
    // DATETIME(6) text of the instant, as the binlog decoder gives it.
    const text = (d: Date) => `${d.toISOString().replace('T', ' ').replace('Z', '')}000`;
    fc.assert(
      fc.property(instant, instant, instant, (v, a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a];
        const value = text(v);
        const want = v.getTime() >= from.getTime() && v.getTime() < to.getTime();
        expect(inWindow(value, { from: from.toISOString(), to: to.toISOString() })).toBe(want);
      }),
    );
  });
});
