/**
 * The apply upsert's version guard on the real server, with NULL versions on either side and every case
 * in one multi-row statement (each row's guard must be its own: the statement evaluates it once per row,
 * through the version column assigned first). The outcome of every row is what the pure rule says.
 */
import { describe, expect, it } from 'vitest';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { applyUpsertSql, q } from '../../lambdas/core/sql.js';
import { applyAction } from '../../lambdas/core/rules.js';
import { upsertStats } from '../../lambdas/adapters/mysql/target.js';
import { scratchDatabase } from '../helpers/db.js';

const scratch = scratchDatabase('guard', 2);
const db = scratch.db;

const OLD = '2026-09-01 00:00:00.000000';
const BASE = '2026-10-01 00:00:00.000001';
const NEW = '2026-10-01 00:00:00.000002';
type Row = { id: number; ver: string | null; a: string; b: number | null };

describe('apply upsert guard', () => {
  it('every target state × event version, in one statement, ends as applyAction says', async () => {
    const table = 'g';
    await scratch.root.query(`CREATE TABLE ${q(db)}.${q(table)} (id INT PRIMARY KEY, ver DATETIME(6) NULL, a VARCHAR(20) NOT NULL, b INT NULL)`);
    const targetStates: (Omit<Row, 'id'> | undefined)[] = [
      undefined,
      { ver: null, a: 'target', b: 1 },
      { ver: OLD, a: 'target', b: 1 },
      { ver: BASE, a: 'target', b: 1 },
      { ver: BASE, a: 'event', b: null },
      { ver: NEW, a: 'target', b: 1 },
    ];
    const eventVersions = [null, OLD, BASE, NEW];
    const cases: { target?: Row; event: Row }[] = [];
    let id = 0;
    for (const t of targetStates)
      for (const ver of eventVersions) {
        id++;
        cases.push({ ...(t ? { target: { id, ...t } } : {}), event: { id, ver, a: 'event', b: null } });
      }
    // Interleave passing and failing rows: a failing row right after a passing one must not inherit its guard.
    const targets = cases.flatMap((c) => (c.target ? [c.target] : []));
    await scratch.root.query(`INSERT INTO ${q(db)}.${q(table)} (id, ver, a, b) VALUES ?`, [targets.map((r) => [r.id, r.ver, r.a, r.b])]);
    const columns = ['id', 'ver', 'a', 'b'];
    const sql = applyUpsertSql({ database: db, table, columns, recordKey: ['id'], versionColumn: 'ver' });
    const [res] = await scratch.pool.query<ResultSetHeader>(sql, [cases.map((c) => columns.map((k) => c.event[k as keyof Row]))]);
    const [rows] = await scratch.root.query<RowDataPacket[]>(`SELECT id, DATE_FORMAT(ver, '%Y-%m-%d %H:%i:%s.%f') AS ver, a, b FROM ${q(db)}.${q(table)} ORDER BY id`);
    const byId = new Map(rows.map((r) => [Number(r.id), r as Row]));
    const expected = { insert: 0, update: 0, skip: 0 };
    for (const c of cases) {
      const action = applyAction('update', c.event, c.target, 'ver');
      if (action === 'delete') throw new Error('unexpected');
      expected[action]++;
      const now = byId.get(c.event.id);
      expect({ case: c, row: now }).toEqual({ case: c, row: action === 'skip' ? c.target : c.event });
    }
    // The server's counts agree with the rule (the OK packet counts changed rows).
    expect(upsertStats(res, cases.length)).toEqual({ inserted: expected.insert, updated: expected.update, skipped: expected.skip });
    expect(expected.skip).toBeGreaterThan(3);
    expect(expected.update).toBeGreaterThan(3);
  });
});
