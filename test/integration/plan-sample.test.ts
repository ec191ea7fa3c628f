/**
 * Plan's sample on the real server: a hash sample sorted by the server, whose quantiles become the segment
 * boundaries. Segments must partition the rows exactly (as the server compares keys, collation included)
 * and come out about even; statistics per day are counted per calendar day.
 */
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { bindKey, rowsPerDay, sampleKeys } from '../../lambdas/adapters/mysql/source.js';
import { planSegments, keyText, scrollValue, type KeyKind } from '../../lambdas/core/segments.js';
import { rangeWhere } from '../../lambdas/core/verify-sql.js';
import { q } from '../../lambdas/core/sql.js';
import { scratchDatabase } from '../helpers/db.js';

const scratch = scratchDatabase('sample');
const db = scratch.db;

/** Rows of `table` in each segment, counted by the server with the copy's own range predicate. */
async function segmentCounts(table: string, key: readonly string[], kind: KeyKind, step: number, count: number): Promise<{ counts: number[]; total: number; min: unknown; max: unknown }> {
  const sample = await sampleKeys(scratch.pool, { database: db, table, scrollKey: key, shardKeys: [], step });
  const keys = sample.rows.map((r) => keyText(scrollValue(key, (c) => r[c]), kind, 'test'));
  const segments = planSegments(keys, count, kind);
  const counts: number[] = [];
  for (const s of segments) {
    const { where, params } = rangeWhere({ scrollKey: key }, bindKey(s.lo, kind), bindKey(s.hi, kind));
    const [r] = await scratch.root.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${q(db)}.${q(table)} WHERE ${where}`, params);
    counts.push(Number(r[0]!.n));
  }
  const [t] = await scratch.root.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${q(db)}.${q(table)}`);
  return { counts, total: Number(t[0]!.n), min: sample.min, max: sample.max };
}

describe('plan sample', () => {
  it('integer keys with gaps: 8 segments partition the rows, each within 10% of an eighth; MIN and MAX are exact', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.ints (id BIGINT PRIMARY KEY, pad CHAR(10))`);
    // 40,000 rows, keys sparse at first and dense later (key-space quantiles would be far off row quantiles).
    await scratch.root.query(`INSERT INTO ${q(db)}.ints SELECT IF(seq <= 10000, seq * 1000, 10000000 + seq), 'x' FROM mysql.seq_1_to_40000`);
    const { counts, total, min, max } = await segmentCounts('ints', ['id'], 'int', 10, 8);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(counts).toHaveLength(8);
    for (const c of counts) expect(Math.abs(c - total / 8)).toBeLessThan(total / 80);
    expect(String(min)).toBe('1000');
    expect(String(max)).toBe('10040000');
  });

  it('string keys in a case-insensitive collation: boundaries in the server\'s order, no row in two segments or none', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.strs (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY) DEFAULT CHARSET=utf8mb4`);
    // Mixed case: JavaScript's order ('B' < 'a') is not the server's ('a' < 'B').
    await scratch.root.query(`INSERT INTO ${q(db)}.strs SELECT CONCAT(IF(seq % 2, 'a', 'B'), LPAD(seq, 6, '0')) FROM mysql.seq_1_to_6000`);
    const { counts, total } = await segmentCounts('strs', ['k'], 'string', 3, 6);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    // As many segments as asked for, though as text the server's order goes down at 'a…' → 'B…'.
    expect(counts).toHaveLength(6);
    for (const c of counts) expect(Math.abs(c - total / 6)).toBeLessThan(total / 30);
  });

  it('a composite key (int, string): 5 segments partition the rows, and the least and greatest keys are exact', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.pairs (order_id INT NOT NULL, code VARCHAR(8) COLLATE utf8mb4_general_ci NOT NULL, PRIMARY KEY (order_id, code)) DEFAULT CHARSET=utf8mb4`);
    // 30 orders of 200 lines each: every boundary falls inside an order, between codes in the server's order.
    await scratch.root.query(`INSERT INTO ${q(db)}.pairs SELECT 1 + seq DIV 200, CONCAT(IF(seq % 2, 'a', 'B'), LPAD(seq % 200, 3, '0')) FROM mysql.seq_0_to_5999`);
    const { counts, total, min, max } = await segmentCounts('pairs', ['order_id', 'code'], ['int', 'string'], 4, 5);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(total).toBe(6000);
    expect(counts).toHaveLength(5);
    for (const c of counts) expect(Math.abs(c - total / 5)).toBeLessThan(total / 10);
    expect(min).toEqual([1, 'a001']);
    expect(max).toEqual([30, 'B198']);
  });

  it('an empty table: one open segment, no MIN or MAX', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.empty (id INT PRIMARY KEY)`);
    const sample = await sampleKeys(scratch.pool, { database: db, table: 'empty', scrollKey: ['id'], shardKeys: [], step: 1 });
    expect(sample).toEqual({ rows: [], min: null, max: null });
    expect(planSegments([], 8, 'int')).toEqual([{ index: 0, lo: null, hi: null }]);
  });

  it('statistics per day: counted per calendar day of the time column, NULL times apart, within the window', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.days (id INT PRIMARY KEY, t DATETIME(6) NULL)`);
    await scratch.root.query(
      `INSERT INTO ${q(db)}.days VALUES (1, '2026-01-01 00:00:00'), (2, '2026-01-01 23:59:59.999999'), (3, '2026-01-02 00:00:00'), (4, NULL), (5, '2026-03-10 12:00:00')`,
    );
    expect(await rowsPerDay(scratch.pool, { database: db, table: 'days', timeColumn: 't' })).toEqual([
      { day: 'null', rows: 1 },
      { day: '2026-01-01', rows: 2 },
      { day: '2026-01-02', rows: 1 },
      { day: '2026-03-10', rows: 1 },
    ]);
    expect(await rowsPerDay(scratch.pool, { database: db, table: 'days', timeColumn: 't', window: { from: '2026-01-01T12:00:00', to: '2026-03-10' } })).toEqual([
      { day: '2026-01-01', rows: 1 },
      { day: '2026-01-02', rows: 1 },
    ]);
  });
});
