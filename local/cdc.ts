/**
 * Local CDC: the capture loop (the twin of the capture Lambda on its EventBridge schedule, here run back
 * to back) and the SQS event-source pollers invoking the apply handler, over fauxqs.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '../lambdas/core/time.js';
import { captureReadings, checkpointReading, sourcePositions, waitForCatchUp } from '../lambdas/app/settle.js';
import { captureServers, serverNames } from '../lambdas/core/source-layout.js';
import { ChangeQueue } from '../lambdas/adapters/sqs.js';
import type { OutgoingMessage } from '../lambdas/core/events/model.js';
import { secondsBehind } from '../lambdas/core/progress.js';
import { captureRun, sourceBinlogReader } from '../lambdas/app/capture.js';
import type { AppContext } from '../lambdas/app/context.js';
import { CapturePausedError, LeaseHeldError, ReshardError, SourceChangedError, describeError } from '../lambdas/core/errors.js';
import { pausedText } from '../lambdas/core/ddl.js';
import { sourceChangedText } from '../lambdas/core/source-change.js';
import { makeApplyHandler } from '../lambdas/handlers/apply.js';
import { Poller } from './poller.js';
import type { LocalQueues } from './emulators.js';

export interface CdcLag {
  /** Events captured so far. */
  readonly captured: number;
  /** Messages waiting in the queue and in flight. */
  readonly backlog: number;
  /** Messages in the DLQ. */
  readonly dead: number;
  /** Seconds since the source time of the newest captured event; 0 when caught up (see `secondsBehind`). */
  readonly secondsBehind: number;
  /** Capture has read up to the source's current binlog position (on every source server). */
  readonly caughtUp: boolean;
  /** Source servers whose capture is stopped before a DDL (`pausedText`). */
  readonly paused?: readonly string[];
  /** Source servers whose capture is stopped because their endpoint reaches another server (`sourceChangedText`). */
  readonly stopped?: readonly string[];
  /** With more than one source server: each server's capture. */
  readonly servers?: readonly ServerLag[];
}

/** One source server's capture (`server`: its index among the source servers, `name`: host:port). */
export interface ServerLag {
  readonly server: number;
  readonly name: string;
  readonly captured: number;
  readonly secondsBehind: number;
  readonly caughtUp: boolean;
  readonly paused?: string;
  readonly stopped?: string;
}

/** `drain` gave up early: waiting longer would not let CDC catch up (see `drain`'s `giveUp`). */
export class CdcStuckError extends ReshardError {}

export class LocalCdc {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly queue: ChangeQueue;
  readonly dlq: ChangeQueue;
  readonly poller: Poller;
  lastError?: string;
  /** Errors of capture and apply so far (each sets `lastError`). */
  private errors = 0;

  /** Messages handed to SQS by capture (for `catchUp`). */
  private sent = 0;

  constructor(
    private readonly ctx: AppContext,
    readonly queues: LocalQueues,
    /** The reverse migration's context (`cutover.reverse`): its capture and apply share the queue and the pollers. */
    private readonly reverseCtx?: AppContext,
  ) {
    const counted = (n: number) => {
      this.sent += n;
    };
    this.queue = new (class extends ChangeQueue {
      override async send(messages: readonly OutgoingMessage[], lanes?: number): Promise<void> {
        await super.send(messages, lanes);
        counted(messages.length);
      }
    })(queues.sqs, queues.queueUrl);
    this.dlq = new ChangeQueue(queues.sqs, queues.dlqUrl);
    this.poller = new Poller({
      queue: this.queue,
      queueArn: queues.queueArn,
      handler: makeApplyHandler(() => Promise.resolve(ctx), reverseCtx ? () => Promise.resolve(reverseCtx) : undefined),
      concurrency: ctx.config.cdc.applyConcurrency,
      visibilityTimeout: 30,
      onError: (err) => this.failed(err),
    });
  }

  private failed(err: unknown): void {
    this.lastError = describeError(err);
    this.errors++;
  }

  /** Capture and apply are running (`start` was called, `stop` not yet). */
  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.poller.start();
    // One capture per source server, as on AWS (each with its own lease and checkpoint).
    this.loops = captureServers(this.ctx.config).map((server) => this.captureLoop(this.ctx, server));
    // Reverse capture of each target server: idle until a switch starts it.
    const rev = this.reverseCtx;
    if (rev) this.loops.push(...captureServers(rev.config).map((server) => this.captureLoop(rev, server)));
  }

  /** The context of a direction: the migration's, or its reverse migration's. */
  private contextOf(reverse: boolean): AppContext {
    if (!reverse) return this.ctx;
    if (!this.reverseCtx) throw new Error(`${this.ctx.config.migrationId} runs without reverse replication (cutover.reverse)`);
    return this.reverseCtx;
  }

  private async captureLoop(ctx: AppContext, server: number): Promise<void> {
    const owner = `${ctx.workerId}:capture-${ctx.reverse ? 'r' : ''}${server}-${randomUUID().slice(0, 8)}`;
    const read = sourceBinlogReader(ctx.config, server);
    while (this.running) {
      try {
        const run = await captureRun(ctx, { queue: this.queue, read }, { owner, budgetMs: 2000, leaseMs: 30_000, idleMs: 200, server });
        if (run.idle) await sleep(200);
        else if (run.paused) await sleep(500);
        else if (run.caughtUp && run.events === 0) await sleep(100);
      } catch (err) {
        if (!(err instanceof LeaseHeldError)) this.failed(err);
        await sleep(500);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.poller.stop();
  }

  /** Capture's lag (of the reverse migration with `reverse`) and the queue's depth. */
  async lag(reverse = false): Promise<CdcLag> {
    const ctx = this.contextOf(reverse);
    const names = serverNames(ctx.config.source);
    const [servers, depth, dead] = await Promise.all([
      captureReadings(ctx).then((readings) =>
        readings.map(({ server, state, caughtUp }): ServerLag => {
          return {
            server,
            name: names[server]!,
            captured: state?.events ?? 0,
            secondsBehind: secondsBehind(caughtUp, state?.lastEventAt, Date.now()),
            caughtUp,
            ...(state?.paused ? { paused: pausedText(server, state.paused) } : {}),
            ...(state?.sourceChanged ? { stopped: sourceChangedText(ctx.config.source, server, state.sourceChanged, !!ctx.reverse) } : {}),
          };
        }),
      ),
      this.queue.depth(),
      this.dlq.depth(),
    ]);
    return {
      captured: servers.reduce((a, s) => a + s.captured, 0),
      backlog: depth.visible + depth.inFlight,
      dead: dead.visible + dead.inFlight,
      secondsBehind: Math.max(0, ...servers.map((s) => s.secondsBehind)),
      caughtUp: servers.every((s) => s.caughtUp),
      ...(servers.some((s) => s.paused) ? { paused: servers.flatMap((s) => (s.paused ? [s.paused] : [])) } : {}),
      ...(servers.some((s) => s.stopped) ? { stopped: servers.flatMap((s) => (s.stopped ? [s.stopped] : [])) } : {}),
      ...(servers.length > 1 ? { servers } : {}),
    };
  }

  /**
   * Waits until every change the source had made when called is applied — a watermark, so it also ends
   * while the source keeps changing: capture passes the source's current position, then every message sent
   * up to that point has been handled (applied, or moved towards the DLQ) or the queue is empty.
   */
  async catchUp(timeoutMs = 120_000, reverse = false): Promise<void> {
    const ctx = this.contextOf(reverse);
    await waitForCatchUp(
      {
        sourcePosition: () => sourcePositions(ctx),
        // Deduplicated resends are never delivered: an empty queue ends the wait too.
        read: checkpointReading(ctx, () => this.queue.backlog()),
        handledSince: () => {
          const sent = this.sent;
          return () => this.poller.processed + this.poller.failedReports >= sent;
        },
        timeoutMessage: (mark, last) =>
          last.caughtUp
            ? `CDC apply did not catch up within ${timeoutMs} ms (backlog ${last.backlog})`
            : `CDC capture did not reach ${mark.map((m) => `${serverNames(ctx.config.source)[m.server]!} ${m.position.file}:${m.position.position}`).join(', ')} within ${timeoutMs} ms${this.lastError ? ` (last error: ${this.lastError})` : ''}`,
      },
      timeoutMs,
      50,
    );
  }

  /**
   * Waits until capture is level with the source and every message is applied, on two readings in a row:
   * each reading compares with the source's position at that moment (not a watermark), so the lag it
   * returns is caught up with an empty queue.
   *
   * With `giveUp`, it ends early, with a CdcStuckError, when waiting cannot help: once the DLQ holds a
   * message, or when capture and the queue have not moved for `stalledMs` while capture or apply failed.
   */
  async drain(timeoutMs = 120_000, reverse = false, giveUp?: { readonly stalledMs: number }): Promise<CdcLag> {
    const ctx = this.contextOf(reverse);
    const errorsBefore = this.errors;
    let moved = { at: Date.now(), mark: '' };
    return waitForCatchUp(
      {
        sourcePosition: () => sourcePositions(ctx),
        read: async () => {
          const lag = await this.lag(reverse);
          // Stopped before a DDL, capture waits for the operator: waiting here would only time out.
          if (lag.paused) throw new CapturePausedError(lag.paused.join('; '));
          // Stopped for a changed source server, likewise.
          if (lag.stopped) throw new SourceChangedError(lag.stopped.join('; '));
          if (giveUp) {
            if (lag.dead > 0) throw new CdcStuckError(`${lag.dead} change message(s) in the DLQ${this.lastError ? ` (last error: ${this.lastError})` : ''}`);
            // Progress: events captured, or the queue's depth changing (not `caughtUp`, which the source's other writes flip).
            const mark = `${lag.captured}/${lag.backlog}`;
            if (mark !== moved.mark) moved = { at: Date.now(), mark };
            else if (this.errors > errorsBefore && Date.now() - moved.at >= giveUp.stalledMs)
              throw new CdcStuckError(`CDC has not moved for ${Math.round((Date.now() - moved.at) / 1000)} s (backlog ${lag.backlog}, caught up ${lag.caughtUp}); last error: ${this.lastError ?? 'none'}`);
          }
          return lag;
        },
        timeoutMessage: (_mark, lag) => `CDC did not catch up within ${timeoutMs} ms (backlog ${lag.backlog}, caught up ${lag.caughtUp}${this.lastError ? `, last error: ${this.lastError}` : ''})`,
      },
      timeoutMs,
      150,
    );
  }
}
