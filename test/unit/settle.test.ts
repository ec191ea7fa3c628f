/**
 * Waiting for CDC in Lambda (verification and finalize): done once capture has passed the source position
 * of the moment and the change queue is empty twice in a row; a TransientError naming where things stand
 * when it does not happen in time.
 */
import { describe, expect, it } from 'vitest';
import { waitForCdc } from '../../lambdas/app/settle.js';
import { TransientError } from '../../lambdas/core/errors.js';
import type { AppContext } from '../../lambdas/app/context.js';

const at = (position: number, file = 'binlog.000002') => ({ file, position });

function fakeContext(captured: () => { file: string; position: number } | undefined): Pick<AppContext, 'config' | 'sources' | 'store'> {
  return {
    config: { migrationId: 'm', source: { host: 'src', port: 3306, database: 'd' }, tables: [] },
    sources: [{}],
    store: { getCapture: async () => (captured() ? { position: captured() } : undefined) },
  } as unknown as Pick<AppContext, 'config' | 'sources' | 'store'>;
}

describe('waitForCdc', () => {
  it('returns once capture passed the mark and the queue stayed empty for two readings', async () => {
    let captured = at(100);
    const depths = [5, 0, 3, 0, 0];
    let reads = 0;
    const ctx = fakeContext(() => captured);
    const waiting = waitForCdc(
      ctx,
      async () => {
        reads++;
        return depths.shift() ?? 0;
      },
      5_000,
      1,
      async () => [{ server: 0, position: at(500) }],
    );
    setTimeout(() => (captured = at(600)), 20);
    await waiting;
    // Backlog is only read once capture is past the mark, and a single empty reading is not enough.
    expect(reads).toBe(5);
  });

  it('counts a later binlog file as past the mark', async () => {
    await expect(waitForCdc(fakeContext(() => at(4, 'binlog.000003')), async () => 0, 1_000, 1, async () => [{ server: 0, position: at(900) }])).resolves.toBeUndefined();
  });

  it('gives up with a TransientError that says where capture and the queue are', async () => {
    const behind = waitForCdc(fakeContext(() => at(100)), async () => 0, 30, 5, async () => [{ server: 0, position: at(500) }]);
    await expect(behind).rejects.toThrow(TransientError);
    await expect(waitForCdc(fakeContext(() => at(100)), async () => 0, 30, 5, async () => [{ server: 0, position: at(500) }])).rejects.toThrow(/not caught up with binlog\.000002:500 .*capture at binlog\.000002:100/);
    await expect(waitForCdc(fakeContext(() => at(700)), async () => 3, 30, 5, async () => [{ server: 0, position: at(500) }])).rejects.toThrow(/caught up, 3 message\(s\) waiting/);
    await expect(waitForCdc(fakeContext(() => undefined), async () => 0, 30, 5, async () => [{ server: 0, position: at(500) }])).rejects.toThrow(/no checkpoint/);
  });
});
