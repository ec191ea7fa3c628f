import { describe, expect, it } from 'vitest';
import { COLUMNS_SQL, rowAfterSql, rowsPerDaySql, sampleSql, scrollIndexExplainSql, showCreateTableSql, tableChecksumSql } from '../../lambdas/core/sql-source.js';
import { createDatabaseSql, loadValuesSql, stageTableSql, targetDdl, upsertFromStageSql } from '../../lambdas/core/sql-target.js';
import { applyUpsertSql, deleteByKeysSql, selectByKeysSql } from '../../lambdas/core/sql.js';
import { idOf, tableId } from '../../lambdas/core/table-id.js';

describe('targetDdl', () => {
  const source = [
    'CREATE TABLE `order_info` (',
    '  `id` bigint(20) NOT NULL AUTO_INCREMENT,',
    '  `note` varchar(20) DEFAULT \'AUTO_INCREMENT=5\',',
    '  PRIMARY KEY (`id`)',
    ') ENGINE=InnoDB AUTO_INCREMENT=1001 DEFAULT CHARSET=utf8mb4',
  ].join('\n');

  it('renames the table into the target database, adds IF NOT EXISTS and drops the AUTO_INCREMENT counter only', () => {
    expect(targetDdl(source, 'db_3', 'order_info_7')).toBe(
      [
        'CREATE TABLE IF NOT EXISTS `db_3`.`order_info_7` (',
        '  `id` bigint(20) NOT NULL AUTO_INCREMENT,',
        '  `note` varchar(20) DEFAULT \'AUTO_INCREMENT=5\',',
        '  PRIMARY KEY (`id`)',
        ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
      ].join('\n'),
    );
  });

  it('replaces a source name holding escaped backticks whole, and escapes the new names', () => {
    expect(targetDdl('CREATE TABLE `we``ird` (\n  `a` int\n)', 'd`b', 't')).toBe('CREATE TABLE IF NOT EXISTS `d``b`.`t` (\n  `a` int\n)');
  });

  it('leaves a definition without a counter as it is, apart from the name', () => {
    expect(targetDdl('CREATE TABLE `x` (`a` int) ENGINE=InnoDB', 'd', 'y')).toBe('CREATE TABLE IF NOT EXISTS `d`.`y` (`a` int) ENGINE=InnoDB');
  });
});

describe('target SQL', () => {
  it('creates a database in utf8mb4', () => {
    expect(createDatabaseSql('db_0')).toBe('CREATE DATABASE IF NOT EXISTS `db_0` CHARACTER SET utf8mb4');
  });

  it('loads a values file: tab-separated, backslash escapes, newline per row, the columns in order', () => {
    expect(loadValuesSql('d', 't', ['id', 'na`me'])).toBe(
      "LOAD DATA LOCAL INFILE 'reshard-page.tsv' INTO TABLE `d`.`t` CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`id`, `na``me`)",
    );
  });

  it('stages lines in a temporary copy of the target and upserts from it with the qualified guard', () => {
    expect(stageTableSql('d', 't', '__s')).toEqual({ drop: 'DROP TEMPORARY TABLE IF EXISTS `d`.`__s`', create: 'CREATE TEMPORARY TABLE `d`.`__s` LIKE `d`.`t`' });
    expect(upsertFromStageSql({ database: 'd', table: 't', columns: ['id', 'v'], recordKey: ['id'] }, '__s')).toBe(
      'INSERT INTO `d`.`t` (`id`, `v`) SELECT `id`, `v` FROM `d`.`__s` ON DUPLICATE KEY UPDATE `d`.`t`.`id` = `d`.`t`.`id`',
    );
    expect(upsertFromStageSql({ database: 'd', table: 't', columns: ['id', 'v', 'ver'], recordKey: ['id'], versionColumn: 'ver' }, '__s')).toContain(
      '`d`.`t`.`ver` = IF((VALUES(`ver`) IS NOT NULL AND (`d`.`t`.`ver` IS NULL OR VALUES(`ver`) > `d`.`t`.`ver`)), VALUES(`ver`), `d`.`t`.`ver`)',
    );
  });

  it('deletes and selects by record keys, single and composite', () => {
    expect(deleteByKeysSql({ database: 'd', table: 't', recordKey: ['id'], count: 3 })).toBe('DELETE FROM `d`.`t` WHERE `id` IN (?, ?, ?)');
    expect(deleteByKeysSql({ database: 'd', table: 't', recordKey: ['a', 'b'], count: 2 })).toBe('DELETE FROM `d`.`t` WHERE (`a`, `b`) IN ((?, ?), (?, ?))');
    expect(selectByKeysSql({ database: 'd', table: 't', columns: ['id', 'f'], recordKey: ['id'], count: 1, kinds: { f: 'float-single' } })).toBe('SELECT `id`, (`f` + 0e0) AS `f` FROM `d`.`t` WHERE `id` IN (?)');
  });

  it('apply upsert: the image wins without a version column; with one, the version is assigned first and guards the rest', () => {
    expect(applyUpsertSql({ database: 'd', table: 't', columns: ['id', 'v'], recordKey: ['id'] })).toBe('INSERT INTO `d`.`t` (`id`, `v`) VALUES ? ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)');
    expect(applyUpsertSql({ database: 'd', table: 't', columns: ['id'], recordKey: ['id'] })).toBe('INSERT INTO `d`.`t` (`id`) VALUES ? ON DUPLICATE KEY UPDATE `id` = `id`');
    const v = applyUpsertSql({ database: 'd', table: 't', columns: ['id', 'v', 'ver'], recordKey: ['id'], versionColumn: 'ver' });
    expect(v).toBe(
      'INSERT INTO `d`.`t` (`id`, `v`, `ver`) VALUES ? ON DUPLICATE KEY UPDATE `ver` = IF((`ver` IS NULL OR VALUES(`ver`) IS NOT NULL AND VALUES(`ver`) >= `ver`), VALUES(`ver`), `ver`), `v` = IF(`ver` <=> VALUES(`ver`), VALUES(`v`), `v`)',
    );
  });
});

describe('source SQL', () => {
  it('counts all rows without a time column, binding nothing', () => {
    expect(rowsPerDaySql({ database: 'd', table: 't' })).toEqual({ sql: 'SELECT COUNT(*) AS n FROM `d`.`t`', params: [] });
  });

  it('counts rows per day of the time column, within the window (bound, as MySQL times)', () => {
    expect(rowsPerDaySql({ database: 'd', table: 't', timeColumn: 'at' })).toEqual({
      sql: "SELECT DATE_FORMAT(d, '%Y-%m-%d') AS day, n FROM (SELECT DATE(`at`) AS d, COUNT(*) AS n FROM `d`.`t` GROUP BY d) AS per_day ORDER BY d",
      params: [],
    });
    expect(rowsPerDaySql({ database: 'd', table: 't', timeColumn: 'at', window: { from: '2026-01-01', to: '2026-02-01T00:00:00Z' } })).toEqual({
      sql: "SELECT DATE_FORMAT(d, '%Y-%m-%d') AS day, n FROM (SELECT DATE(`at`) AS d, COUNT(*) AS n FROM `d`.`t` WHERE `at` >= ? AND `at` < ? GROUP BY d) AS per_day ORDER BY d",
      params: ['2026-01-01 00:00:00', '2026-02-01 00:00:00.000'],
    });
  });

  it('samples by a hash of the scroll key (step bound), selecting each key column once, and reads MIN and MAX', () => {
    expect(sampleSql({ database: 'd', table: 't', scrollKey: ['id'], shardKeys: ['user_id', 'id'] })).toEqual({
      sample: 'SELECT `id`, `user_id` FROM `d`.`t` WHERE MOD(CRC32(`id`), ?) = 0 ORDER BY `id`',
      ends: 'SELECT MIN(`id`) AS lo, MAX(`id`) AS hi FROM `d`.`t`',
    });
  });

  it('samples a composite key by a hash of its columns, and reads its least and greatest key as rows', () => {
    expect(sampleSql({ database: 'd', table: 't', scrollKey: ['order_id', 'line_no'], shardKeys: ['user_id', 'order_id'] })).toEqual({
      sample: "SELECT `order_id`, `line_no`, `user_id` FROM `d`.`t` WHERE MOD(CRC32(CONCAT_WS(',', `order_id`, `line_no`)), ?) = 0 ORDER BY `order_id`, `line_no`",
      ends: '(SELECT `order_id`, `line_no` FROM `d`.`t` ORDER BY `order_id`, `line_no` LIMIT 1) UNION ALL (SELECT `order_id`, `line_no` FROM `d`.`t` ORDER BY `order_id` DESC, `line_no` DESC LIMIT 1)',
    });
    expect(scrollIndexExplainSql('d', 't', ['order_id', 'line_no'])).toBe('EXPLAIN SELECT `order_id`, `line_no` FROM `d`.`t` WHERE `order_id` > 0 ORDER BY `order_id`, `line_no` LIMIT 100');
    expect(rowAfterSql({ database: 'd', table: 't', scrollKey: ['a', 'b'], after: [1n, 'x'] })).toEqual({ sql: 'SELECT 1 FROM `d`.`t` WHERE (`a` > ? OR (`a` = ? AND `b` > ?)) LIMIT 1', params: [1n, 1n, 'x'] });
  });

  it('looks for one row beyond a cursor, within the window', () => {
    expect(rowAfterSql({ database: 'd', table: 't', scrollKey: ['id'], after: [42n] })).toEqual({ sql: 'SELECT 1 FROM `d`.`t` WHERE `id` > ? LIMIT 1', params: [42n] });
    expect(rowAfterSql({ database: 'd', table: 't', scrollKey: ['id'], after: ['k'], timeColumn: 'at', window: { to: '2026-03-01' } })).toEqual({
      sql: 'SELECT 1 FROM `d`.`t` WHERE `id` > ? AND `at` < ? LIMIT 1',
      params: ['k', '2026-03-01 00:00:00'],
    });
  });

  it('reads a table\'s columns (schema and table bound) and its definition', () => {
    expect(COLUMNS_SQL).toMatch(/FROM information_schema\.COLUMNS WHERE TABLE_SCHEMA = \? AND TABLE_NAME = \? ORDER BY ORDINAL_POSITION$/);
    expect(showCreateTableSql('d', 't`x')).toBe('SHOW CREATE TABLE `d`.`t``x`');
  });

  it('explains a keyset scroll on the key', () => {
    expect(scrollIndexExplainSql('d', 't', ['id'])).toBe('EXPLAIN SELECT `id` FROM `d`.`t` WHERE `id` > 0 ORDER BY `id` LIMIT 100');
  });

  it('checksums a table, optionally filtered', () => {
    expect(tableChecksumSql({ database: 'd', table: 't', columns: ['id'], readKinds: { id: 'plain' } })).toBe(
      "SELECT COUNT(*) AS n, BIT_XOR(CRC32(CONCAT_WS(X'FF', IFNULL(`id`, 'n')))) AS x, SUM(CRC32(CONCAT_WS(X'FF', IFNULL(`id`, 'n')))) AS s FROM `d`.`t`",
    );
    expect(tableChecksumSql({ database: 'd', table: 't', columns: ['id'], where: '`id` > ?' })).toMatch(/ FROM `d`\.`t` WHERE `id` > \?$/);
  });
});

describe('table ids', () => {
  it('name a table database.table', () => {
    expect(tableId('db_1', 'orders_2')).toBe('db_1.orders_2');
    expect(idOf({ database: 'db_1', tableName: 'orders_2' })).toBe('db_1.orders_2');
  });
});
