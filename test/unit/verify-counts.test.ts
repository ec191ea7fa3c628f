import { describe, expect, it } from 'vitest';
import { VerifyStatus, type VerifyBatchState } from '../../lambdas/core/model.js';
import { addCounts, batchCounts, emptyCounts } from '../../lambdas/core/verify-counts.js';

const state = (over: Partial<VerifyBatchState>): VerifyBatchState => ({
  table: 't',
  segment: 0,
  batch: 0,
  lo: null,
  hi: null,
  status: VerifyStatus.CLEAN,
  method: 'checksum',
  sourceRows: 10,
  targetRows: 10,
  missing: 0,
  different: 0,
  extra: 0,
  repaired: 0,
  dirtyRows: [],
  ...over,
});

describe('verification counts', () => {
  it.each<[string, Partial<VerifyBatchState>, { byChecksum: number; byRows: number; clean: boolean }]>([
    ['clean by checksum', {}, { byChecksum: 10, byRows: 0, clean: true }],
    ['clean by rows', { method: 'rows' }, { byChecksum: 0, byRows: 10, clean: true }],
    ['repaired is clean', { method: 'rows', status: VerifyStatus.REPAIRED }, { byChecksum: 0, byRows: 10, clean: true }],
    ['dirty', { method: 'rows', status: VerifyStatus.DIRTY }, { byChecksum: 0, byRows: 10, clean: false }],
    ['failed', { method: 'rows', status: VerifyStatus.FAILED }, { byChecksum: 0, byRows: 10, clean: false }],
  ])('a batch %s', (_name, over, expected) => {
    expect(batchCounts(state(over))).toMatchObject({ batches: 1, rowsCompared: 10, ...expected });
  });

  it('adds up batches: sums, every dirty row, clean only if all are', () => {
    const into = emptyCounts();
    const row = { target: 'db_0.t_0', key: [1], kind: 'missing' as const };
    addCounts(into, batchCounts(state({})));
    addCounts(into, batchCounts(state({ method: 'rows', status: VerifyStatus.DIRTY, missing: 1, extra: 2, different: 3, repaired: 4, dirtyRows: [row] })));
    expect(into).toEqual({ batches: 2, rowsCompared: 20, byChecksum: 10, byRows: 10, missing: 1, different: 3, extra: 2, repaired: 4, clean: false, dirty: [row] });
    expect(emptyCounts()).toMatchObject({ batches: 0, clean: true, dirty: [] });
  });
});
