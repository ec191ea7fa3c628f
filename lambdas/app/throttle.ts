/**
 * The copy's throttle (gh-ost's throttler): readings of every source and target server (`Threads_running`,
 * history list length), of the replica (`throttle.replica`) and of change capture's lag, taken at most every
 * `throttle.checkIntervalMs` and shared by the segments one process copies; `core/throttle.ts` decides.
 */
import { captureLagSeconds, throttleReason, watchedServers, type ServerLoad, type ThrottleReadings, type ThrottleReason } from '../core/throttle.js';
import { serverNames } from '../core/source-layout.js';
import { LoadReader, replicaLagSeconds } from '../adapters/mysql/load.js';
import { captureReadings } from './settle.js';
import type { AppContext } from './context.js';

type ThrottleContext = Pick<AppContext, 'config' | 'sources' | 'targets' | 'store' | 'replica'>;

export class CopyThrottle {
  private readonly loads: { readonly reader: LoadReader; readonly where: string }[];
  private readonly replicaWhere: string | undefined;
  private last: { readonly at: number; readonly reading: Promise<ThrottleReason | undefined> } | undefined;

  constructor(private readonly ctx: ThrottleContext) {
    this.loads = watchedServers(ctx.config).map((s) => ({ where: s.where, reader: new LoadReader(s.role === 'source' ? ctx.sources[s.index]! : ctx.targets[s.index]!, s.where) }));
    const r = ctx.config.throttle.replica;
    this.replicaWhere = r ? `replica ${r.host}:${r.port}` : undefined;
  }

  /** Why the copy should pause now, or undefined: the last reading while it is younger than `throttle.checkIntervalMs`, else a new one. */
  check(now = Date.now()): Promise<ThrottleReason | undefined> {
    if (this.last && now - this.last.at < this.ctx.config.throttle.checkIntervalMs) return this.last.reading;
    const reading = this.read().then((r) => throttleReason(r, this.ctx.config.throttle));
    const last = { at: now, reading };
    this.last = last;
    // A failed reading is not kept: the next check reads again.
    reading.catch(() => {
      if (this.last === last) this.last = undefined;
    });
    return reading;
  }

  private async read(): Promise<ThrottleReadings> {
    const { config, replica } = this.ctx;
    const [servers, lag, cdc] = await Promise.all([
      Promise.all(this.loads.map(async ({ reader, where }): Promise<ServerLoad> => ({ where, ...(await reader.read()) }))),
      replica && this.replicaWhere ? replicaLagSeconds(replica, this.replicaWhere) : undefined,
      config.cdc.enabled ? this.cdcLag() : undefined,
    ]);
    return { servers, ...(this.replicaWhere && lag !== undefined ? { replica: { where: this.replicaWhere, lagSeconds: lag } } : {}), ...(cdc ? { cdc } : {}) };
  }

  /** Capture's lag per source server; a capture stopped before a DDL waits for a person, not for the copy, and is left out. */
  private async cdcLag(): Promise<{ where: string; lagSeconds: number }[]> {
    const names = serverNames(this.ctx.config.source);
    const now = Date.now();
    return (await captureReadings(this.ctx))
      .filter((r) => !r.state?.paused)
      .map((r) => ({
        where: names.length > 1 ? `source ${names[r.server]}` : 'source',
        lagSeconds: captureLagSeconds(r.caughtUp, r.state?.lastEventAt, r.state?.caughtUpAt, now),
      }));
  }
}

const throttles = new WeakMap<object, CopyThrottle>();

/** The context's throttle, made once per context (its readings are shared by the segments copied in it). */
export function throttleFor(ctx: ThrottleContext): CopyThrottle {
  let t = throttles.get(ctx);
  if (!t) throttles.set(ctx, (t = new CopyThrottle(ctx)));
  return t;
}
