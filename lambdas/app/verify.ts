/**
 * Verification (VDiff-style): walk each copy segment's key range in batches. Per batch, the fast path
 * computes a CRC per row in SQL on both sides (once per row; FLOAT read through DOUBLE so every stored
 * digit counts) and sums them (count, XOR, SUM). With a built-in rule the server proves the batch by itself
 * when it can: source totals equal to the targets' totals, and every target row checked in SQL to route to
 * its table. Otherwise the source rows' CRCs are routed in Node and summed per target table, against each
 * target table's own sums — equal for every table → CLEAN by checksum. Only the tables that differ
 * are compared row by row with type-aware equality, classifying missing / different (which columns) /
 * extra rows — a row in a table it does not route to makes both tables differ, and counts as extra there
 * and missing where it belongs. With `repair`, differing and missing rows are rewritten from a fresh source
 * read, extras are deleted if the source does not have them there, and the batch is checked again. Each
 * batch's state is kept in DynamoDB, and each segment's outcome on its checkpoint.
 *
 * Here: a whole table. `verify/segment.ts` walks a segment's batches, `verify/batch.ts` decides one batch,
 * `verify/compare.ts` and `verify/repair.ts` compare and repair it; the SQL text is built in
 * `core/verify-sql.ts`, the sums in `core/verify-sums.ts`, and every read and repair write runs in
 * `adapters/checksums.ts`.
 */
import { describeError, SchemaError } from '../core/errors.js';
import { VerifyStatus } from '../core/model.js';
import { addCounts, emptyCounts } from '../core/verify-counts.js';
import { inParallel } from '../core/parallel.js';
import { tableConfig, type AppContext } from './context.js';
import { verifySegment } from './verify/segment.js';
import type { VerifyOptions, VerifySegmentRequest, VerifySegmentResult, VerifySummary } from './verify/types.js';

export type { VerifyOptions, VerifySummary } from './verify/types.js';

/** Verifies a whole table: every planned segment from its start (segments in parallel, `copy.concurrency`). */
export async function verifyTable(ctx: AppContext, tableName: string, opts: VerifyOptions = {}): Promise<VerifySummary> {
  const table = tableConfig(ctx, tableName);
  const segments = await ctx.store.segments(ctx.config.migrationId, table.name);
  if (segments.length === 0) throw new SchemaError(`no segments planned for ${table.name} in migration ${ctx.config.migrationId}: run plan first`);
  const parts = await inParallel(segments, ctx.config.copy.concurrency, (cp) => verifySegment(ctx, { table: table.name, segment: cp.segment, cursor: null, batch: 0 }, opts));
  const summary = emptyCounts();
  for (const p of parts) addCounts(summary, p);
  return { table: table.name, ...summary };
}

/**
 * One verify-batch step of the state machine: `verifySegment` with the context's settle wait. A failure is
 * recorded on the segment's checkpoint (FAILED, with the error) before it is thrown on, so it shows in
 * `status` while Step Functions retries it or, retries spent, until a redrive resumes it.
 */
export async function verifyStep(ctx: AppContext, req: VerifySegmentRequest): Promise<VerifySegmentResult> {
  try {
    return await verifySegment(ctx, req, ctx.settle ? { settle: ctx.settle } : {});
  } catch (err) {
    await ctx.store.markSegmentVerified(ctx.config.migrationId, req.table, req.segment, VerifyStatus.FAILED, describeError(err)).catch(() => undefined);
    throw err;
  }
}
