import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { etaSeconds } from '../../lambdas/app/status.js';

import { segmentOutcome, VerifyStatus } from '../../lambdas/core/model.js';

describe('etaSeconds', () => {
  it.each([
    // copied, total, startedAt, now, expected
    [500, 1000, 0, 10_000, 10],
    [250, 1000, 1_000, 11_000, 30],
    [1000, 1000, 0, 10_000, null], // done
    [1200, 1000, 0, 10_000, null], // statistics behind the copy
    [0, 1000, 0, 10_000, null], // no rate yet
    [10, 1000, undefined, 10_000, null], // never started
    [10, 1000, 10_000, 10_000, null], // no time elapsed
  ])('copied %d of %d since %s at %d → %s', (copied, total, startedAt, now, expected) => {
    expect(etaSeconds(copied, total, startedAt, now)).toBe(expected);
  });

  it('is never negative and shrinks as the copy advances at a constant rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e5 }), (total, rate, t) => {
        const copied = Math.min(total, rate * t);
        const eta = etaSeconds(copied, total, 0, t * 1000);
        if (copied >= total) return eta === null;
        const later = etaSeconds(Math.min(total, rate * (t + 1)), total, 0, (t + 1) * 1000);
        return eta !== null && eta >= 0 && (later === null || later <= eta);
      }),
    );
  });
});

describe('segmentOutcome', () => {
  const s = (...statuses: VerifyStatus[]) => statuses.map((status) => ({ status }));
  it.each([
    [s(), VerifyStatus.CLEAN],
    [s('CLEAN', 'CLEAN'), VerifyStatus.CLEAN],
    [s('CLEAN', 'REPAIRED'), VerifyStatus.REPAIRED],
    [s('REPAIRED', 'DIRTY', 'CLEAN'), VerifyStatus.DIRTY],
    [s('DIRTY', 'FAILED'), VerifyStatus.FAILED],
    [s('CLEAN', 'VERIFYING'), VerifyStatus.PENDING],
  ])('%j → %s', (batches, expected) => {
    expect(segmentOutcome(batches)).toBe(expected);
  });

  it('is the worst of its batches whatever their order', () => {
    const rank: Record<VerifyStatus, number> = { CLEAN: 0, REPAIRED: 1, PENDING: 2, VERIFYING: 2, DIRTY: 3, FAILED: 4 };
    fc.assert(
      fc.property(fc.array(fc.constantFrom<VerifyStatus>('CLEAN', 'REPAIRED', 'DIRTY', 'FAILED', 'VERIFYING')), (statuses) => {
        const out = segmentOutcome(s(...statuses));
        const worst = Math.max(0, ...statuses.map((x) => rank[x]));
        return rank[out] === worst && segmentOutcome(s(...[...statuses].reverse())) === out;
      }),
    );
  });
});
