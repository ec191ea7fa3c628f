/** The one order of binlog positions: file (base name, numeric extension), byte offset, row index. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { comparePositions, type RowPosition } from '../../lambdas/core/position.js';

const p = (file: string, position: number, rowIndex?: number): RowPosition => ({ file, position, ...(rowIndex === undefined ? {} : { rowIndex }) });
const sign = (n: number) => Math.sign(n) || 0;

describe('comparePositions', () => {
  it.each<[string, RowPosition, RowPosition, -1 | 0 | 1]>([
    ['equal', p('binlog.000001', 4, 0), p('binlog.000001', 4, 0), 0],
    ['earlier file', p('binlog.000001', 900, 9), p('binlog.000002', 4, 0), -1],
    ['later file', p('binlog.000010', 4, 0), p('binlog.000009', 900, 9), 1],
    ['rollover binlog.000009 → binlog.000010', p('binlog.000009', 1_000_000, 7), p('binlog.000010', 4, 0), -1],
    ['rollover binlog.999999 → binlog.1000000', p('binlog.999999', 1_000_000, 7), p('binlog.1000000', 4, 0), -1],
    ['extension longer than a safe integer', p('binlog.99999999999999999999', 4), p('binlog.100000000000000000000', 4), -1],
    ['file decides before position', p('binlog.000001', 1_000_000, 0), p('binlog.000002', 4, 0), -1],
    ['earlier position', p('binlog.000001', 4, 5), p('binlog.000001', 5, 0), -1],
    ['later position', p('binlog.000001', 1000, 0), p('binlog.000001', 999, 7), 1],
    ['position compared as a number, not text', p('binlog.000001', 9, 0), p('binlog.000001', 10, 0), -1],
    ['earlier row index', p('binlog.000001', 4, 1), p('binlog.000001', 4, 2), -1],
    ['later row index', p('binlog.000001', 4, 10), p('binlog.000001', 4, 2), 1],
    ['missing row index counts as 0', p('binlog.000001', 4), p('binlog.000001', 4, 0), 0],
    ['missing row index before 1', p('binlog.000001', 4), p('binlog.000001', 4, 1), -1],
    ['both missing', p('binlog.000001', 4), p('binlog.000001', 4), 0],
    ['a name without extension first', p('binlog', 4, 0), p('binlog.000001', 4, 0), -1],
    ['base name decides before the extension', p('binlog.000009', 4), p('mysql-bin.000001', 4), -1],
    ['equal numbers: text decides', p('binlog.1', 4), p('binlog.01', 4), 1],
    ['non-numeric extension is part of the base name', p('binlog.x', 4), p('binlog.1', 4), 1],
  ])('%s', (_name, a, b, expected) => {
    expect(sign(comparePositions(a, b))).toBe(expected);
    expect(sign(comparePositions(b, a))).toBe(-expected || 0);
  });

  /** Files of one server's binlog, numbered `index`, zero-padded to 6 digits as the server writes them. */
  const indexed = fc.record({ index: fc.nat({ max: 2_000_000 }), position: fc.nat({ max: 2 ** 32 }), rowIndex: fc.nat({ max: 3 }) });
  const fileOf = (index: number) => `binlog.${String(index).padStart(6, '0')}`;
  const tupleOrder = (a: { index: number; position: number; rowIndex: number }, b: typeof a) =>
    a.index !== b.index ? sign(a.index - b.index) : a.position !== b.position ? sign(a.position - b.position) : sign(a.rowIndex - b.rowIndex);

  it('agrees with the order of (file index, offset, row index)', () => {
    fc.assert(
      fc.property(indexed, indexed, (a, b) => {
        expect(sign(comparePositions(p(fileOf(a.index), a.position, a.rowIndex), p(fileOf(b.index), b.position, b.rowIndex)))).toBe(tupleOrder(a, b));
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees with the tuple order across a rollover (indexes near 999999)', () => {
    const near = fc.record({ index: fc.integer({ min: 999_990, max: 1_000_010 }), position: fc.nat({ max: 20 }), rowIndex: fc.nat({ max: 2 }) });
    fc.assert(
      fc.property(near, near, (a, b) => {
        expect(sign(comparePositions(p(fileOf(a.index), a.position, a.rowIndex), p(fileOf(b.index), b.position, b.rowIndex)))).toBe(tupleOrder(a, b));
      }),
    );
  });

  it('agrees with the text order of (file, offset, row index) for zero-padded names of one width', () => {
    const padded = fc.record({
      file: fc.constantFrom('binlog.000001', 'binlog.000002', 'binlog.000010', 'mysql-bin.000001'),
      position: fc.nat({ max: 50 }),
      rowIndex: fc.nat({ max: 3 }),
    });
    const lex = (a: { file: string; position: number; rowIndex: number }, b: typeof a) =>
      a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.position !== b.position ? sign(a.position - b.position) : sign(a.rowIndex - b.rowIndex);
    fc.assert(
      fc.property(padded, padded, (a, b) => {
        expect(sign(comparePositions(a, b))).toBe(lex(a, b));
      }),
      { numRuns: 500 },
    );
  });

  /** Any positions, file names included that test the edges of the name rules. */
  const fileArb = fc.oneof(
    fc.constantFrom('binlog', 'binlog.', 'binlog.1', 'binlog.01', 'binlog.000009', 'binlog.000010', 'binlog.999999', 'binlog.1000000', 'binlog.x', 'mysql-bin.000001', 'a.b.7'),
    fc.string({ maxLength: 6 }),
    fc.tuple(fc.constantFrom('binlog', 'b', ''), fc.stringMatching(/^[0-9]{1,8}$/)).map(([base, n]) => `${base}.${n}`),
  );
  const positionArb = fc.record({ file: fileArb, position: fc.nat({ max: 5 }), rowIndex: fc.option(fc.nat({ max: 2 }), { nil: undefined }) }).map(({ file, position, rowIndex }) => p(file, position, rowIndex));
  const same = (a: RowPosition, b: RowPosition) => a.file === b.file && a.position === b.position && (a.rowIndex ?? 0) === (b.rowIndex ?? 0);

  it('is reflexive and antisymmetric, and 0 only for the same position', () => {
    fc.assert(
      fc.property(positionArb, positionArb, (a, b) => {
        expect(comparePositions(a, a)).toBe(0);
        expect(sign(comparePositions(a, b))).toBe(-sign(comparePositions(b, a)) || 0);
        expect(comparePositions(a, b) === 0).toBe(same(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(positionArb, positionArb, positionArb, (a, b, c) => {
        if (comparePositions(a, b) <= 0 && comparePositions(b, c) <= 0) expect(comparePositions(a, c)).toBeLessThanOrEqual(0);
        if (comparePositions(a, b) < 0 && comparePositions(b, c) <= 0) expect(comparePositions(a, c)).toBeLessThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('sorts consistently: every sorted neighbour pair is in order', () => {
    fc.assert(
      fc.property(fc.array(positionArb, { maxLength: 30 }), (list) => {
        const sorted = [...list].sort(comparePositions);
        for (let i = 1; i < sorted.length; i++) expect(comparePositions(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0);
        for (let i = 0; i < sorted.length; i++) for (let j = i + 1; j < sorted.length; j++) expect(comparePositions(sorted[i]!, sorted[j]!)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
