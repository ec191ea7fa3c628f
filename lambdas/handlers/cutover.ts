/**
 * Cut-over handler, one action per Cutover state: `precheck` (refuses with the unmet conditions), `await`
 * (records the task token the operator's go or confirmation resumes), `switch` (freeze, catch up, check,
 * record, thaw: in one invocation, since a lock lives in its session) and `unfreeze` (thaws what a switch
 * that died left frozen). An event for the reverse migration's id (`<migrationId>.reverse`) is a rollback.
 */
import { z } from 'zod';
import { abortCutover, awaitOperator, cutOver, cutoverContext, directionOf, type CutoverDeps } from '../app/cutover.js';
import { envCutoverDeps, envContext, envReverseContext } from '../app/env-context.js';
import { Metric } from '../core/metric-names.js';
import { logger, parseEvent, publishMetrics, type ContextProvider } from './common.js';

const CutoverEvent = z.discriminatedUnion('action', [
  z.object({ migrationId: z.string().min(1), action: z.literal('precheck') }).loose(),
  z.object({ migrationId: z.string().min(1), action: z.literal('await'), wait: z.enum(['go', 'writes-stopped']), taskToken: z.string().min(1), execution: z.string().optional() }).loose(),
  z.object({ migrationId: z.string().min(1), action: z.literal('switch') }).loose(),
  z.object({ migrationId: z.string().min(1), action: z.literal('unfreeze') }).loose(),
]);

export const makeCutoverHandler =
  (getContext: ContextProvider, getDeps: (rollback: boolean) => CutoverDeps, getReverse: ContextProvider = () => Promise.reject(new Error('no reverse replication'))) =>
  async (event: unknown) => {
    const e = parseEvent(CutoverEvent, event, 'cutover');
    const d = await directionOf(await getContext(), e.migrationId, getReverse);
    const ctx = cutoverContext(d);
    const c = ctx.config.cutover;
    switch (e.action) {
      case 'precheck': {
        const out = await cutOver(d, getDeps(d.rollback), { dryRun: true });
        logger.info(`${d.rollback ? 'rollback' : 'cut-over'} precheck passed`, { steps: out.steps });
        return { postpone: c.postpone, freeze: c.freeze, steps: out.steps };
      }
      case 'await': {
        await awaitOperator(ctx, e.wait, { taskToken: e.taskToken, ...(e.execution ? { execution: e.execution } : {}) });
        logger.info('cut-over waits for the operator', { wait: e.wait });
        return { waiting: e.wait };
      }
      case 'switch': {
        // The state machine let it through: with `freeze: external`, the operator has confirmed.
        // CutoverFreezeMs while frozen too, every few seconds: the alarm can fire before the freeze ends.
        const frozenFor = (ms: number) => publishMetrics(d.ctx.config.migrationId, [[Metric.cutoverFreezeMs, ms]]);
        const out = await cutOver(d, { ...getDeps(d.rollback), writesStopped: () => Promise.resolve(), frozenFor, log: (line) => logger.info(line) }).finally(async () => {
          const state = await ctx.store.getCutover(ctx.config.migrationId).catch(() => undefined);
          if (state?.freezeMs !== undefined) publishMetrics(d.ctx.config.migrationId, [[Metric.cutoverFreezeMs, state.freezeMs]]);
        });
        logger.info('switched', { freezeMs: out.freezeMs, rowsChecked: out.rowsChecked, rollback: d.rollback });
        return { freezeMs: out.freezeMs, rowsChecked: out.rowsChecked, routing: out.routing };
      }
      case 'unfreeze':
        return abortCutover(ctx);
    }
  };

export const handler = makeCutoverHandler(envContext, (rollback) => envCutoverDeps(process.env, rollback), envReverseContext);
