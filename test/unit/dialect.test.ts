/**
 * Where MySQL 8 and MariaDB differ in reading the binlog position and settings, driven with the answers each
 * server gives (no MySQL 8 server can run here; docs/compatibility.md says what was not run). The LOAD DATA
 * refusals of each server are in load-data-file.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkRowImage, checkSourceSettings, currentPosition, serverIdentity } from '../../lambdas/adapters/binlog/server.js';
import { binlogCompressionVariable, binlogStatusSql, dialectOf, readOnlyVariable, replicaStatusSql, replicaUpdatesVariable, retentionWarning, serverIdentityOf, serverIdentitySql, settingsIssues, settingsSql } from '../../lambdas/core/dialect.js';
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

describe('dialectOf and the statements of each dialect', () => {
  it.each([
    // VERSION(), @@version_comment, flavor, version, aurora, binlog status, replica status, replica updates, compression, read-only
    ['10.11.6-MariaDB-0+deb12u1', 'Debian 12', 'mariadb', [10, 11, 6], false, 'SHOW MASTER STATUS', 'SHOW REPLICA STATUS', 'log_slave_updates', 'log_bin_compress', 'read_only'],
    ['10.4.32-MariaDB', 'mariadb.org binary distribution', 'mariadb', [10, 4, 32], false, 'SHOW MASTER STATUS', 'SHOW SLAVE STATUS', 'log_slave_updates', 'log_bin_compress', 'read_only'],
    ['8.0.36', 'MySQL Community Server - GPL', 'mysql', [8, 0, 36], false, 'SHOW MASTER STATUS', 'SHOW REPLICA STATUS', 'log_replica_updates', 'binlog_transaction_compression', 'super_read_only'],
    ['8.0.19-log', 'Source distribution', 'mysql', [8, 0, 19], false, 'SHOW MASTER STATUS', 'SHOW SLAVE STATUS', 'log_slave_updates', undefined, 'super_read_only'],
    ['8.4.3', 'MySQL Community Server - GPL', 'mysql', [8, 4, 3], false, 'SHOW BINARY LOG STATUS', 'SHOW REPLICA STATUS', 'log_replica_updates', 'binlog_transaction_compression', 'super_read_only'],
    ['8.0.mysql_aurora.3.05.2', 'Source distribution', 'mysql', [8, 0, 23], true, 'SHOW MASTER STATUS', 'SHOW REPLICA STATUS', 'log_slave_updates', 'binlog_transaction_compression', 'super_read_only'],
  ] as const)('%s', (version, comment, flavor, v, aurora, status, replica, updates, compression, readOnly) => {
    const d = dialectOf(version, comment);
    expect(d).toEqual({ flavor, version: v, aurora });
    expect([binlogStatusSql(d), replicaStatusSql(d), replicaUpdatesVariable(d), binlogCompressionVariable(d), readOnlyVariable(d)]).toEqual([status, replica, updates, compression, readOnly]);
  });

  it('reads the retention by days on MariaDB before 10.6, in seconds elsewhere', () => {
    expect(settingsSql(dialectOf('10.5.9-MariaDB'))).toContain('@@GLOBAL.expire_logs_days * 86400 AS expireSeconds');
    expect(settingsSql(dialectOf('10.11.6-MariaDB'))).toContain('@@GLOBAL.binlog_expire_logs_seconds AS expireSeconds');
    expect(settingsSql(dialectOf('8.0.36'))).toContain('@@GLOBAL.binlog_transaction_compression AS compression');
  });
});

describe('settingsIssues', () => {
  const mysql = dialectOf('8.0.36');
  const maria = dialectOf('10.11.6-MariaDB');
  it.each([
    ['nothing wrong', mysql, { compression: 0, replicaUpdates: 1 }, true, []],
    ['compressed transactions (MySQL)', mysql, { compression: 'ON', replicaUpdates: 1 }, false, [/binlog_transaction_compression is ON: the binlog reader cannot decode compressed binlog events. SET GLOBAL binlog_transaction_compression = OFF/]],
    ['compressed events (MariaDB)', maria, { compression: 1, replicaUpdates: 0 }, false, [/log_bin_compress is ON/]],
    ['a replica that does not log what it replicates', mysql, { compression: 0, replicaUpdates: 0 }, true, [/the source is a replica and log_replica_updates is OFF/]],
    ['a primary need not log replicated changes', maria, { compression: 0, replicaUpdates: 0 }, false, []],
    ['an Aurora cluster names its parameter group', dialectOf('8.0.mysql_aurora.3.08.0'), { compression: 'ON', replicaUpdates: 1 }, false, [/SET GLOBAL binlog_transaction_compression = OFF \(and in the server configuration \/ DB cluster parameter group\)/]],
  ] as const)('%s', (_name, d, s, replica, want) => {
    const got = settingsIssues(d, { ...s, expireSeconds: 0 }, replica);
    expect(got).toHaveLength(want.length);
    want.forEach((re, i) => expect(got[i]).toMatch(re));
  });
});

describe('retentionWarning', () => {
  it('warns when binlogs are kept less than twice the estimated copy, with the estimate', () => {
    expect(retentionWarning(3600, 1_000_000_000, 50_000, 'db1')).toMatch(/binlogs are kept 1\.0 h on db1, and the copy of 1,000,000,000 rows takes about 5\.6 h at 50,000 rows\/s; .* at least 11\.1 h/);
    expect(retentionWarning(7 * 86400, 1_000_000_000, 50_000, 'db1')).toBeUndefined();
    expect(retentionWarning(0, 1_000_000_000, 50_000, 'db1')).toBeUndefined(); // kept forever
  });
  it('points RDS and Aurora at their own retention setting', () => {
    expect(retentionWarning(7 * 86400, 1000, 50_000, 'orders.cluster-abc.eu-west-1.rds.amazonaws.com')).toMatch(/binlog retention hours/);
  });
});

describe('checkSourceSettings', () => {
  const maria = dialectOf('10.11.6-MariaDB');
  const answers = (settings: Record<string, unknown>, replica: unknown[] = []) => ({
    'SELECT @@GLOBAL.log_bin AS logBin, @@GLOBAL.binlog_format AS format, @@GLOBAL.binlog_row_image AS rowImage': [{ logBin: 1, format: 'ROW', rowImage: 'FULL' }],
    [settingsSql(maria)]: [settings],
    'SHOW REPLICA STATUS': replica,
  });
  it('returns how long binlogs are kept', async () => {
    await expect(checkSourceSettings(fakePool(answers({ compression: 0, replicaUpdates: 0, expireSeconds: 86400 })) as never, maria)).resolves.toEqual({ expireSeconds: 86400, warnings: [] });
  });
  it('warns, without refusing, when the user may not ask whether the server is a replica', async () => {
    const denied = Object.assign(new Error('Access denied; you need (at least one of) the SUPER, REPLICA MONITOR privilege(s)'), { code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR' });
    const out = await checkSourceSettings(fakePool({ ...answers({ compression: 0, replicaUpdates: 0, expireSeconds: 0 }), 'SHOW REPLICA STATUS': denied }) as never, maria);
    expect(out.warnings).toEqual([expect.stringMatching(/may not run SHOW REPLICA STATUS, so plan cannot tell whether the source is a replica: if it is, log_slave_updates must be ON/)]);
  });
  it('refuses a replica without log_slave_updates, naming it', async () => {
    await expect(checkSourceSettings(fakePool(answers({ compression: 0, replicaUpdates: 0, expireSeconds: 0 }, [{ Slave_IO_Running: 'Yes' }])) as never, maria)).rejects.toThrow(
      /the source's settings stop change capture: the source is a replica and log_slave_updates is OFF/,
    );
  });
  it('reads the position with the dialect statement only', async () => {
    const pool = fakePool({ 'SHOW BINARY LOG STATUS': [{ File: 'binlog.000002', Position: 4 }] });
    await expect(currentPosition(pool as never, dialectOf('8.4.0'))).resolves.toEqual({ file: 'binlog.000002', position: 4 });
    expect(pool.ran).toEqual(['SHOW BINARY LOG STATUS']);
  });
});

describe('serverIdentity', () => {
  const mariadb = dialectOf('10.11.6-MariaDB-0+deb12u1');
  const mysql = dialectOf('8.0.36');
  const aurora = dialectOf('8.0.mysql_aurora.3.05.2');

  it.each([
    ['MariaDB: server_id (it has no server_uuid)', mariadb, 'SELECT @@GLOBAL.server_id AS id', 7, 'server_id=7'],
    ['MySQL 8: server_uuid, lower case', mysql, 'SELECT @@GLOBAL.server_uuid AS id', '3E11FA47-71CA-11E1-9E33-C80AA9429562', 'server_uuid=3e11fa47-71ca-11e1-9e33-c80aa9429562'],
    ['Aurora MySQL 3: server_uuid', aurora, 'SELECT @@GLOBAL.server_uuid AS id', 'b2c9e0f4-0d1a-11ee-8f8f-0a1b2c3d4e5f', 'server_uuid=b2c9e0f4-0d1a-11ee-8f8f-0a1b2c3d4e5f'],
  ])('%s', async (_name, dialect, sql, value, identity) => {
    expect(serverIdentitySql(dialect)).toBe(sql);
    const pool = fakePool({ [sql]: [{ id: value }] });
    await expect(serverIdentity(pool as never, dialect)).resolves.toBe(identity);
    expect(pool.ran).toEqual([sql]);
  });

  it('detects the dialect first when not given', async () => {
    const pool = fakePool({ 'SELECT VERSION() AS v, @@version_comment AS c': [{ v: '8.4.2', c: 'MySQL Community Server - GPL' }], 'SELECT @@GLOBAL.server_uuid AS id': [{ id: 'aa' }] });
    await expect(serverIdentity(pool as never)).resolves.toBe('server_uuid=aa');
  });

  it.each([null, '', '  '])('refuses a server without one (%j), naming the statement', async (value) => {
    const pool = fakePool({ 'SELECT @@GLOBAL.server_id AS id': [{ id: value }] });
    await expect(serverIdentity(pool as never, mariadb)).rejects.toThrow(SchemaError);
    await expect(serverIdentity(pool as never, mariadb)).rejects.toThrow(/the server has no identity \(SELECT @@GLOBAL.server_id AS id returned .*\): give it a --server-id/);
    expect(serverIdentityOf(mariadb, value)).toBeUndefined();
  });
});
