/**
 * Row literals (`copy.rowLiterals`, the default): the source renders each row as one SQL literal with
 * QUOTE()/HEX() and the copy writes it as it is. These tests copy the types that make that hard — a latin1
 * column beside utf8mb4 ones of another collation (CONCAT must not mix them), BIT, ENUM/SET, TIME, YEAR, DATETIME(6),
 * binary bytes that are not UTF-8, text holding `?`, quotes, backslashes, NUL and Ctrl-Z — and compare every
 * column's bytes (HEX) between source and targets, with row literals and without; spatial values go as their
 * stored bytes. A table with a type the literal does not know (INET6) is read as values; a row too large to
 * render is refused by name; and the writers' sessions read backslash escapes whatever the server's sql_mode.
 */
import { describe, expect, it } from 'vitest';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { routerFor, tableConfig } from '../../lambdas/app/context.js';
import { LoadRefusedError } from '../../lambdas/adapters/mysql/load-data.js';
import { SESSION_SETUP } from '../../lambdas/adapters/mysql/pool.js';
import { integrationSuite } from '../helpers/suite.js';
import { mysqlPort } from '../helpers/db.js';

const suite = integrationSuite({ databases: 2, tablesPerDb: 2, pageSize: 5, segments: 2, concurrency: 2, items: false });

const ODD_DDL = (db: string) => `CREATE TABLE \`${db}\`.odd (
  id BIGINT UNSIGNED NOT NULL,
  shard_no BIGINT NOT NULL,
  l1 VARCHAR(32) CHARACTER SET latin1 NULL,
  cs VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  txt TEXT NULL,
  e ENUM('a', 'b c', 'ü') NULL,
  st SET('x', 'y', 'z') NULL,
  tm TIME(3) NULL,
  yr YEAR NULL,
  vb VARBINARY(16) NULL,
  tiny TINYINT(1) NULL,
  zf INT(6) UNSIGNED ZEROFILL NULL,
  dec0 DECIMAL(5,0) NULL,
  d DATE NULL,
  dt DATETIME(6) NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_general_ci`;

const COLUMNS = ['l1', 'cs', 'txt', 'e', 'st', 'tm', 'yr', 'vb', 'tiny', 'zf', 'dec0', 'd', 'dt'] as const;

/** Awkward rows (SQL expressions, so bytes that are not text can be written). */
const ROWS: string[][] = [
  ["'Zürich café'", "'MiXeD 🚀'", "'ends with a backslash \\\\'", "'ü'", "'x,z'", "'-838:59:59.000'", '1901', "X'00FF5C27220A0D1A'", '1', '42', '-99999', "'1000-01-01'", "'2026-11-22 10:11:12.123456'"],
  ["'O''Brien ?'", "'?'", "CONCAT('nul', CHAR(0), 'ctrl-z', CHAR(26), '?', '''', '\"', CHAR(10), 'NULL')", "'b c'", "''", "'12:34:56.789'", '2155', "X''", '0', '0', '0', "'9999-12-31'", "'1000-01-01 00:00:00.000000'"],
  ['NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL'],
  ["''", "'NULL'", "'\\\\N'", "'a'", "'x,y,z'", "'00:00:00.001'", '2000', "X'C328'", '-128', '999999', '99999', "'2026-11-22'", "'9999-12-31 23:59:59.999999'"],
  ["'\\\\'", "'\\\\\\\\?'", "'?? ?,\\t\\n'", 'NULL', "'y'", "'838:59:59.999'", '1999', "X'3F'", '127', '7', '1', "'1970-01-01'", "'1970-01-01 00:00:01.5'"],
];

async function seedOdd(config: MigrationConfig, copies = 3): Promise<number> {
  const db = config.source.database!;
  await suite.pool.query(`CREATE DATABASE IF NOT EXISTS \`${db}\` CHARACTER SET utf8mb4`);
  await suite.pool.query(ODD_DDL(db));
  let id = 0;
  for (let c = 0; c < copies; c++) {
    for (const r of ROWS) {
      id++;
      await suite.pool.query(`INSERT INTO \`${db}\`.odd (id, shard_no, ${COLUMNS.join(', ')}) VALUES (${id}, ${id * 13}, ${r.join(', ')})`);
    }
  }
  return id;
}

function oddConfig(name: string, copy: Record<string, unknown> = {}): MigrationConfig {
  const base = suite.config(name);
  return parseConfig({ ...base, copy: { ...base.copy, ...copy }, tables: [{ name: 'odd', scrollKey: 'id', shardKeys: ['shard_no'], targetTable: 'odd_{table}', tablesPerDb: 2 }] });
}

/** Every row's bytes, column by column (HEX of each), from the source and from all target tables. */
async function bytesOf(rt: LocalRuntime, config: MigrationConfig, table: string, columns: readonly string[]): Promise<{ source: string[]; targets: string[] }> {
  const list = ['id', ...columns].map((c) => `IFNULL(HEX(\`${c}\`), 'null')`).join(", '|', ");
  const read = async (at: string) => (await suite.pool.query<RowDataPacket[]>(`SELECT CONCAT(${list}) AS b FROM ${at} ORDER BY id`))[0].map((r) => String(r.b));
  const source = await read(`\`${config.source.database!}\`.\`${table}\``);
  const targets: string[] = [];
  for (const t of routerFor(rt.ctx, tableConfig(rt.ctx, table)).allTargets()) targets.push(...(await read(`\`${t.database}\`.\`${t.tableName}\``)));
  const id = (b: string) => BigInt(`0x${b.split('|')[0]}`);
  targets.sort((a, b) => (id(a) < id(b) ? -1 : 1));
  return { source, targets };
}

/** Every row's bytes are the same in the source and in the targets (and there are `rows` of them, if given). */
async function expectCopiedExactly(rt: LocalRuntime, config: MigrationConfig, table: string, columns: readonly string[], rows?: number): Promise<void> {
  const { source, targets } = await bytesOf(rt, config, table, columns);
  if (rows !== undefined) expect(source).toHaveLength(rows);
  expect(targets).toEqual(source);
}

/** Records which form of rows the copy handed the writer. */
function watchWrites(rt: LocalRuntime): Set<string> {
  const seen = new Set<string>();
  const writer = rt.ctx.writer;
  const upsert = writer.upsert.bind(writer);
  writer.upsert = (args) => {
    seen.add(args.rows.kind);
    return upsert(args);
  };
  return seen;
}

/**
 * A migration of the one table `name` (columns `ddl`, filled by `fill`, given the table's qualified name):
 * the runtime is started and handed to `check` with the config, then closed.
 */
async function copyOneTable(
  name: string,
  ddl: string,
  fill: (table: string) => Promise<unknown>,
  check: (rt: LocalRuntime, config: MigrationConfig) => Promise<void>,
  copy: Record<string, unknown> = {},
): Promise<void> {
  const config = parseConfig({ ...oddConfig(name, copy), tables: [{ name, scrollKey: 'id', shardKeys: ['shard_no'], targetTable: `${name}_{table}`, tablesPerDb: 2 }] });
  const db = config.source.database!;
  await suite.pool.query(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
  await suite.pool.query(`CREATE TABLE \`${db}\`.\`${name}\` (${ddl})`);
  await fill(`\`${db}\`.\`${name}\``);
  const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo, retryIntervalMs: 10 });
  try {
    await check(rt, config);
  } finally {
    await rt.close();
  }
}

describe('rows rendered by the source', () => {
  const modes = [
    { name: 'as LOAD DATA lines', copy: { writeMethod: 'auto' }, form: 'lines' },
    { name: 'as INSERT literals', copy: { writeMethod: 'insert' }, form: 'literals' },
    { name: 'as values (rowLiterals off)', copy: { writeMethod: 'insert', rowLiterals: false }, form: 'values' },
    { name: 'as values loaded from a file Node writes (rowLiterals off, load)', copy: { writeMethod: 'load', rowLiterals: false }, form: 'values' },
  ] as const;
  for (const [i, mode] of modes.entries()) {
    it(`copies every awkward value byte-exact ${mode.name}`, async () => {
      const config = oddConfig(`odd${i}`, mode.copy);
      const n = await seedOdd(config);
      const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
      try {
        const forms = watchWrites(rt);
        await rt.execute().result;
        expect([...forms]).toEqual([mode.form]);
        const plan = await rt.store.getPlan(config.migrationId, 'odd');
        expect(plan?.literalKinds).toMatchObject({ l1: 'text', cs: 'utf8', txt: 'utf8', vb: 'binary', zf: 'number', d: 'temporal', tm: 'temporal', dt: 'temporal' });
        await expectCopiedExactly(rt, config, 'odd', COLUMNS, n);
      } finally {
        await rt.close();
      }
      // Copied again over itself (another migration onto the same targets meets every row): nothing changes,
      // every row is counted skipped.
      const again = parseConfig({ ...config, migrationId: `${config.migrationId}-again` });
      const rt2 = await LocalRuntime.start({ config: again, dynamo: suite.dynamo });
      try {
        await rt2.execute().result;
        const segs = await rt2.store.segments(again.migrationId, 'odd');
        expect(segs.reduce((a, c) => a + c.rowsSkipped, 0)).toBe(n);
        await expectCopiedExactly(rt2, again, 'odd', COLUMNS);
      } finally {
        await rt2.close();
      }
    });
  }

  it('writes a table with a BIT column as INSERT literals under auto (LOAD DATA would read its text as bytes)', () =>
    copyOneTable(
      'bits',
      'id BIGINT NOT NULL PRIMARY KEY, shard_no BIGINT NOT NULL, b BIT(10) NULL, note VARCHAR(8) NULL',
      (t) => suite.pool.query(`INSERT INTO ${t} VALUES (1, 7, b'1010101010', 'a'), (2, 14, b'0', NULL), (3, 21, NULL, 'c'), (4, 28, b'1111111111', '')`),
      async (rt, config) => {
        const forms = watchWrites(rt);
        await rt.execute().result;
        expect([...forms]).toEqual(['literals']);
        await expectCopiedExactly(rt, config, 'bits', ['b', 'note']);
      },
    ));

  it('reads the page again as INSERT literals when a server refuses LOAD DATA LOCAL (auto)', async () => {
    const config = oddConfig('refused', { writeMethod: 'auto' });
    const n = await seedOdd(config, 2);
    const rt = await LocalRuntime.start({ config, dynamo: suite.dynamo });
    try {
      const writer = rt.ctx.writer;
      const upsert = writer.upsert.bind(writer);
      const forms: string[] = [];
      let refused = 0;
      // The server's answer when a client may not send a local file, as the writer sees it.
      writer.upsert = async (args) => {
        forms.push(args.rows.kind);
        if (args.rows.kind === 'lines') {
          refused++;
          (writer as unknown as { load: boolean }).load = false;
          throw new LoadRefusedError(`${args.database}.${args.table}: the server refuses LOAD DATA LOCAL (local_infile)`);
        }
        return upsert(args);
      };
      await rt.execute().result;
      expect(refused).toBeGreaterThan(0);
      expect(forms.filter((f) => f === 'values')).toEqual([]);
      expect(forms[forms.length - 1]).toBe('literals');
      await expectCopiedExactly(rt, config, 'odd', COLUMNS, n);
    } finally {
      await rt.close();
    }
  });

  it('copies spatial values as their stored bytes', () =>
    copyOneTable(
      'geo',
      'id BIGINT NOT NULL PRIMARY KEY, shard_no BIGINT NOT NULL, p POINT NULL, g GEOMETRY NULL, note VARCHAR(16) NULL',
      async (t) => {
        for (let i = 1; i <= 12; i++) {
          await suite.pool.query(`INSERT INTO ${t} VALUES (?, ?, IF(? % 3 = 0, NULL, POINT(?, ?)), ST_GeomFromText(?), 'x?')`, [i, i * 7, i, i / 3, -i, `POLYGON((0 0,${i} 0,${i} ${i},0 0))`]);
        }
      },
      async (rt, config) => {
        await rt.execute().result;
        expect((await rt.store.getPlan(config.migrationId, 'geo'))?.literalKinds).toMatchObject({ p: 'binary', g: 'binary' });
        await expectCopiedExactly(rt, config, 'geo', ['p', 'g', 'note'], 12);
      },
    ));

  it('reads a table with a column type the literal does not know (INET6) as values', () =>
    copyOneTable(
      'inet',
      'id BIGINT NOT NULL PRIMARY KEY, shard_no BIGINT NOT NULL, a INET6 NULL, note VARCHAR(16) NULL',
      async (t) => {
        for (let i = 1; i <= 12; i++) await suite.pool.query(`INSERT INTO ${t} VALUES (?, ?, ?, 'x?')`, [i, i * 7, i % 2 ? `2001:db8::${i.toString(16)}` : `::ffff:10.0.0.${i}`]);
      },
      async (rt, config) => {
        await rt.execute().result;
        expect((await rt.store.getPlan(config.migrationId, 'inet'))?.literalKinds).toBeUndefined();
        await expectCopiedExactly(rt, config, 'inet', ['a', 'note'], 12);
      },
    ));

  it('refuses, naming the row, a row the source cannot render as an INSERT literal within its max_allowed_packet; nothing of its page is written', () =>
    // (As a LOAD DATA line the same row fits: binary values are not hex there.)
    copyOneTable(
      'big',
      'id BIGINT NOT NULL PRIMARY KEY, shard_no BIGINT NOT NULL, b LONGBLOB NULL',
      async (t) => {
        const [[packet]] = await suite.pool.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS p');
        // As hex the value takes twice its bytes: more than the packet, though the value itself fits.
        await suite.pool.query(`INSERT INTO ${t} VALUES (1, 7, 0x01), (2, 14, REPEAT(0x61, ?)), (3, 21, 0x03)`, [Math.floor(Number(packet!.p) / 2) + 1024]);
        // Exact statistics: the first page's width estimate is the table's real average row.
        await suite.pool.query(`ANALYZE TABLE ${t}`);
      },
      async (rt, config) => {
        await expect(rt.execute().result).rejects.toThrow(/big row id=2: the source did not render it as one SQL literal/);
        const [seg] = await rt.store.segments(config.migrationId, 'big');
        expect(seg?.lastError).toMatch(/big row id=2: the source did not render it as one SQL literal .*max_allowed_packet.*copy\.rowLiterals/);
        expect(seg?.rowsCopied ?? 0).toBe(0);
      },
      // Pages large enough for all three rows (at 8 MiB the first page would hold row 1 alone).
      { writeMethod: 'insert', segments: 1, pageBytes: 256 * 1024 * 1024 },
    ));

  it('refuses, naming the row, a utf8mb4 text whose quoted form passes max_allowed_packet as a LOAD DATA line (never reads it as NULL)', () =>
    copyOneTable(
      'bigq',
      'id BIGINT NOT NULL PRIMARY KEY, shard_no BIGINT NOT NULL, t LONGTEXT CHARACTER SET utf8mb4 NULL',
      async (t) => {
        const [[packet]] = await suite.pool.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS p');
        // Every quote is escaped: the quoted value takes twice its bytes, more than the packet.
        await suite.pool.query(`INSERT INTO ${t} VALUES (1, 7, 'a'), (2, 14, REPEAT('''', ?)), (3, 21, NULL)`, [Math.floor(Number(packet!.p) / 2) + 1024]);
        await suite.pool.query(`ANALYZE TABLE ${t}`);
      },
      async (rt, config) => {
        await expect(rt.execute().result).rejects.toThrow(/bigq row id=2: the source did not render it as one LOAD DATA line/);
        const [seg] = await rt.store.segments(config.migrationId, 'bigq');
        expect(seg?.rowsCopied ?? 0).toBe(0);
        expect((await rt.store.getPlan(config.migrationId, 'bigq'))?.literalKinds).toMatchObject({ t: 'utf8' });
      },
      { writeMethod: 'auto', segments: 1, pageBytes: 256 * 1024 * 1024 },
    ));

  it("gives the writers' sessions backslash escapes even when the server's sql_mode has NO_BACKSLASH_ESCAPES", async () => {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '' });
    try {
      await conn.query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'");
      await conn.query(SESSION_SETUP);
      const [[r]] = await conn.query<RowDataPacket[]>("SELECT @@SESSION.sql_mode AS m, @@SESSION.time_zone AS tz, 'a\\\\b' AS s");
      expect(r).toMatchObject({ m: 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION', tz: '+00:00', s: 'a\\b' });
      await conn.query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
      await conn.query(SESSION_SETUP);
      const [[only]] = await conn.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS m');
      expect(only!.m).toBe('');
    } finally {
      await conn.end();
    }
  });
});
