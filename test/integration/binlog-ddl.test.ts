/**
 * The binlog reader and schema changes, on the real MariaDB: it stops just before a DDL of a table read (and
 * not for other tables' DDL), the position before it re-reads nothing and the position after it misses
 * nothing, and rows written before an ALTER decode with the columns they were written with even when the
 * backlog is read after the ALTER ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import { readChanges, type ReadChangesOptions } from '../../lambdas/adapters/binlog/reader.js';
import { currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { binlogColumnsOf, columnsOf } from '../../lambdas/adapters/mysql/schema.js';
import type { ChangeEvent } from '../../lambdas/core/events/model.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';
import { SchemaError } from '../../lambdas/core/errors.js';
import { dropPrefixed, mysqlPort, rootPool, uniquePrefix } from '../helpers/db.js';

const prefix = uniquePrefix('bddl');
const db = `${prefix}_src`;
let root: Pool;
let serverIds = 70_000 + Math.floor(Math.random() * 1_000_000);

async function read(from: BinlogPosition, extra: Partial<ReadChangesOptions> = {}) {
  const events: ChangeEvent[] = [];
  const r = await readChanges({
    connection: { host: '127.0.0.1', port: mysqlPort(), user: 'root', password: '' },
    serverId: serverIds++,
    from,
    database: db,
    tables: ['t'],
    idleMs: 1500,
    deadlineMs: Date.now() + 15_000,
    onBatch: async (batch) => {
      events.push(...batch);
    },
    ...extra,
  });
  return { ...r, events };
}

describe('binlog reader and DDL', () => {
  beforeAll(async () => {
    root = rootPool();
    await root.query(`CREATE DATABASE \`${db}\``);
  });
  afterAll(async () => {
    await dropPrefixed(root, prefix);
    await root.end();
  });

  it('stops before a DDL of a table read, decoding the rows before it with the columns they had', async () => {
    await root.query(`CREATE TABLE \`${db}\`.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)`);
    await root.query(`CREATE TABLE \`${db}\`.other (id INT PRIMARY KEY)`);
    const columnsBefore = binlogColumnsOf(await columnsOf(root, db, 't'));
    const from = await currentPosition(root);
    await root.query(`INSERT INTO \`${db}\`.t VALUES (1, 'one', 10), (2, 'two', 20)`);
    await root.query(`ALTER TABLE \`${db}\`.other ADD COLUMN x INT`); // not a table read: no stop
    await root.query(`UPDATE \`${db}\`.t SET b = 11 WHERE id = 1`);
    // A column in the middle: rows before it decoded with today's columns would shift by one name.
    await root.query(`ALTER TABLE \`${db}\`.t ADD COLUMN c VARCHAR(10) AFTER id`);
    await root.query(`INSERT INTO \`${db}\`.t VALUES (3, 'new', 'three', 30)`);
    await root.query(`TRUNCATE TABLE \`${db}\`.t`);
    await root.query(`INSERT INTO \`${db}\`.t VALUES (4, 'x', 'four', 40)`);
    const end = await currentPosition(root);

    const first = await read(from, { columns: new Map([[`${db}.t`, columnsBefore]]) });
    expect(first.stoppedBy).toBe('ddl');
    expect(first.ddl?.ddl.kind).toBe('alter');
    expect(first.ddl?.ddl.changesColumns).toBe(true);
    expect(first.ddl?.touched.map((t) => `${t.database}.${t.table}:${t.as}`)).toEqual([`${db}.t:t`]);
    expect(first.events.map((e) => [e.op, e.after])).toEqual([
      ['insert', { id: 1, a: 'one', b: 10 }],
      ['insert', { id: 2, a: 'two', b: 20 }],
      ['update', { id: 1, a: 'one', b: 11 }],
    ]);
    // Stopping there is resumable: the same stop, nothing new.
    const again = await read(first.position, { columns: new Map([[`${db}.t`, columnsBefore]]) });
    expect(again.stoppedBy).toBe('ddl');
    expect(again.events).toEqual([]);
    expect(again.ddl?.next).toEqual(first.ddl?.next);

    // After the ALTER: its columns; the next stop is the TRUNCATE.
    const columnsAfter = binlogColumnsOf(await columnsOf(root, db, 't'));
    const second = await read(first.ddl!.next, { columns: new Map([[`${db}.t`, columnsAfter]]) });
    expect(second.events.map((e) => e.after)).toEqual([{ id: 3, c: 'new', a: 'three', b: 30 }]);
    expect(second.stoppedBy).toBe('ddl');
    expect(second.ddl?.ddl.kind).toBe('truncate');
    // Up to the end of what was written (other test files keep the shared server's binlog busy: never idle).
    const third = await read(second.ddl!.next, { columns: new Map([[`${db}.t`, columnsAfter]]), until: end });
    expect(third.stoppedBy).toBe('until');
    expect(third.events.map((e) => e.after)).toEqual([{ id: 4, c: 'x', a: 'four', b: 40 }]);

    // The same backlog with today's definition instead (what the reader did without known columns): the
    // rows before the ALTER come out under the wrong names.
    const today = await read(from);
    expect(today.events[0]!.after).not.toEqual({ id: 1, a: 'one', b: 10 });
  });

  it('fails, naming the table and both column counts, when a table changed without a DDL it saw', async () => {
    await root.query(`CREATE TABLE \`${db}\`.u (id INT PRIMARY KEY, a INT)`);
    const stale = binlogColumnsOf(await columnsOf(root, db, 'u'));
    await root.query(`ALTER TABLE \`${db}\`.u ADD COLUMN b INT`);
    const from = await currentPosition(root);
    await root.query(`INSERT INTO \`${db}\`.u VALUES (1, 2, 3)`);
    const err = await read(from, { tables: ['u'], columns: new Map([[`${db}.u`, stale]]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaError);
    expect(String((err as Error).message)).toMatch(new RegExp(`${db}\\.u has 3 columns in the binlog .* but 2 in the plan`));
  });
});
