import { describe, expect, it } from 'vitest';
import { parseDdl, type Ddl } from '../../lambdas/core/ddl.js';
import { createdColumns } from '../../lambdas/core/ddl-columns.js';
import { afterGhostDdl, ghostDdlOf, ghostName, ghostSwapOf, swapChange, withoutGhost, type Ghosts } from '../../lambdas/core/osc.js';

const ddl = (sql: string, db = 'shop'): Ddl => {
  const d = parseDdl(sql, db);
  if (!d) throw new Error(`not DDL: ${sql}`);
  return d;
};
const watched = new Set(['shop.orders']);

describe('ghostName', () => {
  it.each<[string, ReturnType<typeof ghostName>]>([
    ['_orders_gho', { of: 'orders', tool: 'gh-ost' }],
    ['_orders_new', { of: 'orders', tool: 'pt-online-schema-change' }],
    ['__orders_gho', { of: '_orders', tool: 'gh-ost' }],
    ['_order_info_gho', { of: 'order_info', tool: 'gh-ost' }],
    ['_orders_ghc', undefined],
    ['_orders_del', undefined],
    ['orders_gho', undefined],
    ['_gho', undefined],
  ])('%s', (name, expected) => {
    expect(ghostName(name)).toEqual(expected);
  });
});

describe('ghostDdlOf', () => {
  it.each<[string, string, ReturnType<typeof ghostDdlOf>]>([
    ['gh-ost creates its ghost', 'create /* gh-ost */ table `shop`.`_orders_gho` like `shop`.`orders`', { ghost: 'shop._orders_gho', of: 'shop.orders', tool: 'gh-ost' }],
    ['and alters it (default database)', 'alter /* gh-ost */ table _orders_gho add column c int', { ghost: 'shop._orders_gho', of: 'shop.orders', tool: 'gh-ost' }],
    ['pt-osc drops it', 'DROP TABLE IF EXISTS `shop`.`_orders_new`', { ghost: 'shop._orders_new', of: 'shop.orders', tool: 'pt-online-schema-change' }],
    ['the ghost of a table not read', 'CREATE TABLE `shop`.`_users_gho` LIKE `shop`.`users`', undefined],
    ['a ghost in another database', 'CREATE TABLE `other`.`_orders_gho` LIKE `other`.`orders`', undefined],
    ['gh-ost changelog table', 'create table `shop`.`_orders_ghc` (id int)', undefined],
    ['a RENAME is not a ghost DDL', 'RENAME TABLE `shop`.`x` TO `shop`.`_orders_gho`', undefined],
    ['an index on the ghost', 'CREATE INDEX ix ON `shop`.`_orders_gho` (c)', undefined],
  ])('%s', (_name, sql, expected) => {
    expect(ghostDdlOf(ddl(sql), watched)).toEqual(expected);
  });
});

describe('createdColumns', () => {
  it.each<[string, string[] | undefined]>([
    ['CREATE TABLE t (id BIGINT NOT NULL, `order no` VARCHAR(20), PRIMARY KEY (id), KEY ix (`order no`), CONSTRAINT c CHECK (id > 0))', ['id', 'order no']],
    ["CREATE TABLE t (a DECIMAL(10,2) DEFAULT (1 + 2), b ENUM('x','y'), UNIQUE KEY u (a, b), FULLTEXT f (b))", ['a', 'b']],
    ['CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `remark` varchar(200) DEFAULT NULL COMMENT \'a, b\',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB', ['id', 'remark']],
    ['CREATE TABLE t LIKE s', undefined],
    ['CREATE TABLE t (LIKE s)', undefined],
    ['CREATE TABLE t SELECT * FROM s', undefined],
  ])('%s', (sql, expected) => {
    expect(createdColumns(ddl(sql))).toEqual(expected);
  });
});

describe('afterGhostDdl', () => {
  it('starts a ghost at its CREATE, keeps its ALTERs in order, and forgets it at its DROP', () => {
    let g: Ghosts = {};
    g = afterGhostDdl(g, ddl('create table _orders_gho like orders'), 'shop', watched);
    expect(g).toEqual({ 'shop._orders_gho': { of: 'shop.orders', tool: 'gh-ost', alters: [] } });
    g = afterGhostDdl(g, ddl('alter table _orders_gho add column a int'), 'shop', watched);
    g = afterGhostDdl(g, ddl('alter table `shop`.`_orders_gho` drop column b'), 'other', watched);
    expect(g['shop._orders_gho']!.alters).toEqual([
      { statement: 'alter table _orders_gho add column a int', schema: 'shop' },
      { statement: 'alter table `shop`.`_orders_gho` drop column b', schema: 'other' },
    ]);
    // A CREATE again starts over (gh-ost run again after an abort).
    g = afterGhostDdl(g, ddl('CREATE TABLE `shop`.`_orders_gho` (id INT, c INT, PRIMARY KEY (id))'), 'shop', watched);
    expect(g['shop._orders_gho']).toEqual({ of: 'shop.orders', tool: 'gh-ost', columns: ['id', 'c'], alters: [] });
    expect(afterGhostDdl(g, ddl('drop table _orders_gho'), 'shop', watched)).toEqual({});
  });

  it('an ALTER of a ghost it did not see created is not kept (what it was created with is unknown)', () => {
    expect(afterGhostDdl({}, ddl('alter table _orders_gho add column a int'), 'shop', watched)).toEqual({});
  });

  it('leaves other statements and the input alone', () => {
    const g: Ghosts = { 'shop._orders_new': { of: 'shop.orders', tool: 'pt-online-schema-change', alters: [] } };
    expect(afterGhostDdl(g, ddl('alter table users add column a int'), 'shop', watched)).toEqual(g);
    expect(withoutGhost(g, 'shop._orders_new')).toEqual({});
    expect(g['shop._orders_new']).toBeDefined();
  });
});

describe('ghostSwapOf', () => {
  it.each<[string, string, ReturnType<typeof ghostSwapOf>]>([
    ['gh-ost', 'rename /* gh-ost */ table `shop`.`orders` to `shop`.`_orders_del`, `shop`.`_orders_gho` to `shop`.`orders`', { table: 'shop.orders', ghost: 'shop._orders_gho', old: 'shop._orders_del' }],
    ['pt-osc, unqualified', 'RENAME TABLE orders TO _orders_old, _orders_new TO orders', { table: 'shop.orders', ghost: 'shop._orders_new', old: 'shop._orders_old' }],
    ['ALTER … RENAME', 'ALTER TABLE orders RENAME TO orders_2024', undefined],
    ['one pair', 'RENAME TABLE orders TO orders_old', undefined],
    ['a ghost of another table', 'RENAME TABLE orders TO _orders_old, _users_new TO orders', undefined],
    ['the ghost from another database', 'RENAME TABLE shop.orders TO shop._orders_old, other._orders_new TO shop.orders', undefined],
    ['pairs in the order that cannot run', 'RENAME TABLE _orders_gho TO orders, orders TO _orders_del', undefined],
  ])('%s', (_name, sql, expected) => {
    expect(ghostSwapOf(ddl(sql))).toEqual(expected);
  });
});

describe('swapChange', () => {
  const swap = { table: 'shop.orders', ghost: 'shop._orders_gho', old: 'shop._orders_del' };
  const alter = { statement: 'ALTER TABLE _orders_gho ADD COLUMN c INT', schema: 'shop' };
  const index = { statement: 'ALTER TABLE _orders_gho ADD INDEX ix (b)', schema: 'shop' };

  it.each<[string, Ghosts, ReturnType<typeof swapChange>]>([
    ['the ghost ALTERs, which change columns', { 'shop._orders_gho': { of: 'shop.orders', tool: 'gh-ost', alters: [index, alter] } }, { ghost: 'shop._orders_gho', tool: 'gh-ost', alters: [index, alter], changesColumns: true }],
    ['an index only', { 'shop._orders_gho': { of: 'shop.orders', tool: 'gh-ost', alters: [index] } }, { ghost: 'shop._orders_gho', tool: 'gh-ost', alters: [index], changesColumns: false }],
    ['created with the same columns (any case)', { 'shop._orders_gho': { of: 'shop.orders', tool: 'gh-ost', columns: ['ID', 'b'], alters: [] } }, { ghost: 'shop._orders_gho', tool: 'gh-ost', alters: [], changesColumns: false }],
    ['a ghost not seen created', {}, { why: 'capture did not read the creation of shop._orders_gho, so it does not know what changed in it' }],
    ['created with other columns', { 'shop._orders_gho': { of: 'shop.orders', tool: 'gh-ost', columns: ['id'], alters: [] } }, { why: 'shop._orders_gho was created with other columns (id) than shop.orders had (id, b)' }],
  ])('%s', (_name, ghosts, expected) => {
    expect(swapChange(swap, ghosts, ['id', 'b'])).toEqual(expected);
  });
});
