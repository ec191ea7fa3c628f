import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig, type MigrationConfig, type TableConfig } from '../../lambdas/core/config.js';
import { RowRoutingError } from '../../lambdas/core/errors.js';
import { groupByTarget, last3Mod, shardKeyText, skew, spread, TableRouter, type Layout, type RouteFn } from '../../lambdas/core/routing.js';

const layoutArb = fc.record({ databases: fc.integer({ min: 1, max: 64 }), tablesPerDb: fc.integer({ min: 1, max: 64 }) });
/** Digit strings of any length, including values far above 2^53 and leading zeros. */
const digitsArb = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 40 }),
  fc.bigInt({ min: 0n, max: 2n ** 128n }).map(String),
  fc.nat().map(String),
);

function config(opts: { databases?: number; tablesPerDb?: number; shardKeys?: string[] } = {}): { config: MigrationConfig; table: TableConfig } {
  const c = parseConfig({
    migrationId: 'm1',
    source: { database: 'src' },
    target: { databases: opts.databases ?? 4, databasePattern: 'order_db_{db}' },
    tables: [{ name: 'order_info', scrollKey: 'id', shardKeys: opts.shardKeys ?? ['order_no', 'user_id'], targetTable: 'order_info_{table}', tablesPerDb: opts.tablesPerDb ?? 8 }],
  });
  return { config: c, table: c.tables[0]! };
}

function router(routeFn: RouteFn = spread, opts: Parameters<typeof config>[0] = {}): TableRouter {
  const { config: c, table } = config(opts);
  return new TableRouter(c, table, routeFn);
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('spread', () => {
  it.each([
    // key, databases, tablesPerDb, db, table
    ['0', 4, 8, 0, 0],
    ['1', 4, 8, 1, 0],
    ['3', 4, 8, 3, 0],
    ['4', 4, 8, 0, 1],
    ['31', 4, 8, 3, 7],
    ['32', 4, 8, 0, 0],
    ['37', 4, 8, 1, 1],
    ['007', 4, 8, 3, 1],
    ['123456789', 1, 1, 0, 0],
    ['1000', 10, 10, 0, 0],
    ['1234', 10, 10, 4, 3],
    // 2^64 + 5: 2^64 mod 32 = 0, so slot 5 (a double would round 2^64+5 to 2^64)
    ['18446744073709551621', 4, 8, 1, 1],
    // 2^53 + 1 mod 7 = 5 (double conversion would round to 2^53, giving 4)
    ['9007199254740993', 7, 1, 5, 0],
  ])('spread(%s) with %i dbs × %i tables → db %i, table %i', (key, databases, tablesPerDb, db, table) => {
    expect(spread(key, { databases, tablesPerDb })).toEqual({ db, table });
  });

  it.each(['', 'abc', '-1', '1.5', '12a', ' 12', '1e3', '١٢٣'])('rejects non-integer key %j', (key) => {
    expect(() => spread(key, { databases: 2, tablesPerDb: 2 })).toThrow(TypeError);
  });

  it('always returns indexes in range', () => {
    fc.assert(
      fc.property(layoutArb, digitsArb, (layout, key) => {
        const r = spread(key, layout);
        expect(Number.isInteger(r.db) && r.db >= 0 && r.db < layout.databases).toBe(true);
        expect(Number.isInteger(r.table) && r.table >= 0 && r.table < layout.tablesPerDb).toBe(true);
      }),
    );
  });

  it('equals the BigInt definition (slot = key mod N×M) for keys of any length', () => {
    fc.assert(
      fc.property(layoutArb, fc.bigInt({ min: 0n, max: 2n ** 128n }), fc.nat({ max: 3 }), (layout, key, zeros) => {
        const n = BigInt(layout.databases * layout.tablesPerDb);
        const slot = Number(key % n);
        expect(spread('0'.repeat(zeros) + String(key), layout)).toEqual({ db: slot % layout.databases, table: Math.floor(slot / layout.databases) });
      }),
    );
  });

  it('depends only on key mod N×M', () => {
    fc.assert(
      fc.property(layoutArb, fc.bigInt({ min: 0n, max: 2n ** 100n }), fc.bigInt({ min: 0n, max: 2n ** 70n }), (layout, key, k) => {
        const n = BigInt(layout.databases * layout.tablesPerDb);
        expect(spread(String(key + k * n), layout)).toEqual(spread(String(key), layout));
      }),
    );
  });

  it('is a bijection: N×M consecutive keys hit every (db, table) exactly once', () => {
    fc.assert(
      fc.property(layoutArb, fc.bigInt({ min: 0n, max: 2n ** 90n }), (layout, start) => {
        const n = layout.databases * layout.tablesPerDb;
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) {
          const r = spread(String(start + BigInt(i)), layout);
          seen.add(`${r.db}/${r.table}`);
        }
        expect(seen.size).toBe(n);
      }),
      { numRuns: 60 },
    );
  });
});

describe('last3Mod', () => {
  it.each([
    // key, databases, tablesPerDb, db, table
    ['0', 8, 8, 0, 0],
    ['5', 8, 8, 5, 5],
    ['42', 4, 8, 2, 2],
    ['1234', 4, 8, 2, 2], // tail 234
    ['1234', 10, 16, 4, 10],
    ['999', 10, 10, 9, 9],
    ['1000', 3, 7, 0, 0], // tail 000
    ['20260101123007', 4, 8, 3, 7], // tail 007
    ['ORD-2026-0017', 4, 8, 1, 1], // non-digit prefix allowed, tail 017
    ['123456789012345678901234567890', 7, 9, 890 % 7, 890 % 9],
  ])('last3Mod(%s) with %i dbs × %i tables → db %i, table %i', (key, databases, tablesPerDb, db, table) => {
    expect(last3Mod(key, { databases, tablesPerDb })).toEqual({ db, table });
  });

  it.each(['', 'abc', '12a', '1.5', 'x9'])('rejects key %j whose last 3 characters are not all digits', (key) => {
    expect(() => last3Mod(key, { databases: 2, tablesPerDb: 2 })).toThrow(TypeError);
  });

  it('always returns indexes in range', () => {
    fc.assert(
      fc.property(layoutArb, digitsArb, (layout, key) => {
        const r = last3Mod(key, layout);
        expect(Number.isInteger(r.db) && r.db >= 0 && r.db < layout.databases).toBe(true);
        expect(Number.isInteger(r.table) && r.table >= 0 && r.table < layout.tablesPerDb).toBe(true);
      }),
    );
  });

  it('with equal db and table counts always gives db === table', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), digitsArb, (n, key) => {
        const r = last3Mod(key, { databases: n, tablesPerDb: n });
        expect(r.db).toBe(r.table);
      }),
    );
  });

  it('only looks at the last 3 digits', () => {
    fc.assert(
      fc.property(layoutArb, fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 999 }), (layout, p1, p2, tail) => {
        const t = String(tail).padStart(3, '0');
        expect(last3Mod(p1 + t, layout)).toEqual(last3Mod(p2 + t, layout));
        expect(last3Mod(p1 + t, layout)).toEqual({ db: tail % layout.databases, table: tail % layout.tablesPerDb });
      }),
    );
  });
});

describe('shardKeyText', () => {
  it.each<[unknown, string | undefined]>([
    [null, undefined],
    [undefined, undefined],
    ['', ''],
    ['  42 ', '42'],
    [42, '42'],
    [12345678901234567890n, '12345678901234567890'],
    [Buffer.from('987'), '987'],
  ])('shardKeyText(%s) = %s', (value, text) => {
    expect(shardKeyText(value)).toBe(text);
  });
});

describe('TableRouter', () => {
  it('names targets with the patterns', () => {
    const r = router(spread, { databases: 4, tablesPerDb: 8 });
    expect(r.layout).toEqual({ databases: 4, tablesPerDb: 8 });
    expect(r.route({ id: 1, order_no: '37', user_id: '2' })).toEqual({ db: 1, table: 1, database: 'order_db_1', tableName: 'order_info_1' });
    expect(r.route({ id: 2, order_no: '31', user_id: null })).toEqual({ db: 3, table: 7, database: 'order_db_3', tableName: 'order_info_7' });
    expect(r.target({ db: 2, table: 5 })).toEqual({ db: 2, table: 5, database: 'order_db_2', tableName: 'order_info_5' });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['order_no when set', { id: 1, order_no: '37', user_id: '6' }, '37'],
    ['order_no as number', { id: 1, order_no: 37, user_id: '6' }, '37'],
    ['order_no as bigint', { id: 1, order_no: 37n, user_id: '6' }, '37'],
    ['user_id when order_no is NULL', { id: 1, order_no: null, user_id: '6' }, '6'],
    ['user_id when order_no is missing', { id: 1, user_id: '6' }, '6'],
    ['user_id when order_no is empty', { id: 1, order_no: '', user_id: '6' }, '6'],
    ['user_id when order_no is blank', { id: 1, order_no: '   ', user_id: '6' }, '6'],
    ['order_no trimmed', { id: 1, order_no: ' 37 ', user_id: null }, '37'],
    ['order_no even if it is 0', { id: 1, order_no: 0, user_id: '6' }, '0'],
  ])('picks %s', (_name, row, key) => {
    const r = router();
    expect(r.shardKey(row)).toBe(key);
    expect(r.route(row)).toEqual(r.routeKey(key));
  });

  it.each<[string, Record<string, unknown>]>([
    ['all NULL', { id: 77, order_no: null, user_id: null }],
    ['all missing', { id: 77 }],
    ['NULL and empty', { id: 77, order_no: null, user_id: '' }],
    ['empty and blank', { id: 77, order_no: '', user_id: '  ' }],
  ])('throws RowRoutingError when every shard key is NULL or empty (%s)', (_name, row) => {
    const r = router();
    const err = catchError(() => r.route(row));
    expect(err).toBeInstanceOf(RowRoutingError);
    const e = err as RowRoutingError;
    expect(e.name).toBe('RowRoutingError');
    expect(e.table).toBe('order_info');
    expect(e.rowKey).toBe(77);
    expect(e.message).toContain('order_info');
    expect(e.message).toContain('id=77');
    expect(e.message).toContain('order_no');
    expect(e.message).toContain('user_id');
    expect(() => r.shardKey(row)).toThrow(RowRoutingError);
  });

  it.each(['ABC-17', '12.5', '-3', '1e5'])('throws RowRoutingError for a non-numeric key %j with spread', (key) => {
    const r = router(spread);
    const err = catchError(() => r.route({ id: 'row-9', order_no: key, user_id: '5' }));
    expect(err).toBeInstanceOf(RowRoutingError);
    const e = err as RowRoutingError;
    expect(e.table).toBe('order_info');
    expect(e.rowKey).toBe('row-9');
    expect(e.message).toContain('order_info');
    expect(e.message).toContain('id=row-9');
    expect(e.message).toContain(JSON.stringify(key));
  });

  it('routes a non-numeric prefix with last3-mod but not an all-letter key', () => {
    const r = router(last3Mod, { databases: 4, tablesPerDb: 8 });
    expect(r.route({ id: 1, order_no: 'ORD-017' })).toMatchObject({ database: 'order_db_1', tableName: 'order_info_1' });
    const err = catchError(() => r.route({ id: 2, order_no: 'ORD' }));
    expect(err).toBeInstanceOf(RowRoutingError);
    expect((err as RowRoutingError).rowKey).toBe(2);
  });

  it.each<[string, { db: number; table: number }]>([
    ['db too large', { db: 4, table: 0 }],
    ['table too large', { db: 0, table: 8 }],
    ['negative db', { db: -1, table: 0 }],
    ['negative table', { db: 0, table: -1 }],
    ['fractional db', { db: 0.5, table: 0 }],
    ['NaN table', { db: 0, table: Number.NaN }],
  ])('a custom route function returning out-of-range indexes throws RangeError (%s)', (_name, out) => {
    const r = router(() => out, { databases: 4, tablesPerDb: 8 });
    expect(() => r.route({ id: 1, order_no: '5' })).toThrow(RangeError);
    expect(() => r.target(out)).toThrow(RangeError);
  });

  it('passes the chosen shard key and the layout to a custom route function', () => {
    const calls: [string, Layout][] = [];
    const r = router((key, layout) => {
      calls.push([key, layout]);
      return { db: 3, table: 7 };
    }, { databases: 4, tablesPerDb: 8 });
    expect(r.route({ id: 1, order_no: null, user_id: 'u-1' })).toMatchObject({ database: 'order_db_3', tableName: 'order_info_7' });
    expect(calls).toEqual([['u-1', { databases: 4, tablesPerDb: 8 }]]);
  });

  it('allTargets lists every N×M target in (db, table) order', () => {
    const r = router(spread, { databases: 2, tablesPerDb: 3 });
    expect(r.allTargets().map((t) => `${t.database}.${t.tableName}`)).toEqual([
      'order_db_0.order_info_0',
      'order_db_0.order_info_1',
      'order_db_0.order_info_2',
      'order_db_1.order_info_0',
      'order_db_1.order_info_1',
      'order_db_1.order_info_2',
    ]);
  });
});

describe('groupByTarget', () => {
  it('groups a page by target', () => {
    const r = router(spread, { databases: 2, tablesPerDb: 2 });
    const rows = [
      { id: 1, order_no: '0' },
      { id: 2, order_no: '1' },
      { id: 3, order_no: '4' },
      { id: 4, order_no: null, user_id: '3' },
      { id: 5, order_no: '5' },
    ];
    const groups = groupByTarget(r, rows);
    expect([...groups.keys()]).toEqual(['order_db_0.order_info_0', 'order_db_1.order_info_0', 'order_db_1.order_info_1']);
    expect(groups.get('order_db_0.order_info_0')!.rows.map((x) => x.id)).toEqual([1, 3]);
    expect(groups.get('order_db_1.order_info_0')!.rows.map((x) => x.id)).toEqual([2, 5]);
    expect(groups.get('order_db_1.order_info_1')!.rows.map((x) => x.id)).toEqual([4]);
    expect(groups.get('order_db_1.order_info_1')!.target).toEqual({ db: 1, table: 1, database: 'order_db_1', tableName: 'order_info_1' });
  });

  it('throws RowRoutingError for a page containing an unroutable row', () => {
    const r = router();
    expect(() => groupByTarget(r, [{ id: 1, order_no: '1' }, { id: 2, order_no: null, user_id: null }])).toThrow(RowRoutingError);
  });

  it('keeps page order inside groups and loses no row', () => {
    const rowArb = fc.record({
      order_no: fc.option(digitsArb, { nil: null }),
      user_id: digitsArb,
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom<RouteFn>(spread, last3Mod),
        fc.array(rowArb, { maxLength: 200 }),
        (databases, tablesPerDb, routeFn, raw) => {
          const r = router(routeFn, { databases, tablesPerDb });
          const rows = raw.map((x, i) => ({ id: i, ...x }));
          const groups = groupByTarget(r, rows);
          const all: number[] = [];
          for (const [id, g] of groups) {
            expect(id).toBe(`${g.target.database}.${g.target.tableName}`);
            const ids = g.rows.map((x) => x.id);
            expect(ids).toEqual([...ids].sort((a, b) => a - b));
            for (const row of g.rows) expect(r.route(row)).toEqual(g.target);
            all.push(...ids);
          }
          expect(all.sort((a, b) => a - b)).toEqual(rows.map((x) => x.id));
        },
      ),
    );
  });
});

describe('skew', () => {
  const rowsOf = (keys: readonly string[]) => keys.map((order_no, id) => ({ id, order_no }));

  it('returns all N×M targets, zero for the unused ones', () => {
    const r = router(last3Mod, { databases: 4, tablesPerDb: 4 });
    const s = skew(r, rowsOf(['0', '1', '2', '3', '4', '5', '1001']));
    expect(s.unroutable).toEqual([]);
    expect(s.counts).toHaveLength(16);
    expect(s.counts.map((x) => x.target)).toEqual(r.allTargets().map((t) => `${t.database}.${t.tableName}`));
    const byTarget = Object.fromEntries(s.counts.map((x) => [x.target, x.rows]));
    expect(byTarget['order_db_0.order_info_0']).toBe(2);
    expect(byTarget['order_db_1.order_info_1']).toBe(3);
    expect(byTarget['order_db_2.order_info_2']).toBe(1);
    expect(byTarget['order_db_3.order_info_3']).toBe(1);
    expect(byTarget['order_db_0.order_info_1']).toBe(0);
  });

  it('with an empty sample still lists every target', () => {
    const r = router(spread, { databases: 3, tablesPerDb: 5 });
    const s = skew(r, []);
    expect(s.counts).toHaveLength(15);
    expect(s.counts.every((x) => x.rows === 0)).toBe(true);
    expect(s.unroutable).toEqual([]);
  });

  it('uses the shard key priority of the router', () => {
    const r = router(spread, { databases: 2, tablesPerDb: 1 });
    const s = skew(r, [{ id: 1, order_no: null, user_id: '1' }, { id: 2, order_no: '', user_id: '3' }, { id: 3, order_no: '2', user_id: '1' }]);
    expect(s.counts).toEqual([
      { target: 'order_db_0.order_info_0', rows: 1 },
      { target: 'order_db_1.order_info_0', rows: 2 },
    ]);
  });

  it('counts every routable row once across all N×M targets and reports the others', () => {
    const rowArb = fc.record({ order_no: fc.option(fc.oneof(digitsArb, fc.constantFrom('', 'x-1', 'abc')), { nil: null }), user_id: fc.option(digitsArb, { nil: null }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.array(rowArb, { maxLength: 100 }), (databases, tablesPerDb, raw) => {
        const r = router(spread, { databases, tablesPerDb });
        const rows = raw.map((x, id) => ({ id, ...x }));
        const s = skew(r, rows);
        expect(s.counts).toHaveLength(databases * tablesPerDb);
        expect(new Set(s.counts.map((x) => x.target)).size).toBe(databases * tablesPerDb);
        const routable = rows.filter((row) => {
          try {
            r.route(row);
            return true;
          } catch {
            return false;
          }
        }).length;
        expect(s.counts.reduce((n, x) => n + x.rows, 0)).toBe(routable);
        expect(s.unroutable).toHaveLength(rows.length - routable);
      }),
    );
  });

  it('spread over N×M sequential keys is perfectly even', () => {
    const r = router(spread, { databases: 4, tablesPerDb: 8 });
    const keys = Array.from({ length: 32 * 3 }, (_, i) => String(1000 + i));
    expect(skew(r, rowsOf(keys)).counts.every((x) => x.rows === 3)).toBe(true);
  });

  it('reports unroutable rows by their error message instead of failing', () => {
    const r = router(spread, { databases: 2, tablesPerDb: 2 });
    const s = skew(r, [
      { id: 10, order_no: '1' },
      { id: 11, order_no: 'x' },
      { id: 12, order_no: null, user_id: null },
      { id: 13, order_no: '2' },
    ]);
    expect(s.counts.reduce((n, x) => n + x.rows, 0)).toBe(2);
    expect(s.unroutable).toHaveLength(2);
    expect(s.unroutable[0]).toContain('order_info row id=11');
    expect(s.unroutable[0]).toContain('"x"');
    expect(s.unroutable[1]).toContain('order_info row id=12');
    expect(s.unroutable[1]).toContain('order_no, user_id');
  });

  it('still throws errors other than RowRoutingError (a broken custom router)', () => {
    const r = router(() => ({ db: 99, table: 0 }), { databases: 2, tablesPerDb: 2 });
    expect(() => skew(r, [{ id: 1, order_no: '1' }])).toThrow(RangeError);
  });
});

describe('TableRouter.valuesRouter (rows read as arrays)', () => {
  const columns = ['id', 'amount', 'user_id', 'order_no', 'remark'];
  const shardValue = fc.oneof(fc.constant(null), fc.constant(''), fc.constant('  '), digitsArb, fc.string({ maxLength: 8 }), fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 70n }));

  it('routes (and fails) exactly as route() on the same row as an object, for either rule', () => {
    fc.assert(
      fc.property(fc.constantFrom<RouteFn>(spread, last3Mod), fc.nat(), shardValue, shardValue, (rule, id, orderNo, userId) => {
        const r = router(rule);
        const values = [id, '1.50', userId, orderNo, null];
        const object = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
        const expected = (() => {
          try {
            return r.route(object);
          } catch (err) {
            return err;
          }
        })();
        const byValues = r.valuesRouter(columns);
        if (expected instanceof Error) {
          const got = catchError(() => byValues(values));
          expect(got).toBeInstanceOf(RowRoutingError);
          expect((got as Error).message).toBe(expected.message);
        } else expect(byValues(values)).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses columns without a shard or scroll key column, naming it', () => {
    expect(() => router().valuesRouter(['id', 'order_no'])).toThrow(/column user_id is not among the columns read/);
    expect(() => router().valuesRouter(['order_no', 'user_id'])).toThrow(/column id is not among/);
  });
});
