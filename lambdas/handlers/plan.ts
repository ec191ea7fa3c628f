/** Plan handler: `{migrationId}` → statistics, segments, skew; returns the segments still to copy. */
import { z } from 'zod';
import { plan } from '../app/plan.js';
import { checkMigrationId } from '../app/context.js';
import { envContext } from '../app/env-context.js';
import { logger, parseEvent, type ContextProvider } from './common.js';

const PlanInput = z
  .object({
    migrationId: z.string().min(1),
    /** Rerun just these segments (they must exist); others are left alone. */
    only: z.array(z.object({ table: z.string().min(1), segment: z.number().int().min(0) }).strict()).min(1).optional(),
  })
  .loose();
/** The state machine passes its execution input as `input`; a direct invocation may pass it as is. */
const PlanEvent = z.union([z.object({ input: PlanInput }).loose().transform((e) => e.input), PlanInput]);

export const makePlanHandler = (getContext: ContextProvider) => async (event: unknown) => {
  const { migrationId, only } = parseEvent(PlanEvent, event, 'plan');
  const ctx = await getContext();
  checkMigrationId(ctx, migrationId);
  const result = await plan(ctx, only ? { only } : {});
  for (const w of result.warnings) logger.warn('plan warning', { warning: w });
  logger.info('planned', { tables: result.tables.map((t) => ({ table: t.table, rows: t.rows, segments: t.segments.length, skewFactor: t.skewFactor })) });
  // Only what the state machine needs travels in its payload (256 KB limit); details stay in DynamoDB.
  return { migrationId, segments: result.segments.map((s) => ({ migrationId, ...s })), tables: result.tables.map((t) => ({ table: t.table, rows: t.rows })) };
};

export const handler = makePlanHandler(envContext);
