/** Capture's lease taken by an operator's command (`reshard ddl`, `reshard capture-source`). */
import { LeaseHeldError } from '../core/errors.js';
import type { CaptureState } from '../core/model.js';
import { sleep } from '../core/time.js';
import type { AppContext } from './context.js';

/**
 * Capture's lease of source server `server` for `owner` (15 minutes): a capture run may hold it a moment
 * (it finds the stop and ends), so a held lease is tried again for up to ten seconds.
 */
export async function acquireCaptureForOperator(ctx: Pick<AppContext, 'config' | 'store'>, owner: string, server: number): Promise<CaptureState> {
  for (let tries = 0; ; tries++) {
    try {
      return await ctx.store.acquireCapture(ctx.config.migrationId, owner, 15 * 60_000, server);
    } catch (err) {
      if (!(err instanceof LeaseHeldError) || tries >= 40) throw err;
      await sleep(250);
    }
  }
}
