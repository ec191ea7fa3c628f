/**
 * Waiting for CDC to catch up, in one loop: capture has passed a mark (the source's binlog position when
 * the wait began), then the change queue is empty on two readings in a row (an apply may hold a message
 * between receive and delete) — or, where the caller can tell, every message sent until capture passed the
 * mark has been handled. Verification waits for it before it compares a differing batch again, so a change
 * still in flight is not reported as dirty; the local runtime waits for it after the copy.
 */
import { TransientError } from '../core/errors.js';
import { sleep } from '../core/time.js';
import { currentPosition } from '../adapters/binlog/server.js';
import type { AppContext } from './context.js';
import { comparePositions, type BinlogPosition } from '../core/position.js';

/** Messages waiting in the change queue (visible + in flight). */
export type QueueBacklog = () => Promise<number>;

/** One reading of where CDC stands against the mark. */
export interface CdcReading {
  /** Capture's checkpoint is at or past the mark. */
  readonly caughtUp: boolean;
  /** Messages in the change queue (visible + in flight). */
  readonly backlog: number;
}

export interface CatchUpProbe<R extends CdcReading> {
  /** The source's binlog position now: read once, as the mark. */
  sourcePosition(): Promise<BinlogPosition>;
  read(mark: BinlogPosition): Promise<R>;
  /**
   * Called at the first reading that is caught up: returns a check that every message sent until then has
   * been handled (applied or on its way to the DLQ), which ends the wait while new changes keep arriving.
   */
  handledSince?(): () => boolean;
  /** The error message when the wait times out, from the last reading. */
  timeoutMessage(mark: BinlogPosition, last: R, timeoutMs: number): string;
}

/** Resolves with the reading that ended the wait; a TransientError after `timeoutMs`. */
export async function waitForCatchUp<R extends CdcReading>(probe: CatchUpProbe<R>, timeoutMs: number, pollMs: number): Promise<R> {
  const mark = await probe.sourcePosition();
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  let handled: (() => boolean) | undefined;
  for (;;) {
    const reading = await probe.read(mark);
    if (reading.caughtUp) {
      handled ??= probe.handledSince?.();
      if (handled?.()) return reading;
    }
    calm = reading.caughtUp && reading.backlog === 0 ? calm + 1 : 0;
    if (calm >= 2) return reading;
    if (Date.now() > deadline) throw new TransientError(probe.timeoutMessage(mark, reading, timeoutMs));
    await sleep(pollMs);
  }
}

/** A reading from capture's checkpoint in the state store and, once that is past the mark, the queue backlog. */
export function checkpointReading(ctx: Pick<AppContext, 'config' | 'store'>, backlog: QueueBacklog): (mark: BinlogPosition) => Promise<CdcReading & { readonly position?: BinlogPosition }> {
  return async (mark) => {
    const position = (await ctx.store.getCapture(ctx.config.migrationId))?.position;
    const caughtUp = !!position && comparePositions(position, mark) >= 0;
    return { caughtUp, backlog: caughtUp ? await backlog() : -1, ...(position ? { position } : {}) };
  };
}

/** The wait in a deployed Lambda: capture's checkpoint against the source, then the queue depth. */
export async function waitForCdc(
  ctx: Pick<AppContext, 'config' | 'source' | 'store'>,
  backlog: QueueBacklog,
  timeoutMs: number,
  pollMs = 1000,
  sourcePosition: () => Promise<BinlogPosition> = () => currentPosition(ctx.source),
): Promise<void> {
  await waitForCatchUp(
    {
      sourcePosition,
      read: checkpointReading(ctx, backlog),
      timeoutMessage: (mark, last) =>
        `CDC has not caught up with ${mark.file}:${mark.position} within ${Math.round(timeoutMs / 1000)} s (capture ${last.caughtUp ? `caught up, ${last.backlog} message(s) waiting` : `at ${last.position ? `${last.position.file}:${last.position.position}` : 'no checkpoint'}`}): verification waits for it`,
    },
    timeoutMs,
    pollMs,
  );
}
