/**
 * Finalize handler: summarises tables and marks the complete ones (metric TablesComplete); throws
 * SegmentsFailedError / VerificationDirtyError (execution FAILED) when a segment failed or stayed dirty.
 */
import { z } from 'zod';
import { finalize } from '../app/finalize.js';
import { checkMigrationId } from '../app/context.js';
import { envContext } from '../app/env-context.js';
import { Metric } from '../core/metric-names.js';
import { logger, parseEvent, publishMetrics, type ContextProvider } from './common.js';

const FinalizeEvent = z.object({ migrationId: z.string().min(1) }).loose();

export const makeFinalizeHandler = (getContext: ContextProvider) => async (event: unknown) => {
  const { migrationId } = parseEvent(FinalizeEvent, event, 'finalize');
  const ctx = await getContext();
  checkMigrationId(ctx, migrationId);
  const result = await finalize(ctx);
  logger.info('finalized', { tables: result.tables });
  publishMetrics(migrationId, [[Metric.tablesComplete, result.tables.filter((t) => t.complete).length]]);
  return result;
};

export const handler = makeFinalizeHandler(envContext);
