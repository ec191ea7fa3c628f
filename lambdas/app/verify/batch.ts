/** One batch of a segment: the fast path by checksums, then rows, settling, repair, and the batch's state. */
import { recordKeyId } from '../../core/config.js';
import { VerifyStatus, type VerifyBatchState } from '../../core/model.js';
import { keysPredicate } from '../../core/sql.js';
import type { AppContext } from '../context.js';
import { compareRows, differingBySums, proveInSql, type Compared } from './compare.js';
import { repairRows } from './repair.js';
import { rangeOf, type TableCheck } from './table-check.js';

export interface BatchArgs {
  readonly ctx: Pick<AppContext, 'config' | 'store'>;
  readonly check: TableCheck;
  readonly segment: number;
  /** The batch's index within the segment. */
  readonly batch: number;
  /** The batch's key range `(lo, hi]`; `null` leaves that end open. */
  readonly lo: string | null;
  readonly hi: string | null;
  /** Rewrites what differs and checks the batch again. @default config.verify.repair */
  readonly repair?: boolean | undefined;
  /** Dirty rows kept in the batch's state. @default 200 */
  readonly keepDirty?: number | undefined;
  /** Waits for CDC to catch up past now; a batch that differs is compared again after it. @default none */
  readonly settle?: (() => Promise<void>) | undefined;
  /** Stores a batch found clean (the caller writes them in groups); other states are stored here. */
  readonly recordClean: (state: VerifyBatchState) => Promise<void>;
}

/** A batch's counts before any row was compared. */
const nothingFound = () => ({ missing: 0, different: 0, extra: 0, repaired: 0, dirtyRows: [] });

const dirtyCount = (f: Compared) => f.missing.length + f.different.length + f.extra.length;

/** Verifies one batch and returns its state, stored (or handed to `recordClean`) as it is decided. */
export async function verifyBatch(args: BatchArgs): Promise<VerifyBatchState> {
  const { ctx, check } = args;
  const range = rangeOf(check, args.lo, args.hi);
  const base = { table: check.table.name, segment: args.segment, batch: args.batch, lo: args.lo, hi: args.hi };
  // Fast path: per target table, the source rows routed there against the table's own rows. A proof in SQL
  // that fails leaves the per-table sums to the source read of the row by row comparison.
  let sourceRows: number;
  let targetRows: number;
  let narrow: Parameters<typeof compareRows>[0]['narrow'];
  let tables = check.tables;
  if (check.placement) {
    const proof = await proveInSql(check, range);
    ({ sourceRows, targetRows } = proof);
    if (!proof.proven) narrow = proof.sides;
    else tables = [];
  } else {
    const sums = await differingBySums(check, range);
    ({ sourceRows, targetRows } = sums);
    tables = sums.dirty;
  }
  const clean: VerifyBatchState = { ...base, status: VerifyStatus.CLEAN, method: 'checksum', sourceRows, targetRows, ...nothingFound() };
  if (tables.length === 0) {
    await args.recordClean(clean);
    return clean;
  }
  await ctx.store.putVerifyBatch(ctx.config.migrationId, { ...base, status: VerifyStatus.VERIFYING, method: 'rows', sourceRows, targetRows, ...nothingFound() });
  // Row by row, on the differing tables only (a misplaced row makes both its tables differ). When the proof
  // in SQL did not settle the batch, the source read finds those tables (and none: clean by checksum after all).
  let found = await compareRows({ check, tables, range, narrow });
  if (found.compared.length === 0) {
    await args.recordClean(clean);
    return clean;
  }
  // Live migration: a difference may be a change still in flight. Let CDC catch up past now, then compare
  // those keys again (in every table: a change may have moved the row); a key the source changed again
  // meanwhile gets another round.
  for (let round = 0; args.settle && round < 5 && dirtyCount(found) > 0; round++) {
    await args.settle();
    const keys = [...new Map([...found.missing, ...found.different, ...found.extra].map((d) => [recordKeyId(d.key), d.key])).values()];
    found = await compareRows({ check, tables: check.tables, range: { where: keysPredicate(check.recordKey, keys.length), params: keys.flat() } });
  }
  const first = found;
  let repaired = 0;
  let status: VerifyStatus = dirtyCount(found) === 0 ? VerifyStatus.CLEAN : VerifyStatus.DIRTY;
  if (status === VerifyStatus.DIRTY && (args.repair ?? ctx.config.verify.repair)) {
    repaired = await repairRows(check, found);
    const again = await differingBySums(check, range);
    status = again.dirty.length === 0 ? VerifyStatus.REPAIRED : VerifyStatus.FAILED;
  }
  const state: VerifyBatchState = {
    ...base,
    status,
    method: 'rows',
    sourceRows,
    targetRows,
    missing: first.missing.length,
    different: first.different.length,
    extra: first.extra.length,
    repaired,
    dirtyRows: [...first.missing, ...first.different, ...first.extra].slice(0, args.keepDirty ?? 200),
  };
  await ctx.store.putVerifyBatch(ctx.config.migrationId, state);
  return state;
}
