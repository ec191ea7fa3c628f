/** The batch loop over one copy segment's key range, with its cursor, time budget and outcome. */
import { SchemaError } from '../../core/errors.js';
import { segmentOutcome, type VerifyBatchState } from '../../core/model.js';
import { compareKeys, keyText, rangeSiblings } from '../../core/segments.js';
import { addCounts, batchCounts, emptyCounts } from '../../core/verify-counts.js';
import { planFor, tableConfig, type AppContext } from '../context.js';
import { verifyBatch } from './batch.js';
import { sourcePositions } from '../settle.js';
import { rangeOf, tableCheck } from './table-check.js';
import type { VerifyOptions, VerifySegmentRequest, VerifySegmentResult } from './types.js';

/**
 * Verifies a segment's key range `(lo, hi]` in batches of `batchRows` source rows, from `cursor`, until the
 * segment ends or the budget runs out; each batch's state is stored as it is decided. When the segment
 * ends, its outcome is recorded on its checkpoint.
 */
export async function verifySegment(ctx: AppContext, req: VerifySegmentRequest, opts: VerifyOptions = {}): Promise<VerifySegmentResult> {
  const started = Date.now();
  const table = tableConfig(ctx, req.table);
  const plan = await planFor(ctx, table.name);
  const cp = await ctx.store.getSegment(ctx.config.migrationId, table.name, req.segment);
  if (!cp) throw new SchemaError(`segment ${table.name}#${req.segment} of migration ${ctx.config.migrationId} does not exist: run plan first`);
  // A sharded source: the first physical table's segment of a key range verifies the range for all of them.
  const siblings = plan.ranges ? rangeSiblings(req.segment, plan.ranges, plan.segments / plan.ranges) : [req.segment];
  if (siblings[0] !== req.segment) return { table: table.name, segment: req.segment, done: true, cursor: cp.hi, batch: 0, ...emptyCounts() };
  const check = await tableCheck(ctx, table, plan);
  const batchRows = opts.batchRows ?? ctx.config.verify.batchRows;
  const counts = emptyCounts();
  if (req.cursor === null && req.batch === 0) {
    await ctx.store.clearVerify(ctx.config.migrationId, table.name, req.segment);
    // Where this verification begins: changes after it are in the binlog from there (the cut-over's final check).
    const from = ctx.config.cdc.enabled ? (await sourcePositions(ctx)).map((p) => ({ server: p.server, position: p.position })) : undefined;
    for (const sg of siblings) await ctx.store.beginSegmentVerify(ctx.config.migrationId, table.name, sg, from);
  }

  let lo = req.cursor ?? cp.lo;
  let batch = req.batch;
  // Clean batches' states are written 25 at a time (and before this call returns): a call that dies
  // before writing them is rerun from its cursor anyway, which verifies those batches again.
  const cleanStates: VerifyBatchState[] = [];
  const flush = async () => {
    if (cleanStates.length) await ctx.store.putVerifyBatches(ctx.config.migrationId, cleanStates.splice(0));
  };
  const recordClean = async (state: VerifyBatchState) => {
    cleanStates.push(state);
    if (cleanStates.length >= 25) await flush();
  };
  // A batch's upper key: the batchRows-th key after `from` within the segment (index only), else the
  // segment's end. The next batch's is looked up while this batch is verified.
  // Over several physical tables, the lowest of their edges at an equal share of the batch each.
  const edgeAfter = async (from: string | null): Promise<string | null> => {
    const found = await check.source.edges(table.scrollKey, rangeOf(check, from, cp.hi), Math.max(1, Math.ceil(batchRows / check.source.count)));
    const keys = found.filter((k) => k !== undefined && k !== null).map((k) => keyText(k, plan.keyKind, `${table.name} verify`));
    return keys.length ? keys.reduce((a, b) => (compareKeys(a, b, plan.keyKind) <= 0 ? a : b)) : cp.hi;
  };
  let nextEdge = edgeAfter(lo);
  for (;;) {
    const hi = await nextEdge;
    if (hi !== cp.hi) {
      nextEdge = edgeAfter(hi);
      nextEdge.catch(() => undefined); // awaited on the next round; never an unhandled rejection
    }
    const state = await verifyBatch({ ctx, check, segment: req.segment, batch, lo, hi, repair: opts.repair, keepDirty: opts.keepDirty, settle: opts.settle, recordClean });
    batch++;
    addCounts(counts, batchCounts(state));
    const done = hi === cp.hi;
    lo = hi;
    if (done) {
      await flush();
      const status = segmentOutcome(await ctx.store.verifyBatches(ctx.config.migrationId, table.name, req.segment));
      for (const sg of siblings) await ctx.store.markSegmentVerified(ctx.config.migrationId, table.name, sg, status);
      return { table: table.name, segment: req.segment, done: true, cursor: lo, batch, status, ...counts };
    }
    if (req.budgetMs !== undefined && Date.now() - started >= req.budgetMs) {
      await flush();
      return { table: table.name, segment: req.segment, done: false, cursor: lo, batch, ...counts };
    }
  }
}
