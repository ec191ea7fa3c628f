/**
 * Waiting for CDC to catch up (a watermark): capture passes the source's binlog position as of the call,
 * then the change queue is empty twice in a row. Verification calls it before it compares a differing
 * batch again, so a change still in flight is not reported as dirty.
 */
import { TransientError } from '../core/errors.js';
import { currentPosition } from '../adapters/binlog/server.js';
import type { AppContext } from './context.js';
import { comparePositions, type BinlogPosition } from '../core/position.js';

/** Messages waiting in the change queue (visible + in flight). */
export type QueueBacklog = () => Promise<number>;

export async function waitForCdc(
  ctx: Pick<AppContext, 'config' | 'source' | 'store'>,
  backlog: QueueBacklog,
  timeoutMs: number,
  pollMs = 1000,
  sourcePosition: () => Promise<BinlogPosition> = () => currentPosition(ctx.source),
): Promise<void> {
  const mark = await sourcePosition();
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  for (;;) {
    const state = await ctx.store.getCapture(ctx.config.migrationId);
    const caught = !!state && comparePositions(state.position, mark) >= 0;
    const waiting = caught ? await backlog() : -1;
    // Two calm readings: an apply may hold a message between receive and delete.
    calm = caught && waiting === 0 ? calm + 1 : 0;
    if (calm >= 2) return;
    if (Date.now() > deadline)
      throw new TransientError(
        `CDC has not caught up with ${mark.file}:${mark.position} within ${Math.round(timeoutMs / 1000)} s (capture ${caught ? `caught up, ${waiting} message(s) waiting` : `at ${state ? `${state.position.file}:${state.position.position}` : 'no checkpoint'}`}): verification waits for it`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
