/**
 * Where MySQL 8 and MariaDB differ in reading the binlog position and settings, driven with the answers each
 * server gives (no MySQL 8 server can run here; docs/compatibility.md says what was not run). The LOAD DATA
 * refusals of each server are in load-data-file.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkRowImage, currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { SchemaError } from '../../lambdas/core/errors.js';

/** A pool that answers each statement from `answers` (a value, or an error to throw), recording what ran. */
function fakePool(answers: Record<string, unknown>) {
  const ran: string[] = [];
  return {
    ran,
    query: (sql: string) => {
      ran.push(sql);
      const a = answers[sql];
      if (a instanceof Error) return Promise.reject(a);
      if (a === undefined) return Promise.reject(Object.assign(new Error(`unexpected ${sql}`), { code: 'ER_UNEXPECTED' }));
      return Promise.resolve([a, []]);
    },
  };
}
const parseError = (sql: string) => Object.assign(new Error(`You have an error in your SQL syntax near '${sql}'`), { code: 'ER_PARSE_ERROR', errno: 1064 });

describe('currentPosition', () => {
  it('reads SHOW MASTER STATUS (MariaDB, MySQL ≤ 8.3)', async () => {
    const pool = fakePool({ 'SHOW MASTER STATUS': [{ File: 'binlog.000007', Position: '1234' }] });
    await expect(currentPosition(pool as never)).resolves.toEqual({ file: 'binlog.000007', position: 1234 });
    expect(pool.ran).toEqual(['SHOW MASTER STATUS']);
  });

  it('falls back to SHOW BINARY LOG STATUS where SHOW MASTER STATUS is gone (MySQL 8.4)', async () => {
    const pool = fakePool({ 'SHOW MASTER STATUS': parseError('MASTER STATUS'), 'SHOW BINARY LOG STATUS': [{ File: 'mysql-bin.000123', Position: 157, Executed_Gtid_Set: 'uuid:1-9' }] });
    await expect(currentPosition(pool as never)).resolves.toEqual({ file: 'mysql-bin.000123', position: 157 });
    expect(pool.ran).toEqual(['SHOW MASTER STATUS', 'SHOW BINARY LOG STATUS']);
  });

  it('names the missing privilege as a configuration error, not a parse error', async () => {
    const denied = Object.assign(new Error('Access denied; you need (at least one of) the REPLICATION CLIENT privilege(s)'), { code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR', sqlMessage: 'Access denied; you need (at least one of) the REPLICATION CLIENT privilege(s)' });
    const err = await currentPosition(fakePool({ 'SHOW MASTER STATUS': denied }) as never).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/reading the binlog position \(SHOW MASTER STATUS\): ER_SPECIFIC_ACCESS_DENIED_ERROR .*REPLICATION CLIENT/);
  });

  it('says how to turn binary logging on when the server has none', async () => {
    await expect(currentPosition(fakePool({ 'SHOW MASTER STATUS': [] }) as never)).rejects.toThrow(SchemaError);
  });
});

describe('checkRowImage', () => {
  const settings = (logBin: unknown, format: string, rowImage: string) =>
    fakePool({ 'SELECT @@GLOBAL.log_bin AS logBin, @@GLOBAL.binlog_format AS format, @@GLOBAL.binlog_row_image AS rowImage': [{ logBin, format, rowImage }] }) as never;
  it.each([
    ['MariaDB (log_bin 1)', 1],
    ['MySQL 8 (log_bin ON)', 'ON'],
  ])('accepts ROW / FULL on %s', async (_name, logBin) => {
    await expect(checkRowImage(settings(logBin, 'ROW', 'FULL'))).resolves.toBeUndefined();
  });
  it.each([
    ['binary logging off', 0, 'ROW', 'FULL', /binary logging is off/],
    ['MIXED format', 1, 'MIXED', 'FULL', /binlog_format is MIXED .* needs ROW/],
    ['MINIMAL row image (a common MySQL 8 tuning)', 'ON', 'ROW', 'MINIMAL', /binlog_row_image is MINIMAL .* needs FULL/],
  ])('refuses %s, naming the variable and the fix', async (_name, logBin, format, image, message) => {
    await expect(checkRowImage(settings(logBin, format, image))).rejects.toThrow(message);
  });
});
