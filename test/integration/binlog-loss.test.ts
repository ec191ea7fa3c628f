/**
 * Binlog loss and rotation on a MariaDB of its own (purging binlogs would take them from every other test):
 * a position whose file was purged fails with a typed error that says what happened and what to do; a source
 * restart rotates the binlog, and capture reads on across it without losing or repeating a change.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { BinlogPositionError } from '../../lambdas/adapters/binlog/stream.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';
import { ownMariaDb } from '../helpers/db.js';
import { readAllChanges } from '../helpers/binlog.js';

const { port, pool, restart } = ownMariaDb('binlog-loss', 1001);

const read = async (from: BinlogPosition) =>
  (await readAllChanges({ connection: { host: '127.0.0.1', port, user: 'root', password: '' }, from, database: 'loss', tables: ['t'] })).map((e) => e.after?.id);

beforeAll(async () => {
  await pool().query('CREATE DATABASE IF NOT EXISTS loss');
  await pool().query('CREATE TABLE IF NOT EXISTS loss.t (id INT PRIMARY KEY)');
});

describe('binlog loss and rotation', () => {
  it('a source restart rotates the binlog; capture reads on across it, every change once and in order', async () => {
    const from = await currentPosition(pool());
    await pool().query('INSERT INTO loss.t VALUES (1), (2), (3)');
    await restart();
    const after = await currentPosition(pool());
    expect(after.file).not.toBe(from.file); // the restart opened a new binlog file
    await pool().query('INSERT INTO loss.t VALUES (4), (5)');
    expect(await read(from)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a position whose binlog was purged fails with a BinlogPositionError naming it and saying what to do', async () => {
    const from = await currentPosition(pool());
    await pool().query('INSERT INTO loss.t VALUES (6)');
    // MariaDB keeps a file until InnoDB's checkpoint has passed it (binlog checkpoint): rotate and purge until it goes.
    const deadline = Date.now() + 20_000;
    for (;;) {
      await pool().query('FLUSH BINARY LOGS');
      const [[last]] = await pool().query<RowDataPacket[]>('SHOW MASTER STATUS');
      await pool().query('PURGE BINARY LOGS TO ?', [String(last!.File)]);
      const [logs] = await pool().query<RowDataPacket[]>('SHOW BINARY LOGS');
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
