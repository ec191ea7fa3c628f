/**
 * Binlog loss and rotation on a MariaDB of its own (purging binlogs would take them from every other test):
 * a position whose file was purged fails with a typed error that says what happened and what to do; a source
 * restart rotates the binlog, and capture reads on across it without losing or repeating a change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { startMariaDb, type MariaDb } from '../../local/mariadb.js';
import { createPool } from '../../lambdas/adapters/mysql/pool.js';
import { currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { BinlogPositionError } from '../../lambdas/adapters/binlog/stream.js';
import { connectionSchema } from '../../lambdas/core/config.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';
import { mysqlPort } from '../helpers/db.js';
import { readAllChanges } from '../helpers/binlog.js';

const dir = mkdtempSync(join(tmpdir(), 'reshard-binlog-loss-'));
const port = mysqlPort() + 1001;
let server: MariaDb;
let pool: Pool;
const start = () => startMariaDb({ dir, port });
const connect = () => createPool(connectionSchema.parse({ port, poolSize: 2 }));

const read = async (from: BinlogPosition) =>
  (await readAllChanges({ connection: { host: '127.0.0.1', port, user: 'root', password: '' }, from, database: 'loss', tables: ['t'] })).map((e) => e.after?.id);

beforeAll(async () => {
  server = await start();
  pool = connect();
  await pool.query('CREATE DATABASE IF NOT EXISTS loss');
  await pool.query('CREATE TABLE IF NOT EXISTS loss.t (id INT PRIMARY KEY)');
});
afterAll(async () => {
  await pool?.end();
  await server?.stop('kill');
  rmSync(dir, { recursive: true, force: true });
});

describe('binlog loss and rotation', () => {
  it('a source restart rotates the binlog; capture reads on across it, every change once and in order', async () => {
    const from = await currentPosition(pool);
    await pool.query('INSERT INTO loss.t VALUES (1), (2), (3)');
    await pool.end();
    await server.stop('shutdown');
    server = await start();
    pool = connect();
    const after = await currentPosition(pool);
    expect(after.file).not.toBe(from.file); // the restart opened a new binlog file
    await pool.query('INSERT INTO loss.t VALUES (4), (5)');
    expect(await read(from)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a position whose binlog was purged fails with a BinlogPositionError naming it and saying what to do', async () => {
    const from = await currentPosition(pool);
    await pool.query('INSERT INTO loss.t VALUES (6)');
    // MariaDB keeps a file until InnoDB's checkpoint has passed it (binlog checkpoint): rotate and purge until it goes.
    const deadline = Date.now() + 20_000;
    for (;;) {
      await pool.query('FLUSH BINARY LOGS');
      const [[last]] = await pool.query<RowDataPacket[]>('SHOW MASTER STATUS');
      await pool.query('PURGE BINARY LOGS TO ?', [String(last!.File)]);
      const [logs] = await pool.query<RowDataPacket[]>('SHOW BINARY LOGS');
      if (!logs.some((l) => l.Log_name === from.file)) break;
      if (Date.now() > deadline) throw new Error(`${from.file} could not be purged`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const err = await read(from).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinlogPositionError);
    expect((err as Error).message).toContain(`reading the binlog from ${from.file}:${from.position}`);
    expect((err as Error).message).toMatch(/purged.*can no longer be captured: keep binlogs longer/);
  });
});
