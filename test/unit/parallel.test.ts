import { describe, expect, it } from 'vitest';
import { inParallel } from '../../lambdas/core/parallel.js';

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

describe('inParallel', () => {
  it('returns the results in the order of the items, whatever order they finish in', async () => {
    const out = await inParallel([30, 10, 20, 0], 4, async (ms, i) => {
      await tick(ms);
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:10', '2:20', '3:0']);
  });

  it.each([1, 2, 3, 10])('never has more than %i in flight, and runs every item once', async (limit) => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await inParallel([...Array(9).keys()], limit, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick(n % 3);
      seen.push(n);
      inFlight--;
    });
    expect(most).toBe(Math.min(limit, 9));
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(9).keys()]);
  });

  it('returns an empty list for no items without calling fn', async () => {
    let calls = 0;
    expect(await inParallel([], 4, async () => ++calls)).toEqual([]);
    expect(calls).toBe(0);
  });

  it('throws the first failure, lets the items in flight finish, and starts no item after it', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = inParallel([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick(n === 0 ? 1 : 5);
      if (n === 0) throw new Error('boom 0');
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('boom 0');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([1]);
  });
});
