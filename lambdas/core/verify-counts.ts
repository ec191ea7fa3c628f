/** What verification passes found, added up over batches and segments; pure. */
import { VerifyStatus, type DirtyRow, type VerifyBatchState } from './model.js';

/** What a pass over some batches found (a whole table, or one verify-batch call). */
export interface VerifyCounts {
  readonly batches: number;
  readonly rowsCompared: number;
  readonly byChecksum: number;
  readonly byRows: number;
  readonly missing: number;
  readonly different: number;
  readonly extra: number;
  readonly repaired: number;
  readonly clean: boolean;
  readonly dirty: DirtyRow[];
}

export type MutableCounts = { -readonly [K in keyof VerifyCounts]: VerifyCounts[K] };

export const emptyCounts = (): MutableCounts => ({
  batches: 0,
  rowsCompared: 0,
  byChecksum: 0,
  byRows: 0,
  missing: 0,
  different: 0,
  extra: 0,
  repaired: 0,
  clean: true,
  dirty: [],
});

export function addCounts(into: MutableCounts, c: VerifyCounts): void {
  into.batches += c.batches;
  into.rowsCompared += c.rowsCompared;
  into.byChecksum += c.byChecksum;
  into.byRows += c.byRows;
  into.missing += c.missing;
  into.different += c.different;
  into.extra += c.extra;
  into.repaired += c.repaired;
  into.clean &&= c.clean;
  into.dirty.push(...c.dirty);
}

/** One decided batch as counts: clean unless DIRTY or FAILED; its rows count as compared by its method. */
export function batchCounts(state: VerifyBatchState): VerifyCounts {
  return {
    batches: 1,
    rowsCompared: state.sourceRows,
    byChecksum: state.method === 'checksum' ? state.sourceRows : 0,
    byRows: state.method === 'rows' ? state.sourceRows : 0,
    missing: state.missing,
    different: state.different,
    extra: state.extra,
    repaired: state.repaired,
    clean: state.status !== VerifyStatus.DIRTY && state.status !== VerifyStatus.FAILED,
    dirty: state.dirtyRows,
  };
}
