/** The one CDC catch-up loop: a mark read once, calm readings, the handled-messages shortcut, the timeout. */
import { describe, expect, it } from 'vitest';
import { waitForCatchUp, type CatchUpProbe, type CdcReading } from '../../lambdas/app/settle.js';
import { TransientError } from '../../lambdas/core/errors.js';
import { sleep } from '../../lambdas/core/time.js';

const at = (position: number) => ({ file: 'binlog.000001', position });

function probe(readings: CdcReading[], extra: Partial<CatchUpProbe<CdcReading>> = {}) {
  const seen = { marks: 0, reads: [] as number[] };
  const p: CatchUpProbe<CdcReading> = {
    sourcePosition: async () => {
      seen.marks++;
      return at(500);
    },
    read: async (mark) => {
      seen.reads.push(mark.position);
      return readings.shift() ?? { caughtUp: true, backlog: 0 };
    },
    timeoutMessage: (mark, last) => `behind ${mark.position}: caught up ${last.caughtUp}, backlog ${last.backlog}`,
    ...extra,
  };
  return { p, seen };
}

describe('waitForCatchUp', () => {
  it.each<[string, CdcReading[], number]>([
    ['two calm readings at once', [], 2],
    ['a calm reading interrupted by a new message starts over', [{ caughtUp: true, backlog: 0 }, { caughtUp: true, backlog: 1 }, { caughtUp: true, backlog: 0 }], 4],
    ['an empty queue counts only once capture passed the mark', [{ caughtUp: false, backlog: 0 }, { caughtUp: false, backlog: 0 }], 4],
  ])('%s', async (_name, readings, reads) => {
    const { p, seen } = probe(readings);
    await expect(waitForCatchUp(p, 1_000, 1)).resolves.toEqual({ caughtUp: true, backlog: 0 });
    expect(seen.marks).toBe(1); // the mark is read once: a watermark
    expect(seen.reads).toEqual(Array(reads).fill(500));
  });

  it('ends when every message sent until capture passed the mark was handled, while the queue never empties', async () => {
    let handled = 0;
    let snapshots = 0;
    const { p } = probe(
      Array.from({ length: 100 }, () => ({ caughtUp: true, backlog: 7 })),
      {
        handledSince: () => {
          snapshots++;
          return () => ++handled >= 3;
        },
      },
    );
    await expect(waitForCatchUp(p, 1_000, 1)).resolves.toEqual({ caughtUp: true, backlog: 7 });
    expect(snapshots).toBe(1);
    expect(handled).toBe(3);
  });

  it('returns the reading that ended the wait', async () => {
    const { p } = probe([{ caughtUp: true, backlog: 0, extra: 'first' } as CdcReading, { caughtUp: true, backlog: 0, extra: 'second' } as CdcReading]);
    await expect(waitForCatchUp(p, 1_000, 1)).resolves.toMatchObject({ extra: 'second' });
  });

  it('gives up with a TransientError built from the last reading', async () => {
    const { p } = probe(Array.from({ length: 1000 }, () => ({ caughtUp: true, backlog: 2 })));
    const waiting = waitForCatchUp(p, 20, 2);
    await expect(waiting).rejects.toThrow(TransientError);
    await expect(waiting).rejects.toThrow('behind 500: caught up true, backlog 2');
  });
});

describe('sleep', () => {
  it('waits at least the given time', async () => {
    const t0 = Date.now();
    await sleep(20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(19);
  });
});
