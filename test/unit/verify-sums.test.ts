import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TargetName } from '../../lambdas/core/routing.js';
import { idOf as targetId } from '../../lambdas/core/table-id.js';
import { addRow, differingTables, noSums, provenEqual, rowsOf, sameSums, slotOf, sumsByTarget, sumsOfRow, totalOf, type Sums } from '../../lambdas/core/verify-sums.js';

const target = (db: number, table: number): TargetName => ({ db, table, database: `db_${db}`, tableName: `t_${table}` });
const layout = [target(0, 0), target(0, 1), target(1, 0), target(1, 1)];

describe('checksum sums', () => {
  it('numbers target tables by db then table, and names them database.table', () => {
    expect(layout.map((t) => slotOf(t, 2))).toEqual([0, 1, 2, 3]);
    expect(targetId(target(1, 0))).toBe('db_1.t_0');
  });

  it('adds a row: count, unsigned XOR and sum', () => {
    const sums = new Map<number, Sums>();
    addRow(sums, 3, 0xffffffff);
    addRow(sums, 3, 1);
    addRow(sums, 0, 7);
    expect(sums.get(3)).toEqual({ rows: 2, xor: 0xfffffffe, sum: 0x100000000 });
    expect(sums.get(0)).toEqual({ rows: 1, xor: 7, sum: 7 });
  });

  it.each<[string, Record<string, unknown> | undefined, ReturnType<typeof sumsOfRow>]>([
    ['no row', undefined, { rows: 0, xor: 0, sum: 0, off: 0 }],
    ['NULL sums of an empty range', { n: 0, x: 0, s: null }, { rows: 0, xor: 0, sum: 0, off: 0 }],
    ['text and bigint values', { n: 3, x: '4294967295', s: '12884901885', off: '1' }, { rows: 3, xor: 4294967295, sum: 12884901885, off: 1 }],
  ])('reads a sums row: %s', (_name, row, sums) => {
    expect(sumsOfRow(row)).toEqual(sums);
  });

  it('totals sides: XOR of XORs, sum of the rest', () => {
    expect(totalOf([{ rows: 1, xor: 5, sum: 5, off: 0 }, { rows: 2, xor: 3, sum: 9, off: 1 }])).toEqual({ rows: 3, xor: 6, sum: 14, off: 1 });
    expect(totalOf([])).toEqual({ rows: 0, xor: 0, sum: 0, off: 0 });
  });

  it.each<[string, Sums, Sums & { off: number }, boolean]>([
    ['equal and in place', { rows: 2, xor: 3, sum: 9 }, { rows: 2, xor: 3, sum: 9, off: 0 }, true],
    ['a row not proven in place', { rows: 2, xor: 3, sum: 9 }, { rows: 2, xor: 3, sum: 9, off: 1 }, false],
    ['count differs', { rows: 2, xor: 3, sum: 9 }, { rows: 3, xor: 3, sum: 9, off: 0 }, false],
    ['XOR differs', { rows: 2, xor: 3, sum: 9 }, { rows: 2, xor: 4, sum: 9, off: 0 }, false],
    ['sum differs', { rows: 2, xor: 3, sum: 9 }, { rows: 2, xor: 3, sum: 10, off: 0 }, false],
  ])('proves equal totals: %s', (_name, source, targets, proven) => {
    expect(provenEqual(source, targets)).toBe(proven);
    expect(sameSums(source, targets)).toBe(targets.off === 0 ? proven : true);
  });

  it('sums source rows read as arrays per routed target, the CRC after the key columns', () => {
    const rows = [
      [1, 'u1', 10],
      [2, 'u2', 20],
      [3, 'u1', 30],
    ];
    const seen: unknown[] = [];
    const sums = sumsByTarget(rows, ['id', 'user'], (r) => (seen.push({ ...r }), r.user === 'u1' ? layout[1]! : layout[2]!), 2);
    expect(seen).toEqual([
      { id: 1, user: 'u1' },
      { id: 2, user: 'u2' },
      { id: 3, user: 'u1' },
    ]);
    expect([...sums]).toEqual([
      [1, { rows: 2, xor: 10 ^ 30, sum: 40 }],
      [2, { rows: 1, xor: 20, sum: 20 }],
    ]);
    expect(rowsOf(sums.values())).toBe(3);
  });

  it('picks the tables whose sums differ from the source rows routed there (an empty table on both sides is equal)', () => {
    const source = new Map<number, Sums>([
      [0, { rows: 1, xor: 5, sum: 5 }],
      [1, { rows: 1, xor: 6, sum: 6 }],
    ]);
    const sides: Sums[] = [{ rows: 1, xor: 5, sum: 5 }, noSums(), { rows: 1, xor: 6, sum: 6 }, noSums()];
    // The row of table 1 sits in table 2: both differ, the total is the same.
    expect(differingTables(layout, 2, source, sides)).toEqual([layout[1], layout[2]]);
    expect(differingTables(layout, 2, source, [{ rows: 1, xor: 5, sum: 5 }, { rows: 1, xor: 6, sum: 6 }, noSums(), noSums()])).toEqual([]);
  });

  it('a side summed row by row equals the total of its parts in any split', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }), fc.nat(50), (crcs, cut) => {
        const whole = new Map<number, Sums>();
        const a = new Map<number, Sums>();
        const b = new Map<number, Sums>();
        crcs.forEach((c, i) => {
          addRow(whole, 0, c);
          addRow(i < cut ? a : b, 0, c);
        });
        const part = (m: Map<number, Sums>) => ({ ...(m.get(0) ?? noSums()), off: 0 });
        expect(totalOf([part(a), part(b)])).toEqual(part(whole));
      }),
    );
  });
});
