/**
 * Verification across MySQL types on the real stack: the copy of awkward values is byte-exact (clean by
 * checksum), a subtle corruption of each type is found row by row with exactly the right column, a change
 * that is no change for the type (CHAR padding) is not reported, and repair restores the source bytes.
 *
 * JSON on MariaDB is LONGTEXT (a CHECK json_valid): the copy writes the source's bytes, so a target whose
 * keys are reordered (or re-spaced) is *different* — something other than the copy wrote it, and an
 * application reading the column gets other text. Verification is byte-exact there; repair rewrites the
 * source's text. (On MySQL's native JSON the server normalizes key order on write, so both sides read the
 * same text anyway; rowdiff's JSON-aware equality applies to that `json` type only.)
 */
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { verifyTable } from '../../lambdas/app/verify.js';
import { routerFor, tableConfig } from '../../lambdas/app/context.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { rowCrcExpr } from '../../lambdas/core/sql.js';
import { columnsOf, readKindsOf } from '../../lambdas/adapters/mysql/schema.js';
import { integrationSuite } from '../helpers/suite.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 7, segments: 2, concurrency: 2, items: false });

const TYPED_DDL = (db: string) => `CREATE TABLE \`${db}\`.typed (
  id BIGINT UNSIGNED NOT NULL,
  shard_no BIGINT NOT NULL,
  dec6 DECIMAL(20,6) NULL,
  dt3 DATETIME(3) NULL,
  dt6 DATETIME(6) NULL,
  ts TIMESTAMP(6) NULL DEFAULT NULL,
  doc JSON NULL,
  bin BLOB NULL,
  note VARCHAR(64) NULL,
  emoji VARCHAR(64) NULL,
  vc VARCHAR(16) NULL,
  ch CHAR(16) NULL,
  ubig BIGINT UNSIGNED NULL,
  fl FLOAT NULL,
  dbl DOUBLE NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const COLUMNS = ['id', 'shard_no', 'dec6', 'dt3', 'dt6', 'ts', 'doc', 'bin', 'note', 'emoji', 'vc', 'ch', 'ubig', 'fl', 'dbl'] as const;
type Col = (typeof COLUMNS)[number];

const BASE: Partial<Record<Col, unknown>> = {
  dec6: '1.5', // stored as 1.500000
  dt3: '2026-03-01 10:00:00.123',
  dt6: '2026-03-01 10:00:00.123456',
  ts: '2026-03-01 10:00:00.123456',
  doc: '{"a":1,"b":[1,2.50,"x"],"c":{"y":null,"x":"é 🚀"}}',
  bin: Buffer.from([0x00, 0x01, 0x5c, 0x27, 0x22, 0x0a, 0x0d, 0x09, 0xff, 0x00]),
  note: '',
  emoji: '🚀 launch 👍🏽 𝔘',
  vc: 'ab  ', // VARCHAR keeps trailing spaces
  ch: 'ab', // CHAR pads on disk and strips on read
  ubig: '18446744073709551615',
  fl: 1.5, // exact in FLOAT and printed exactly (see the FLOAT test below for values that are not)
  dbl: 0.30000000000000004,
};

/** One row per subtle corruption of the target: `set` is SQL applied to the row's target copy. */
const CASES: { name: string; row?: Partial<Record<Col, unknown>>; set: string; params?: unknown[]; columns: Col[] }[] = [
  { name: 'DECIMAL(20,6) 1.500000 → 1.500001', set: 'dec6 = 1.500001', columns: ['dec6'] },
  { name: 'DECIMAL negative smallest step', row: { dec6: '-0.000001' }, set: 'dec6 = -0.000002', columns: ['dec6'] },
  { name: 'DATETIME(3) .123 → .124', set: "dt3 = '2026-03-01 10:00:00.124'", columns: ['dt3'] },
  { name: 'DATETIME(6) .123456 → .123457', set: "dt6 = '2026-03-01 10:00:00.123457'", columns: ['dt6'] },
  { name: 'DATETIME(6) .100000 → .000000', row: { dt6: '2026-03-01 10:00:00.1' }, set: "dt6 = '2026-03-01 10:00:00'", columns: ['dt6'] },
  { name: 'TIMESTAMP(6) + 1 µs', set: 'ts = ts + INTERVAL 1 MICROSECOND', columns: ['ts'] },
  { name: 'JSON keys reordered (MariaDB: text, so different)', set: `doc = '{"c":{"x":"é 🚀","y":null},"b":[1,2.50,"x"],"a":1}'`, columns: ['doc'] },
  { name: 'JSON re-spaced', set: `doc = '{"a": 1, "b": [1, 2.50, "x"], "c": {"y": null, "x": "é 🚀"}}'`, columns: ['doc'] },
  { name: 'JSON number 2.50 → 2.5', set: `doc = '{"a":1,"b":[1,2.5,"x"],"c":{"y":null,"x":"é 🚀"}}'`, columns: ['doc'] },
  { name: 'BLOB + trailing 0x00', set: 'bin = CONCAT(bin, 0x00)', columns: ['bin'] },
  { name: 'BLOB last byte 0x00 → 0x01', set: 'bin = CONCAT(LEFT(bin, LENGTH(bin) - 1), 0x01)', columns: ['bin'] },
  { name: "NULL → ''", row: { note: null }, set: "note = ''", columns: ['note'] },
  { name: "'' → NULL", set: 'note = NULL', columns: ['note'] },
  { name: "BLOB empty → NULL", row: { bin: Buffer.alloc(0) }, set: 'bin = NULL', columns: ['bin'] },
  { name: 'emoji swapped 🚀 → 🛸', set: "emoji = REPLACE(emoji, '🚀', '🛸')", columns: ['emoji'] },
  { name: 'emoji skin tone dropped 👍🏽 → 👍', set: "emoji = REPLACE(emoji, '👍🏽', '👍')", columns: ['emoji'] },
  { name: 'VARCHAR trailing spaces dropped', set: "vc = 'ab'", columns: ['vc'] },
  { name: 'VARCHAR trailing space added', row: { vc: 'ab' }, set: "vc = 'ab '", columns: ['vc'] },
  { name: 'BIGINT UNSIGNED max → max - 1', set: 'ubig = 18446744073709551614', columns: ['ubig'] },
  { name: 'FLOAT 1.5 → 1.25', set: 'fl = 1.25', columns: ['fl'] },
  { name: 'DOUBLE 0.30000000000000004 → 0.3', set: 'dbl = 0.3e0', columns: ['dbl'] },
  { name: 'two columns at once', set: "dec6 = 2.5, emoji = '🚀'", columns: ['dec6', 'emoji'] },
  // Not differences: CHAR strips trailing spaces on read, so padding it is no change at all.
  { name: 'CHAR padded with trailing spaces (no change)', set: "ch = 'ab     '", columns: [] },
  { name: 'DECIMAL written as 1.5 again (no change)', set: 'dec6 = 1.5', columns: [] },
];

/** Untouched rows around the cases: all NULLs, extremes, more awkward text. */
const PLAIN: Partial<Record<Col, unknown>>[] = [
  Object.fromEntries(COLUMNS.filter((c) => c !== 'id' && c !== 'shard_no').map((c) => [c, null])),
  { dec6: '99999999999999.999999', dt6: '1970-01-02 00:00:01.000001', ts: '1970-01-02 00:00:01.000001', ubig: '0', fl: -0.0, dbl: 1.7976931348623157e308, doc: '[]' },
  { dec6: '-99999999999999.999999', dt3: '9999-12-31 23:59:59.999', dt6: '9999-12-31 23:59:59.999999', dbl: 5e-324, doc: '"just a string"', emoji: '' },
  { note: "O'Brien \\ \"quoted\" \t tab \n newline", vc: '', ch: '', bin: Buffer.from([0xc3, 0x28]) /* invalid UTF-8 */ },
];

function typedConfig(): MigrationConfig {
  const base = suite.config('types');
  return parseConfig({ ...base, tables: [{ name: 'typed', scrollKey: 'id', shardKeys: ['shard_no'], targetTable: 'typed_{table}', tablesPerDb: 2 }] });
}

async function seedTyped(config: MigrationConfig, rows: Partial<Record<Col, unknown>>[]): Promise<void> {
  const db = config.source.database!;
  await suite.pool.query(`CREATE DATABASE IF NOT EXISTS \`${db}\` CHARACTER SET utf8mb4`);
  await suite.pool.query(TYPED_DDL(db));
  const values = rows.map((r, i) => COLUMNS.map((c) => (c === 'id' ? i + 1 : c === 'shard_no' ? (i + 1) * 7 : r[c] === undefined ? (BASE[c] ?? null) : r[c])));
  await suite.pool.query(`INSERT INTO \`${db}\`.typed (${COLUMNS.join(', ')}) VALUES ?`, [values]);
}

/** `db`.`table` of the target copy of row `id`. */
function targetOf(rt: LocalRuntime, id: number): { at: string; name: string } {
  const t = routerFor(rt.ctx, tableConfig(rt.ctx, 'typed')).route({ id, shard_no: String(id * 7) });
  return { at: `\`${t.database}\`.\`${t.tableName}\``, name: `${t.database}.${t.tableName}` };
}

describe('verification across types', () => {
  it('copies every awkward value byte-exact, finds each subtle corruption with its column, ignores CHAR padding, repairs', async () => {
    const config = typedConfig();
    const rows = [...CASES.map((c) => c.row ?? {}), ...PLAIN];
    await seedTyped(config, rows);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      const clean = await verifyTable(rt.ctx, 'typed', { batchRows: 5 });
      expect(clean).toMatchObject({ clean: true, rowsCompared: rows.length, byChecksum: rows.length, byRows: 0, missing: 0, different: 0, extra: 0 });

      for (const [i, c] of CASES.entries()) await suite.pool.query(`UPDATE ${targetOf(rt, i + 1).at} SET ${c.set} WHERE id = ?`, [...(c.params ?? []), i + 1]);

      const dirty = await verifyTable(rt.ctx, 'typed', { batchRows: 5 });
      const expected = CASES.flatMap((c, i) => (c.columns.length ? [{ case: c.name, key: String(i + 1), target: targetOf(rt, i + 1).name, columns: [...c.columns].sort() }] : []));
      const found = dirty.dirty.map((d) => ({ case: CASES[Number(d.key[0]) - 1]?.name ?? `row ${String(d.key[0])} (${d.kind})`, key: String(d.key[0]), target: d.target, columns: [...(d.columns ?? [])].sort() }));
      expect(found.sort((a, b) => Number(a.key) - Number(b.key))).toEqual(expected);
      expect(dirty.dirty.every((d) => d.kind === 'different')).toBe(true);
      expect(dirty).toMatchObject({ clean: false, different: expected.length, missing: 0, extra: 0 });

      const repaired = await verifyTable(rt.ctx, 'typed', { batchRows: 5, repair: true });
      expect(repaired).toMatchObject({ clean: true, different: expected.length, repaired: expected.length });
      // Byte-exact again: every batch passes by checksum.
      const again = await verifyTable(rt.ctx, 'typed', { batchRows: 5 });
      expect(again).toMatchObject({ clean: true, byChecksum: rows.length, byRows: 0 });
      const [json] = await suite.pool.query<RowDataPacket[]>(`SELECT HEX(doc) AS h FROM ${targetOf(rt, 7).at} WHERE id = 7`);
      expect(json[0]!.h).toBe(Buffer.from(String(BASE.doc)).toString('hex').toUpperCase()); // the source's text, key order and all
    } finally {
      await rt.close();
    }
  });

  /**
   * MariaDB sends FLOAT over the text protocol with 6 significant digits (1.2345678 → '1.23457',
   * 16777217 → '16777200'). The copy, verification and apply's re-reads therefore read FLOAT columns as
   * `col + 0e0` (a DOUBLE, exact for every FLOAT), and the row checksum uses the same expression.
   */
  it('copies FLOAT values with more than 6 significant digits exactly (and verification would notice)', async () => {
    const config = typedConfig();
    await seedTyped(config, [{ fl: 1.2345678 }, { fl: 16777216 }, { fl: 3.4028234e38 }]);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      await rt.execute().result;
      const summary = await verifyTable(rt.ctx, 'typed', { batchRows: 10 });
      const exact = async (at: string) => (await suite.pool.query<RowDataPacket[]>(`SELECT id, fl + 0e0 AS v FROM ${at} ORDER BY id`))[0].map((r) => `${r.id}:${r.v}`);
      const source = await exact(`\`${config.source.database!}\`.typed`);
      const target = (await Promise.all([1, 2, 3].map((id) => exact(`${targetOf(rt, id).at}`)))).flat().filter((v, i, a) => a.indexOf(v) === i);
      const copiedExactly = [...target].sort().join() === [...source].sort().join();
      // Either the copy is exact, or verification says it is not.
      expect(copiedExactly || !summary.clean).toBe(true);
      expect(copiedExactly).toBe(true);
      expect(summary.clean).toBe(true);
      // …and a change in the 7th digit is a difference.
      const t = targetOf(rt, 1).at;
      await suite.pool.query(`UPDATE ${t} SET fl = 1.2345679 WHERE id = 1`);
      const dirty = await verifyTable(rt.ctx, 'typed', { batchRows: 10 });
      expect(dirty).toMatchObject({ clean: false, different: 1 });
      expect(dirty.dirty).toEqual([expect.objectContaining({ kind: 'different', columns: ['fl'] })]);
    } finally {
      await rt.close();
    }
  });

  it('the row checksum tells apart rows that differ only in where one value ends, in NULL against empty or `n`, and in bytes a separator could be', async () => {
    const db = 'crc_fields';
    await suite.pool.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await suite.pool.query(`DROP TABLE IF EXISTS ${db}.f`);
    await suite.pool.query(`CREATE TABLE ${db}.f (id INT PRIMARY KEY, a VARCHAR(8) CHARACTER SET utf8mb4 NULL, b VARCHAR(8) CHARACTER SET utf8mb3 NULL, l VARCHAR(8) CHARACTER SET latin1 NULL, e ENUM('x', 'y') NULL, n INT NULL)`);
    const rows: [string | null, string | null, string | null, string | null, number | null][] = [
      ['a', 'bc', null, null, null], ['ab', 'c', null, null, null], // where a value ends
      [null, 'x', null, null, null], ['', 'x', null, null, null], ['n', 'x', null, null, null], // NULL, empty, `n`
      ['x', null, null, null, null], ['x', '', null, null, null], [null, null, null, null, null],
      [null, null, 'ÿ', null, null], [null, null, 'ÿÿ', null, null], [null, null, null, 'x', null], [null, null, null, null, 0], // latin1 0xFF
      ['é', null, null, null, 1], [null, 'é', null, null, 1],
    ];
    await suite.pool.query(`INSERT INTO ${db}.f VALUES ${rows.map((_, i) => `(${i}, ?, ?, ?, ?, ?)`).join(', ')}`, rows.flat());
    const kinds = readKindsOf(await columnsOf(suite.pool, db, 'f'));
    expect(kinds).toMatchObject({ a: 'utf8', b: 'utf8', l: 'short', e: 'utf8', n: 'plain' });
    const [crcs] = await suite.pool.query<RowDataPacket[]>(`SELECT ${rowCrcExpr(['a', 'b', 'l', 'e', 'n'], kinds)} AS c FROM ${db}.f ORDER BY id`);
    expect(new Set(crcs.map((r) => String(r.c))).size).toBe(rows.length);
    await suite.pool.query(`DROP DATABASE ${db}`);
  });

  it('the row checksum tells apart values longer than half of max_allowed_packet (no HEX of the whole value)', async () => {
    const [[{ max }]] = (await suite.pool.query('SELECT @@max_allowed_packet AS max')) as unknown as [[{ max: string }]];
    const n = Math.floor(Number(max) / 2) + 1024; // HEX(value) would exceed max_allowed_packet and be NULL
    const crc = rowCrcExpr(['v']);
    const [rows] = await suite.pool.query<RowDataPacket[]>(
      `SELECT ${crc} AS c FROM (SELECT REPEAT('a', ?) AS v UNION ALL SELECT REPEAT('b', ?) UNION ALL SELECT NULL UNION ALL SELECT '') t`,
      [n, n],
    );
    const [a, b, nul, empty] = rows.map((r) => String(r.c));
    expect(a).not.toBe('null');
    expect(new Set([a, b, nul, empty]).size).toBe(4);
  });
});
