/**
 * Binlog capture on the real MariaDB (ROW / FULL): exact events and values (equal to what a `poolOptions` pool
 * reads for the same rows), binlog order, resuming from returned positions in pieces and across a rotation,
 * filtering of other tables and databases, and the server-settings checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { readChanges, type ReadChangesOptions } from '../../lambdas/adapters/binlog/reader.js';
import { checkRowImage, currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { BinlogPositionError } from '../../lambdas/adapters/binlog/stream.js';
import type { ChangeEvent } from '../../lambdas/core/events/model.js';
import { comparePositions, type BinlogPosition } from '../../lambdas/core/position.js';
import { createPool } from '../../lambdas/adapters/mysql/pool.js';
import { connectionSchema } from '../../lambdas/core/config.js';
import { SchemaError } from '../../lambdas/core/errors.js';
import { dropPrefixed, mysqlPort, rootPool, uniquePrefix } from '../helpers/db.js';

const prefix = uniquePrefix('binlog');
const db = `${prefix}_src`;
const otherDb = `${prefix}_other`;
let root: Pool;
/** Reads rows exactly as the adapters do (poolOptions, session in UTC). */
let reader: Pool;
/** Writes in a non-UTC session, so TIMESTAMP conversion is exercised. */
let writer: PoolConnection;

let serverIds = 60_000 + Math.floor(Math.random() * 1_000_000);
function read(from: BinlogPosition, extra: Partial<ReadChangesOptions> = {}) {
  const events: ChangeEvent[] = [];
  const batches: number[] = [];
  const result = readChanges({
    connection: { host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '' },
    serverId: serverIds++,
    from,
    database: db,
    tables: ['items'],
    idleMs: 3000,
    deadlineMs: Date.now() + 10_000,
    onBatch: async (batch) => {
      batches.push(batch.length);
      events.push(...batch);
    },
    ...extra,
  });
  return result.then((r) => ({ ...r, list: events, batches }));
}

const COLUMNS = 'id, name, amount, d3, d6, ts, doc, data, qty';
async function snapshot(where: string): Promise<Map<string, Record<string, unknown>>> {
  const [rows] = await reader.query<RowDataPacket[]>(`SELECT ${COLUMNS} FROM \`${db}\`.items WHERE ${where} ORDER BY id`);
  return new Map(rows.map((r) => [String(r.id), { ...r }]));
}

/** Strips what the test cannot predict (positions, timestamps), keeping order. */
const shape = (events: ChangeEvent[]) => events.map(({ position: _p, timestamp: _t, ...rest }) => rest);

function expectBinlogOrder(events: ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!;
    const b = events[i]!;
    const c = comparePositions(a.position, b.position) || a.rowIndex - b.rowIndex;
    expect(c, `event ${i} (${b.position.file}:${b.position.position}#${b.rowIndex}) after ${a.position.file}:${a.position.position}#${a.rowIndex}`).toBeLessThan(0);
    // Rows of one rows event are numbered from 0.
    expect(b.rowIndex).toBe(comparePositions(a.position, b.position) === 0 ? a.rowIndex + 1 : 0);
  }
  if (events.length) expect(events[0]!.rowIndex).toBe(0);
}

describe('binlog capture', () => {
  let start: BinlogPosition;
  /** After every change made in beforeAll. */
  let end: BinlogPosition;
  let expected: Omit<ChangeEvent, 'position' | 'timestamp'>[];

  beforeAll(async () => {
    root = rootPool();
    reader = createPool(connectionSchema.parse({ host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '', poolSize: 2 }));
    const table = (d: string) => `CREATE TABLE \`${d}\`.items (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci,
        amount DECIMAL(12,4),
        d3 DATETIME(3),
        d6 DATETIME(6),
        ts TIMESTAMP NULL DEFAULT NULL,
        doc JSON,
        data BLOB,
        qty INT NULL
      )`;
    await root.query(`CREATE DATABASE \`${db}\``);
    await root.query(`CREATE DATABASE \`${otherDb}\``);
    await root.query(table(db));
    await root.query(table(otherDb));
    await root.query(`CREATE TABLE \`${db}\`.noise (id INT PRIMARY KEY, v VARCHAR(20))`);
    writer = await root.getConnection();
    await writer.query("SET time_zone = '+05:30'");

    // ---- act: changes, with snapshots of the affected rows read the adapters' way before and after
    start = await currentPosition(root);
    expected = [];
    const T = `\`${db}\`.items`;
    const all = 'TRUE';

    // A multi-row insert: emoji, NULLs, trailing-zero DECIMAL, sub-second DATETIMEs, a 2^64-1 key.
    await writer.query(
      `INSERT INTO ${T} VALUES
        (1, 'unicorn 🦄 – ok ✓', 12.3400, '2024-01-02 03:04:05.678', '2024-01-02 03:04:05.000001', '2024-06-01 12:00:00', '{"a": 1, "b": [true, null], "s": "é😀"}', x'00ff10', NULL),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (18446744073709551615, '', -0.0001, '1999-12-31 23:59:59.000', '2000-01-01 00:00:00.000000', '2038-01-19 03:14:07', '[]', x'', -2147483648)`,
    );
    let after = await snapshot(all);
    for (const id of ['1', '2', '18446744073709551615']) expected.push({ table: 'items', op: 'insert', after: after.get(id)!, rowIndex: expected.length });

    // Changes elsewhere: another table of the database, the same table name in another database.
    await writer.query(`INSERT INTO \`${db}\`.noise VALUES (1, 'x'), (2, 'y')`);
    await writer.query(`INSERT INTO \`${otherDb}\`.items (id, name) VALUES (1, 'other')`);

    // One transaction: a multi-row update, a delete and a change to a table not read.
    let before = after;
    await writer.query('BEGIN');
    await writer.query(`UPDATE ${T} SET qty = COALESCE(qty, 0) + 5, amount = 7.5000, d6 = '2024-02-29 23:59:59.999999' WHERE id IN (1, 2)`);
    await writer.query(`UPDATE \`${db}\`.noise SET v = 'z'`);
    await writer.query(`DELETE FROM ${T} WHERE id = 18446744073709551615`);
    await writer.query('COMMIT');
    after = await snapshot(all);
    expected.push({ table: 'items', op: 'update', before: before.get('1')!, after: after.get('1')!, rowIndex: 0 });
    expected.push({ table: 'items', op: 'update', before: before.get('2')!, after: after.get('2')!, rowIndex: 1 });
    expected.push({ table: 'items', op: 'delete', before: before.get('18446744073709551615')!, rowIndex: 0 });

    // One statement large enough to be split into several rows events (only the last one ends the statement).
    const bulk = Array.from({ length: 150 }, (_, i) => `(${1000 + i}, '${'row '.repeat(30)}${i}', ${i}.5, NOW(3), NOW(6), NOW(), '{"i": ${i}}', x'${(i % 256).toString(16).padStart(2, '0')}', ${i})`);
    await writer.query(`INSERT INTO ${T} VALUES ${bulk.join(',')}`);
    after = await snapshot('id >= 1000');
    [...after.values()].forEach((row, i) => expected.push({ table: 'items', op: 'insert', after: row, rowIndex: -1 - i }));

    // A transaction whose first statement changes two tables (the statement-end flag may sit on the rows
    // event of the table not read) and whose second changes another row.
    before = await snapshot('id IN (1, 1000)');
    await writer.query('BEGIN');
    await writer.query(`UPDATE ${T} i JOIN \`${db}\`.noise n ON n.id = 1 SET i.qty = 41, n.v = 'w' WHERE i.id = 1`);
    await writer.query(`UPDATE ${T} SET qty = 99, ts = '2030-01-01 00:00:00' WHERE id = 1000`);
    await writer.query('COMMIT');
    after = await snapshot('id IN (1, 1000)');
    expected.push({ table: 'items', op: 'update', before: before.get('1')!, after: after.get('1')!, rowIndex: 0 });
    expected.push({ table: 'items', op: 'update', before: before.get('1000')!, after: after.get('1000')!, rowIndex: 0 });

    // A single-row update with a JSON and BLOB change, then a delete of the emoji row.
    before = await snapshot('id = 2');
    await writer.query(`UPDATE ${T} SET doc = '{"x": "y"}', data = x'deadbeef', name = 'two' WHERE id = 2`);
    after = await snapshot('id = 2');
    expected.push({ table: 'items', op: 'update', before: before.get('2')!, after: after.get('2')!, rowIndex: 0 });
    before = await snapshot('id = 1');
    await writer.query(`DELETE FROM ${T} WHERE id = 1`);
    expected.push({ table: 'items', op: 'delete', before: before.get('1')!, rowIndex: 0 });
    end = await currentPosition(root);
  });

  afterAll(async () => {
    writer?.release();
    await reader?.end();
    await dropPrefixed(root, prefix);
    await root?.end();
  });

  it('the server is set up for row capture', async () => {
    await expect(checkRowImage(root)).resolves.toBeUndefined();
    expect(start.file).toMatch(/\.\d+$/);
    expect(start.position).toBeGreaterThanOrEqual(4);
  });

  it('delivers exactly the changes of the table read, in binlog order, with the values a poolOptions pool reads', async () => {
    const r = await read(start, { until: end });
    // The bulk statement's rows sit in several rows events: fix the expected row indexes from what was read.
    const got = shape(r.list);
    expect(got.map((e) => e.op)).toEqual(expected.map((e) => e.op));
    const fixed = expected.map((e, i) => ({ ...e, rowIndex: e.rowIndex < 0 ? got[i]!.rowIndex : e.rowIndex }));
    expect(got).toEqual(fixed);
    expect(r.events).toBe(expected.length);
    expect(r.stoppedBy).toBe('until');
    expect(comparePositions(r.position, end)).toBeGreaterThanOrEqual(0);
    expectBinlogOrder(r.list);
    // The bulk insert really was split (exercising statement boundaries), and batches were bounded.
    const bulkPositions = new Set(r.list.filter((e) => Number(e.after?.id) >= 1000).map((e) => e.position.position));
    expect(bulkPositions.size).toBeGreaterThan(1);
    expect(Math.max(...r.batches)).toBeLessThanOrEqual(500);
    for (const e of r.list) expect(Math.abs(e.timestamp - Date.now())).toBeLessThan(120_000);
    // Each position is the start of the rows event that carried the row, as the server lists it.
    for (const e of r.list.filter((x) => x.rowIndex === 0)) {
      const [[ev]] = (await root.query(`SHOW BINLOG EVENTS IN '${e.position.file}' FROM ${e.position.position} LIMIT 1`)) as unknown as [RowDataPacket[]];
      expect(ev).toMatchObject({ Log_name: e.position.file, Pos: String(e.position.position) });
      expect(String(ev!.Event_type)).toMatch({ insert: /^Write_rows/, update: /^Update_rows/, delete: /^Delete_rows/ }[e.op]);
    }
    // Spot checks of the representations.
    const first = r.list[0]!.after!;
    expect(first).toMatchObject({ id: '1', name: 'unicorn 🦄 – ok ✓', amount: '12.3400', d3: '2024-01-02 03:04:05.678', d6: '2024-01-02 03:04:05.000001', ts: '2024-06-01 06:30:00', qty: null });
    expect(first.data).toEqual(Buffer.from([0x00, 0xff, 0x10]));
    expect(typeof first.doc).toBe('string');
    expect(r.list[2]!.after).toMatchObject({ id: '18446744073709551615', amount: '-0.0001', d3: '1999-12-31 23:59:59.000', d6: '2000-01-01 00:00:00.000000', qty: -2147483648 });

    // Reading again from the returned position delivers nothing already delivered (stopping when the
    // binlog falls quiet, or at the deadline if other suites keep writing).
    const again = await read(r.position, { idleMs: 300, deadlineMs: Date.now() + 2000 });
    expect(['idle', 'deadline']).toContain(again.stoppedBy);
    expect(again.list).toEqual([]);
    expect(comparePositions(again.position, r.position)).toBeGreaterThanOrEqual(0);
  });

  it("with updateBeforeColumns, an update's before image holds only the wanted columns (and those of types it cannot skip); all else is the same", async () => {
    const full = await read(start, { until: end });
    const slim = await read(start, { until: end, updateBeforeColumns: new Map([['items', new Set(['id', 'qty'])]]) });
    expect(slim.list).toHaveLength(full.list.length);
    expect(slim.list.filter((e) => e.op === 'update').length).toBeGreaterThanOrEqual(5);
    slim.list.forEach((e, i) => {
      const f = full.list[i]!;
      if (e.op !== 'update') return expect(e).toEqual(f);
      // The after image is read after the before image: equal only if every skip moved by the value's exact size
      // (two-row update events check it across rows too).
      expect(e.after).toEqual(f.after);
      // Kept: id, qty; TIMESTAMP is not skipped (decoded as usual); NULLs stay NULL; the others are left out.
      const want = Object.fromEntries(Object.entries(f.before!).filter(([k, v]) => ['id', 'qty', 'ts'].includes(k) || v === null));
      expect(e.before).toEqual(want);
    });
    // (A row whose other columns are all NULL keeps them: NULL is known without decoding anything.)
    const smaller = slim.list.filter((e, i) => e.op === 'update' && Object.keys(e.before!).length < Object.keys(full.list[i]!.before!).length);
    expect(smaller.length).toBeGreaterThanOrEqual(4);
  });

  it('reading in pieces (maxEvents) and resuming from each returned position gives the same events, none twice', async () => {
    const whole = (await read(start, { until: end })).list;
    for (const max of [1, 2, 4, 60]) {
      const pieces: ChangeEvent[] = [];
      let from = start;
      for (let calls = 0; pieces.length < whole.length && calls < 400; calls++) {
        const r = await read(from, { maxEvents: max, until: end });
        // maxEvents is exceeded only to finish a statement (up to its end flag or the next commit when the flag
        // sits on a rows event of a table not read): the first rows event, the split bulk insert, the two-table update.
        expect(r.events, `maxEvents ${max}`).toBeLessThanOrEqual(max + 150);
        pieces.push(...r.list);
        expect(comparePositions(r.position, from)).toBeGreaterThanOrEqual(0);
        if (r.stoppedBy === 'until' || r.events === 0) break;
        from = r.position;
      }
      expect(pieces, `maxEvents ${max}`).toEqual(whole);
    }
    // A split statement is finished even past maxEvents: 3 rows taken before it, 10 allowed.
    const r = await read(start, { maxEvents: 10 });
    expect(r.events).toBe(6);
    const r2 = await read(r.position, { maxEvents: 10 });
    expect(r2.events).toBe(150);
    expect(r2.list).toEqual(whole.slice(6, 156));
  });

  it('resumes across a binlog rotation (FLUSH BINARY LOGS)', async () => {
    const T = `\`${db}\`.items`;
    const p0 = await currentPosition(root);
    await writer.query(`INSERT INTO ${T} (id, name) VALUES (5000, 'before rotation')`);
    await root.query('FLUSH BINARY LOGS');
    await writer.query(`INSERT INTO ${T} (id, name) VALUES (5001, 'after rotation'), (5002, 'after rotation 2')`);
    const p1 = await currentPosition(root);
    expect(p1.file).not.toBe(p0.file);

    const whole = await read(p0, { until: p1 });
    expect(whole.list.map((e) => e.after?.id)).toEqual(['5000', '5001', '5002']);
    expect(whole.list[0]!.position.file).toBe(p0.file);
    expect(whole.list[1]!.position.file).not.toBe(p0.file);
    expect(whole.position.file).not.toBe(p0.file);
    expectBinlogOrder(whole.list);

    const a = await read(p0, { maxEvents: 1 });
    expect(a.list.map((e) => e.after?.id)).toEqual(['5000']);
    expect(a.position.file).toBe(p0.file);
    const b = await read(a.position, { until: p1 });
    expect([...a.list, ...b.list]).toEqual(whole.list);
    const c = await read(b.position, { until: await currentPosition(root) });
    expect(c.list).toEqual([]);
  });

  it('fails with a typed error on a position that does not exist, and passes on an onBatch failure', async () => {
    const missing = { file: start.file.replace(/\d+$/, (d) => '9'.repeat(d.length)), position: 4 };
    await expect(read(missing)).rejects.toThrow(BinlogPositionError);
    await expect(read(missing)).rejects.toThrow(/reading the binlog from .*9999:4/);
    const boom = new Error('sink down');
    await expect(
      read(start, {
        until: end,
        onBatch: async () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    // No binlog dump thread is left behind.
    await new Promise((r) => setTimeout(r, 200));
    const [threads] = await root.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump' AND USER = 'root' AND TIME > 5");
    expect(Number(threads[0]!.n)).toBe(0);
  });

  it('rejects servers that cannot be captured from, naming the variable, its value and the fix', async () => {
    const fake = (row: Record<string, unknown>) => ({ query: async () => [[row], []] }) as unknown as Pool;
    await expect(checkRowImage(fake({ logBin: 1, format: 'ROW', rowImage: 'MINIMAL' }))).rejects.toThrow(SchemaError);
    await expect(checkRowImage(fake({ logBin: 1, format: 'ROW', rowImage: 'MINIMAL' }))).rejects.toThrow(/binlog_row_image is MINIMAL.*SET GLOBAL binlog_row_image = 'FULL'/);
    await expect(checkRowImage(fake({ logBin: 1, format: 'MIXED', rowImage: 'FULL' }))).rejects.toThrow(/binlog_format is MIXED.*SET GLOBAL binlog_format = 'ROW'/);
    await expect(checkRowImage(fake({ logBin: 0, format: 'ROW', rowImage: 'FULL' }))).rejects.toThrow(/binary logging is off/);
    const noBinlog = { query: async () => [[], []] } as unknown as Pool;
    await expect(currentPosition(noBinlog)).rejects.toThrow(SchemaError);
    await expect(currentPosition(noBinlog)).rejects.toThrow(/binary logging is off/);
  });
});
