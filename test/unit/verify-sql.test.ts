import { describe, expect, it } from 'vitest';
import { CRC_COLUMN, edgeSql, keyedCrcSql, ONCE, rangeWhere, rowsSql, sumsSql, type RangeTable } from '../../lambdas/core/verify-sql.js';

describe('rangeWhere', () => {
  it.each<[string, RangeTable, unknown[] | null, unknown[] | null, string, unknown[]]>([
    ['open range', { scrollKey: ['id'] }, null, null, '1=1', []],
    ['lower end only', { scrollKey: ['id'] }, [5n], null, '`id` > ?', [5n]],
    ['upper end only', { scrollKey: ['id'] }, null, [9n], '`id` <= ?', [9n]],
    ['both ends', { scrollKey: ['id'] }, [5n], [9n], '`id` > ? AND `id` <= ?', [5n, 9n]],
    ['string keys bound as they are', { scrollKey: ['order_no'] }, ['A-1'], ['B-2'], '`order_no` > ? AND `order_no` <= ?', ['A-1', 'B-2']],
    ['identifier escaped', { scrollKey: ['we`ird'] }, [1], null, '`we``ird` > ?', [1]],
    [
      'time window after the key range',
      { scrollKey: ['id'], timeColumn: 'created', window: { from: '2026-01-01', to: '2026-02-01T00:00:00Z' } },
      [1n],
      [2n],
      '`id` > ? AND `id` <= ? AND `created` >= ? AND `created` < ?',
      [1n, 2n, '2026-01-01 00:00:00', '2026-02-01 00:00:00.000'],
    ],
    ['window alone', { scrollKey: ['id'], timeColumn: 'created', window: { to: '2026-02-01' } }, null, null, '`created` < ?', ['2026-02-01 00:00:00']],
    ['window without a time column is ignored', { scrollKey: ['id'], window: { from: '2026-01-01' } }, null, null, '1=1', []],
    [
      'a composite key, expanded column by column',
      { scrollKey: ['order_id', 'line_no'] },
      [7n, 2n],
      [9n, 1n],
      '(`order_id` > ? OR (`order_id` = ? AND `line_no` > ?)) AND (`order_id` < ? OR (`order_id` = ? AND `line_no` <= ?))',
      [7n, 7n, 2n, 9n, 9n, 1n],
    ],
    [
      'three columns',
      { scrollKey: ['a', 'b', 'c'] },
      [1, 2, 3],
      null,
      '(`a` > ? OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?))',
      [1, 1, 2, 1, 2, 3],
    ],
  ])('%s', (_name, table, lo, hi, where, params) => {
    expect(rangeWhere(table, lo, hi)).toEqual({ where, params });
  });
});

describe('sumsSql', () => {
  const crc = 'CRC32(`a`)';
  it.each<[string, string | undefined, string]>([
    ['count, BIT_XOR and SUM of the CRC evaluated once per row', undefined, `SELECT COUNT(*) AS n, BIT_XOR(c) AS x, SUM(c) AS s FROM (SELECT ${crc} AS c FROM \`db\`.\`t\` WHERE \`id\` > ? ${ONCE}) d`],
    [
      'with the rows not proven in place',
      'IF(x, 0, 1)',
      `SELECT COUNT(*) AS n, BIT_XOR(c) AS x, SUM(c) AS s, SUM(p) AS off FROM (SELECT ${crc} AS c, IF(x, 0, 1) AS p FROM \`db\`.\`t\` WHERE \`id\` > ? ${ONCE}) d`,
    ],
  ])('%s', (_name, notProven, sql) => {
    expect(sumsSql({ database: 'db', table: 't', crc, where: '`id` > ?', notProven })).toBe(sql);
  });

  it('materializes the derived table with the largest LIMIT', () => {
    expect(ONCE).toBe('LIMIT 18446744073709551615');
  });
});

describe('row and key reads', () => {
  it.each<[string, string, string]>([
    ['edge: the n-th key, index only', edgeSql({ database: 'db', table: 't', scrollKey: ['id'], where: '`id` > ?', rows: 500 }), 'SELECT `id` FROM `db`.`t` WHERE `id` > ? ORDER BY `id` LIMIT 1 OFFSET 499'],
    [
      'edge of a composite key: its columns in order',
      edgeSql({ database: 'db', table: 't', scrollKey: ['order_id', 'line_no'], where: '1=1', rows: 10 }),
      'SELECT `order_id`, `line_no` FROM `db`.`t` WHERE 1=1 ORDER BY `order_id`, `line_no` LIMIT 1 OFFSET 9',
    ],
    ['edge of one row', edgeSql({ database: 'db', table: 't', scrollKey: ['id'], where: '1=1', rows: 1 }), 'SELECT `id` FROM `db`.`t` WHERE 1=1 ORDER BY `id` LIMIT 1 OFFSET 0'],
    [
      'keys then CRC',
      keyedCrcSql({ database: 'db', table: 't', columns: ['id', 'user_id'], crc: 'CRC32(x)', where: '1=1' }),
      'SELECT `id`, `user_id`, CRC32(x) AS c FROM `db`.`t` WHERE 1=1',
    ],
    ['rows as selectList reads them', rowsSql({ database: 'db', table: 't', columns: ['id', 'f'], readKinds: { f: 'float-single' }, where: '`id` IN (?)' }), 'SELECT `id`, (`f` + 0e0) AS `f` FROM `db`.`t` WHERE `id` IN (?)'],
    ['rows with their CRC', rowsSql({ database: 'db', table: 't', columns: ['id'], where: '1=1', crc: 'CRC32(x)' }), 'SELECT `id`, CRC32(x) AS `reshard crc` FROM `db`.`t` WHERE 1=1'],
  ])('%s', (_name, actual, sql) => {
    expect(actual).toBe(sql);
  });

  it('names the CRC column so no validated identifier can collide with it', () => {
    expect(CRC_COLUMN).toMatch(/\s/);
  });
});
