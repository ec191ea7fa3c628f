/**
 * Waiting for CDC to catch up, in one loop: capture has passed a mark (the source's binlog position when
 * the wait began), then the change queue is empty on two readings in a row (an apply may hold a message
 * between receive and delete) — or, where the caller can tell, every message sent until capture passed the
 * mark has been handled. Verification waits for it before it compares a differing batch again, so a change
 * still in flight is not reported as dirty; the local runtime waits for it after the copy.
 */
import { CapturePausedError, SourceChangedError, TransientError } from '../core/errors.js';
import { sourceChangedText } from '../core/source-change.js';
import { pausedText } from '../core/ddl.js';
import { sleep } from '../core/time.js';
import { currentPosition } from '../adapters/binlog/server.js';
import type { AppContext } from './context.js';
import { captureServers, serverNames } from '../core/source-layout.js';
import { comparePositions, type BinlogPosition } from '../core/position.js';
import type { CaptureState } from '../core/model.js';

/** Messages waiting in the change queue (visible + in flight). */
export type QueueBacklog = () => Promise<number>;

/** One reading of where CDC stands against the mark. */
export interface CdcReading {
  /** Capture's checkpoint is at or past the mark. */
  readonly caughtUp: boolean;
  /** Messages in the change queue (visible + in flight). */
  readonly backlog: number;
}

export interface CatchUpProbe<R extends CdcReading, M = BinlogPosition> {
  /** The source's binlog position now (one per source server where there are several): read once, as the mark. */
  sourcePosition(): Promise<M>;
  read(mark: M): Promise<R>;
  /**
   * Called at the first reading that is caught up: returns a check that every message sent until then has
   * been handled (applied or on its way to the DLQ), which ends the wait while new changes keep arriving.
   */
  handledSince?(): () => boolean;
  /** The error message when the wait times out, from the last reading. */
  timeoutMessage(mark: M, last: R, timeoutMs: number): string;
}

/** A source server's binlog position (`server`: its index among the source servers). */
export interface ServerPosition {
  readonly server: number;
  readonly position: BinlogPosition;
}

/** The binlog position now of every source server that capture reads (`captureServers`). */
export function sourcePositions(ctx: Pick<AppContext, 'config' | 'sources'>): Promise<ServerPosition[]> {
  return Promise.all(captureServers(ctx.config).map(async (server) => ({ server, position: await currentPosition(ctx.sources[server]!) })));
}

/** A capture server's checkpoint beside the source's position now: caught up when it has read up to it (and is not stopped before a DDL). */
export interface CaptureReading {
  readonly server: number;
  readonly state: CaptureState | undefined;
  readonly source: BinlogPosition;
  readonly caughtUp: boolean;
}

/**
 * `CaptureReading` of every source server that capture reads. Once a switch started reverse replication,
 * forward capture has nothing left to carry (what the old layout takes now are the reverse changes): caught up.
 */
export async function captureReadings(ctx: Pick<AppContext, 'config' | 'sources' | 'store' | 'reverse'>): Promise<CaptureReading[]> {
  const cutover = ctx.config.cutover.reverse && !ctx.reverse ? await ctx.store.getCutover(ctx.config.migrationId) : undefined;
  const switched = cutover?.status === 'DONE' && !!cutover.reverseFrom;
  return Promise.all(
    (await sourcePositions(ctx)).map(async ({ server, position: source }) => {
      const state = await ctx.store.getCapture(ctx.config.migrationId, server);
      return { server, state, source, caughtUp: switched || (!!state && !state.paused && comparePositions(state.position, source) >= 0) };
    }),
  );
}

/** Resolves with the reading that ended the wait; a TransientError after `timeoutMs`. */
export async function waitForCatchUp<R extends CdcReading, M = BinlogPosition>(probe: CatchUpProbe<R, M>, timeoutMs: number, pollMs: number): Promise<R> {
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

/** A reading of capture's checkpoints in the state store and, once every one is past its mark, the queue backlog. */
export interface CheckpointReading extends CdcReading {
  /** The first server whose capture is behind its mark, and where that capture stands. */
  readonly behind?: { readonly server: number; readonly position?: BinlogPosition };
}

/** A reading from capture's checkpoint of every source server in the state store and, once all are past the mark, the queue backlog. */
export function checkpointReading(ctx: Pick<AppContext, 'config' | 'store' | 'reverse'>, backlog: QueueBacklog): (mark: readonly ServerPosition[]) => Promise<CheckpointReading> {
  return async (mark) => {
    const states = await Promise.all(mark.map((m) => ctx.store.getCapture(ctx.config.migrationId, m.server)));
    // Stopped before a DDL, capture waits for the operator: waiting here would only time out.
    const paused = states.findIndex((s) => s?.paused);
    if (paused >= 0) throw new CapturePausedError(pausedText(mark[paused]!.server, states[paused]!.paused!));
    // Stopped for a changed source server, likewise.
    const changed = states.findIndex((s) => s?.sourceChanged);
    if (changed >= 0) {
      const server = mark[changed]!.server;
      throw new SourceChangedError(sourceChangedText(ctx.config.source, server, states[changed]!.sourceChanged!, !!ctx.reverse));
    }
    const at = mark.findIndex((m, i) => !states[i] || comparePositions(states[i].position, m.position) < 0);
    if (at >= 0) {
      const position = states[at]?.position;
      return { caughtUp: false, backlog: -1, behind: { server: mark[at]!.server, ...(position ? { position } : {}) } };
    }
    return { caughtUp: true, backlog: await backlog() };
  };
}

const text = (p: BinlogPosition) => `${p.file}:${p.position}`;

/** The wait in a deployed Lambda: capture's checkpoint against the source, on every source server, then the queue depth. */
export async function waitForCdc(
  ctx: Pick<AppContext, 'config' | 'sources' | 'store' | 'reverse'>,
  backlog: QueueBacklog,
  timeoutMs: number,
  pollMs = 1000,
  sourcePosition: () => Promise<readonly ServerPosition[]> = () => sourcePositions(ctx),
): Promise<void> {
  const names = serverNames(ctx.config.source);
  await waitForCatchUp(
    {
      sourcePosition,
      read: checkpointReading(ctx, backlog),
      timeoutMessage: (mark, last) => {
        const behind = last.behind && mark.find((m) => m.server === last.behind!.server);
        const where = mark.length > 1 && behind ? `source ${names[behind.server] ?? `#${behind.server}`} ` : '';
        const target = behind ?? mark[0];
        return `CDC has not caught up with ${where}${target ? text(target.position) : 'the source'} within ${Math.round(timeoutMs / 1000)} s (capture ${last.caughtUp ? `caught up, ${last.backlog} message(s) waiting` : `at ${last.behind?.position ? text(last.behind.position) : 'no checkpoint'}`}): verification waits for it`;
      },
    },
    timeoutMs,
    pollMs,
  );
}
