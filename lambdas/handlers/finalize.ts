/** Finalize handler: summarises tables; throws SegmentsFailedError (execution FAILED) if any segment failed. */
import { z } from 'zod';
import { finalize } from '../app/finalize.js';
import { checkMigrationId } from '../app/context.js';
import { envContext } from '../app/env-context.js';
import { logger, parseEvent, type ContextProvider } from './common.js';

const FinalizeEvent = z.object({ migrationId: z.string().min(1) }).loose();

export const makeFinalizeHandler = (getContext: ContextProvider) => async (event: unknown) => {
  const { migrationId } = parseEvent(FinalizeEvent, event, 'finalize');
  const ctx = await getContext();
  checkMigrationId(ctx, migrationId);
  const result = await finalize(ctx);
  logger.info('finalized', { tables: result.tables });
  return result;
};

export const handler = makeFinalizeHandler(envContext);
