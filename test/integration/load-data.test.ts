/**
 * The target writer's fast paths for fresh rows, on the real server: a plain INSERT that fails whole on an
 * existing key (then the guarded upsert), and LOAD DATA LOCAL. With LOCAL the server cannot stop
 * the file half way, so it acts as with IGNORE: an existing key is skipped and a value that does not fit is
 * clamped, each only a warning. The writer must never let that through: such a load is rolled back and the
 * rows go through the guarded upsert (which updates an older version, keeps a newer one, and fails loudly
 * on a value that does not fit).
 */
import { describe, expect, it } from 'vitest';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { LoadRefusedError, loadOutcome } from '../../lambdas/adapters/mysql/load-data.js';
import { poolOptions } from '../../lambdas/adapters/mysql/pool.js';
import { TargetWriter } from '../../lambdas/adapters/mysql/target.js';
import { q } from '../../lambdas/core/sql.js';
import { mysqlPort, scratchDatabase } from '../helpers/db.js';

const scratch = scratchDatabase('load');
const db = scratch.db;

async function rows(table: string): Promise<RowDataPacket[]> {
  const [r] = await scratch.root.query<RowDataPacket[]>(`SELECT * FROM ${q(db)}.${q(table)} ORDER BY id`);
  return r;
}

describe('LOAD DATA LOCAL fast path', () => {
  it('parses the OK packet of a load', () => {
    expect(loadOutcome('Records: 3  Deleted: 0  Skipped: 1  Warnings: 2')).toEqual({ records: 3, skipped: 1, warnings: 2 });
    expect(loadOutcome(undefined)).toEqual({ records: NaN, skipped: NaN, warnings: NaN });
  });

  it('an existing key makes the load roll back: the guarded upsert updates the older version and keeps the newer one', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.v (id INT PRIMARY KEY, name VARCHAR(20), ver INT NOT NULL)`);
    await scratch.root.query(`INSERT INTO ${q(db)}.v VALUES (2, 'old', 1), (3, 'newer', 9)`);
    const writer = new TargetWriter([scratch.pool], 'load');
    const stats = await writer.upsert({
      db: 0,
      database: db,
      table: 'v',
      columns: ['id', 'name', 'ver'],
      recordKey: ['id'],
      versionColumn: 'ver',
      rows: {
        kind: 'values',
        values: [
          [1, 'a', 5],
          [2, 'b', 5],
          [3, 'c', 5],
          [4, 'd', 5],
        ],
      },
    });
    expect(stats).toEqual({ inserted: 2, updated: 1, skipped: 1 });
    expect(await rows('v')).toEqual([
      { id: 1, name: 'a', ver: 5 },
      { id: 2, name: 'b', ver: 5 },
      { id: 3, name: 'newer', ver: 9 },
      { id: 4, name: 'd', ver: 5 },
    ]);
  });

  it('the guarded upsert counts what it did from the server\'s answer (rows it left as they were are skipped)', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.counts (id INT PRIMARY KEY, name VARCHAR(20), ver INT NOT NULL)`);
    await scratch.root.query(`INSERT INTO ${q(db)}.counts VALUES (2, 'old', 1), (3, 'newer', 9), (5, 'same', 5)`);
    const writer = new TargetWriter([scratch.pool], 'insert');
    const write = (rows: { id: number; name: string; ver: number }[]) =>
      writer.upsert({ db: 0, database: db, table: 'counts', columns: ['id', 'name', 'ver'], recordKey: ['id'], versionColumn: 'ver', rows: { kind: 'values', values: rows.map((r) => [r.id, r.name, r.ver]) } });
    const page = [1, 2, 3, 4, 5].map((id) => ({ id, name: id === 5 ? 'same' : `n${id}`, ver: 5 }));
    expect(await write(page)).toEqual({ inserted: 2, updated: 1, skipped: 2 });
    expect(await write(page)).toEqual({ inserted: 0, updated: 0, skipped: 5 });
  });

  it('a value the column cannot hold is not clamped: the load rolls back and the write fails naming the table', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.narrow (id INT PRIMARY KEY, n TINYINT NOT NULL)`);
    const writer = new TargetWriter([scratch.pool], 'load');
    const write = writer.upsert({ db: 0, database: db, table: 'narrow', columns: ['id', 'n'], recordKey: ['id'], rows: { kind: 'values', values: [[1, 5], [2, 300]] } });
    await expect(write).rejects.toThrow(new RegExp(`writing 2 rows into ${db}\\.narrow: ER_WARN_DATA_OUT_OF_RANGE`));
    expect(await rows('narrow')).toEqual([]);
  });

  it('loads text into any column charset (latin1 too), binary bytes as they are, and awkward text exactly', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.cs (id INT PRIMARY KEY, l VARCHAR(20) CHARACTER SET latin1, u VARCHAR(40) CHARACTER SET utf8mb4, b BLOB, j JSON, f FLOAT) DEFAULT CHARSET=utf8mb4`);
    const blob = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x5c, 0x09, 0x0a, 0x00, 0x4e]);
    const input = [
      { id: 1, l: 'café', u: '🚀 tab\there\nnew \\N \0', b: blob, j: '{"k": "\\\\t"}', f: 1.2345677614212036 },
      { id: 2, l: null, u: '', b: Buffer.alloc(0), j: null, f: null },
      { id: 3, l: '\\N', u: 'N', b: null, j: '[]', f: -0.5 },
    ];
    const writer = new TargetWriter([scratch.pool], 'load');
    expect(await writer.upsert({ db: 0, database: db, table: 'cs', columns: ['id', 'l', 'u', 'b', 'j', 'f'], recordKey: ['id'], rows: { kind: 'values', values: input.map((r) => [r.id, r.l, r.u, r.b, r.j, r.f]) } })).toEqual({ inserted: 3, updated: 0, skipped: 0 });
    const [got] = await scratch.root.query<RowDataPacket[]>(`SELECT id, HEX(l) AS l, u, HEX(b) AS b, CONCAT(j) AS j, f + 0e0 AS f FROM ${q(db)}.cs ORDER BY id`);
    expect(got).toEqual([
      { id: 1, l: Buffer.from('café', 'latin1').toString('hex').toUpperCase(), u: input[0]!.u, b: blob.toString('hex').toUpperCase(), j: input[0]!.j, f: 1.2345677614212036 },
      { id: 2, l: null, u: '', b: '', j: null, f: null },
      { id: 3, l: Buffer.from('\\N', 'latin1').toString('hex').toUpperCase(), u: 'N', b: null, j: '[]', f: -0.5 },
    ]);
  });

  it('a table with a column LOAD DATA would not read back exactly (BIT) is written with INSERT', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.bits (id INT PRIMARY KEY, flags BIT(16))`);
    const writer = new TargetWriter([scratch.pool], 'load');
    await writer.upsert({ db: 0, database: db, table: 'bits', columns: ['id', 'flags'], recordKey: ['id'], rows: { kind: 'values', values: [[1, Buffer.from([0x09, 0x5c])]] } });
    const [got] = await scratch.root.query<RowDataPacket[]>(`SELECT id, HEX(flags) AS h FROM ${q(db)}.bits`);
    expect(got).toEqual([{ id: 1, h: '95C' }]);
  });
});

describe('plain INSERT first (writeMethod insert)', () => {
  /** The writer pool, with the SQL of every statement recorded. */
  const recording = (statements: string[]) =>
    new Proxy(scratch.pool, {
      get(target, prop, receiver) {
        if (prop === 'query') return (sql: string, values?: unknown) => (statements.push(sql), target.query(sql, values as never));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  const guarded = (sql: string) => sql.includes('ON DUPLICATE KEY UPDATE');

  it('writes fresh rows with one plain INSERT; a page meeting existing rows goes guarded, and so do that table\'s next 16', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.p1 (id INT PRIMARY KEY, name VARCHAR(20), ver INT NOT NULL)`);
    await scratch.root.query(`CREATE TABLE ${q(db)}.p2 (id INT PRIMARY KEY, name VARCHAR(20), ver INT NOT NULL)`);
    const statements: string[] = [];
    const writer = new TargetWriter([recording(statements)], 'insert');
    const write = (table: string, ids: number[], ver = 5) =>
      writer.upsert({ db: 0, database: db, table, columns: ['id', 'name', 'ver'], recordKey: ['id'], versionColumn: 'ver', rows: { kind: 'values', values: ids.map((id) => [id, `n${id}v${ver}`, ver]) } });

    expect(await write('p1', [1, 2, 3])).toEqual({ inserted: 3, updated: 0, skipped: 0 });
    expect(statements).toHaveLength(1);
    expect(guarded(statements[0]!)).toBe(false);

    // Rows 3 and 4 exist (4 newer): the plain INSERT fails whole and rolls back, the guarded upsert decides.
    await scratch.root.query(`INSERT INTO ${q(db)}.p1 VALUES (4, 'newer', 9)`);
    statements.length = 0;
    expect(await write('p1', [3, 4, 5], 7)).toEqual({ inserted: 1, updated: 1, skipped: 1 });
    expect(statements.map(guarded)).toEqual([false, true]);
    expect(await rows('p1')).toEqual([
      { id: 1, name: 'n1v5', ver: 5 },
      { id: 2, name: 'n2v5', ver: 5 },
      { id: 3, name: 'n3v7', ver: 7 },
      { id: 4, name: 'newer', ver: 9 },
      { id: 5, name: 'n5v7', ver: 7 },
    ]);

    // The table's next 16 statements go guarded at once; then plain again. Other tables are not affected.
    statements.length = 0;
    for (let i = 0; i < 16; i++) await write('p1', [100 + i]);
    expect(statements.every(guarded)).toBe(true);
    expect(await write('p2', [1])).toEqual({ inserted: 1, updated: 0, skipped: 0 });
    expect(await write('p1', [200])).toEqual({ inserted: 1, updated: 0, skipped: 0 });
    expect(statements.slice(16).map(guarded)).toEqual([false, false]);
  });

  it('any other error of the plain INSERT fails the write (not retried guarded), naming the table, and writes nothing', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.p3 (id INT PRIMARY KEY, n TINYINT NOT NULL)`);
    const statements: string[] = [];
    const writer = new TargetWriter([recording(statements)], 'insert');
    const write = writer.upsert({ db: 0, database: db, table: 'p3', columns: ['id', 'n'], recordKey: ['id'], rows: { kind: 'values', values: [[1, 5], [2, 300]] } });
    await expect(write).rejects.toThrow(new RegExp(`writing 2 rows into ${db}\\.p3: ER_WARN_DATA_OUT_OF_RANGE`));
    expect(statements).toHaveLength(1);
    expect(await rows('p3')).toEqual([]);
  });
});

describe('LOAD DATA lines rendered by the source', () => {
  /** Lines as `rowRenderExpr` renders them. */
  const lines = (...ls: string[]) => ls.map((l) => Buffer.from(`${l}\n`));

  it('loads fresh rows in one clean load; a page meeting existing rows goes through the guarded upsert of a temporary copy', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.lv (id INT PRIMARY KEY, name VARCHAR(20), ver INT NOT NULL)`);
    const writer = new TargetWriter([scratch.pool], 'auto');
    const write = (ls: Buffer[]) => writer.upsert({ db: 0, database: db, table: 'lv', columns: ['id', 'name', 'ver'], recordKey: ['id'], versionColumn: 'ver', rows: { kind: 'lines', lines: ls } });
    expect(await write(lines("1,'a',5", "2,'b,\\'c',5", '3,NULL,5'))).toEqual({ inserted: 3, updated: 0, skipped: 0 });
    await scratch.root.query(`INSERT INTO ${q(db)}.lv VALUES (4, 'newer', 9)`);
    // 2 older (updated), 3 same version (kept), 4 newer (kept), 5 fresh.
    expect(await write(lines("2,'b2',6", "3,'c2',5", "4,'d2',7", "5,'NULL',1"))).toEqual({ inserted: 1, updated: 1, skipped: 2 });
    expect(await rows('lv')).toEqual([
      { id: 1, name: 'a', ver: 5 },
      { id: 2, name: 'b2', ver: 6 },
      { id: 3, name: null, ver: 5 },
      { id: 4, name: 'newer', ver: 9 },
      { id: 5, name: 'NULL', ver: 1 },
    ]);
    // The temporary copy is gone with the write: nothing of it is left on the session.
    const [temp] = await scratch.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '__reshard_stage'`, [db]);
    expect(Number(temp[0]!.n)).toBe(0);
  });

  it('a value the column cannot hold fails the write naming the table and the warning, and writes nothing', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.lnarrow (id INT PRIMARY KEY, n TINYINT NOT NULL)`);
    const writer = new TargetWriter([scratch.pool], 'auto');
    const write = writer.upsert({ db: 0, database: db, table: 'lnarrow', columns: ['id', 'n'], recordKey: ['id'], rows: { kind: 'lines', lines: lines('1,5', '2,300') } });
    await expect(write).rejects.toThrow(new RegExp(`writing 2 rows into ${db}\\.lnarrow: .*1264 Out of range value for column 'n'`));
    expect(await rows('lnarrow')).toEqual([]);
  });

  it('a server that refuses LOAD DATA LOCAL: auto stops loading (LoadRefusedError, then loadsLines is false); load names what to change', async () => {
    await scratch.root.query(`CREATE TABLE ${q(db)}.lref (id INT PRIMARY KEY, n INT)`);
    // A client that does not offer local files gets the server's refusal, as with local_infile off.
    const pool = mysql.createPool({ ...poolOptions({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '', poolSize: 2, connectTimeoutMs: 5000 }), flags: ['-FOUND_ROWS', '-LOCAL_FILES'] });
    try {
      const auto = new TargetWriter([pool], 'auto');
      expect(auto.loadsLines).toBe(true);
      const args = { db: 0, database: db, table: 'lref', columns: ['id', 'n'], recordKey: ['id'], rows: { kind: 'lines' as const, lines: lines('1,5') } };
      await expect(auto.upsert(args)).rejects.toBeInstanceOf(LoadRefusedError);
      expect(auto.loadsLines).toBe(false);
      const load = new TargetWriter([pool], 'load');
      await expect(load.upsert(args)).rejects.toThrow(/refuses LOAD DATA LOCAL .*use copy.writeMethod auto or insert/);
      expect(await rows('lref')).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
