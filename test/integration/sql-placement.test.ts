/**
 * The built-in routing rules as a placement check in SQL (`builtInPlacementSql`, verification's fast path)
 * against the TypeScript rules (`TableRouter`), on the real server. Sound: wherever the server proves a row
 * belongs in a target table, TypeScript routes it there without error. Useful: a plain-digits key (the usual
 * case) is proven in the table it routes to, and with last3-mod any key ending in digits (`ORD-…-042`). Keys
 * are drawn to break it: blanks and NULLs (fallback to the next column), spaces, tabs and other whitespace at
 * either end, signs, letters, leading zeros, exponents, non-ASCII digits, more than 20 digits and values past
 * 2^64, in VARCHAR, CHAR and (UN)SIGNED BIGINT columns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { parseConfig } from '../../lambdas/core/config.js';
import { builtInRouters, TableRouter } from '../../lambdas/core/routing.js';
import { builtInPlacementSql, q } from '../../lambdas/core/sql.js';
import { dropPrefixed, rootPool, uniquePrefix } from '../helpers/db.js';

const prefix = uniquePrefix('sqlplace');
const db = `${prefix}_src`;
let pool: Pool;

beforeAll(async () => {
  pool = rootPool();
  await pool.query(`CREATE DATABASE ${q(db)}`);
  await pool.query(`CREATE TABLE ${q(db)}.k (
    id INT NOT NULL PRIMARY KEY,
    s1 VARCHAR(64) NULL, s2 VARCHAR(64) NULL, c1 CHAR(32) NULL, i1 BIGINT NULL, u1 BIGINT UNSIGNED NULL
  ) DEFAULT CHARSET=utf8mb4`);
});

afterAll(async () => {
  await dropPrefixed(pool, prefix);
  await pool.end();
});

const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 24 });
const textKey = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) },
  { weight: 2, arbitrary: digits },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 64n - 5n, max: 2n ** 70n }).map(String) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('', ' ', '  ', '\t', '\n', '\u00a0', '\u3000', '+', '-', '0', '00'), fc.oneof(digits, fc.constant('')), fc.constantFrom('', ' ', '\t', '\r\n', '\u00a0', '.0', 'e3', 'x'))
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: fc.constantFrom('١٢٣', '１２３', '12\u200b3', '0x1F', '1,000', '½') },
  // Order numbers with letters (last3-mod routes them by their last 3 digits), and ends that trim() strips.
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('', ' ', '\t', '\u00a0', '\ufeff'), fc.constantFrom('ORD-', 'A', 'x9', 'Ж', '-', '#'), digits, fc.constantFrom('', '', ' ', '\n', 'Z', '\u3000'))
      .map(([a, b, c, d]) => a + b + c + d),
  },
);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { freq: 4, nil: null });
const rowArb = fc.record({
  s1: nullable(textKey),
  s2: nullable(textKey),
  c1: nullable(textKey.filter((s) => s.length <= 32)),
  i1: nullable(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
  u1: nullable(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)),
});

const shardKeySets = [['s1', 's2'], ['c1', 's1'], ['i1', 's2'], ['u1'], ['s2', 'i1', 'u1']];
const DIGITS = /^0*[1-9]\d*$/;

describe('built-in routing as a placement check in SQL', () => {
  it.each(['spread', 'last3-mod'] as const)('%s: proves only what TypeScript routes there, and proves plain keys', async (algorithm) => {
    let proven = 0;
    let unproven = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(rowArb, fc.nat()), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(...shardKeySets),
        fc.record({ databases: fc.integer({ min: 1, max: 16 }), tablesPerDb: fc.integer({ min: 1, max: 16 }) }),
        async (rows, shardKeys, layout) => {
          await pool.query(`DELETE FROM ${q(db)}.k`);
          await pool.query(`INSERT INTO ${q(db)}.k (id, s1, s2, c1, i1, u1) VALUES ?`, [rows.map(([r], i) => [i, r.s1, r.s2, r.c1, r.i1, r.u1])]);
          const config = parseConfig({
            migrationId: 'm1',
            source: { database: db },
            target: { databases: layout.databases, databasePattern: 'd_{db}' },
            routing: { algorithm },
            tables: [{ name: 'k', scrollKey: 'id', shardKeys, targetTable: 't_{table}', tablesPerDb: layout.tablesPerDb }],
          });
          const router = new TableRouter(config, config.tables[0]!, builtInRouters[algorithm]);
          const placement = builtInPlacementSql(shardKeys, algorithm, layout);
          const slots = layout.databases * layout.tablesPerDb;
          const [stored] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${q(db)}.k ORDER BY id`);
          for (const r of stored) {
            let home: number | undefined;
            try {
              const t = router.route(r);
              home = t.db * layout.tablesPerDb + t.table;
            } catch {
              home = undefined;
            }
            const other = rows[Number(r.id)]![1] % slots;
            const candidates = [...new Set([...(home === undefined ? [] : [home]), other])];
            const [[p]] = (await pool.query(`SELECT ${candidates.map((s, i) => `${placement.notProvenIn(s)} AS p${i}`).join(', ')} FROM ${q(db)}.k WHERE id = ?`, [r.id])) as unknown as [[Record<string, number>]];
            candidates.forEach((slot, i) => {
              const isProven = Number(p[`p${i}`]) === 0;
              // Sound: proven in a slot only where TypeScript routes the row.
              if (isProven) expect({ row: r, slot, home }).toEqual({ row: r, slot, home: slot });
              if (slot === home && isProven) proven++;
              else if (slot === home) unproven++;
            });
            // Useful: the first non-NULL column holding plain digits (zero-padded too) is proven where it routes;
            // with last3-mod, so is any key ending in digits (letters, signs, spaces before them).
            const first = shardKeys.map((c) => r[c]).find((v) => v !== null);
            const text = first === undefined ? '' : String(first);
            const plain = DIGITS.test(text) && BigInt(text) < 2n ** 64n;
            const lettered = algorithm === 'last3-mod' && /^\d+$/.test(text.slice(-3));
            if (first !== undefined && (plain || lettered)) {
              expect(home).toBeDefined();
              expect({ row: r, p: Number(p.p0) }).toEqual({ row: r, p: 0 });
            }
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(proven).toBeGreaterThan(200);
    expect(unproven).toBeGreaterThan(20);
  });

  it('refuses a slot outside the layout', () => {
    expect(() => builtInPlacementSql(['a'], 'spread', { databases: 2, tablesPerDb: 2 }).notProvenIn(4)).toThrow('slot 4 outside 2 × 2');
  });
});
