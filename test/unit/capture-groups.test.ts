/** The FIFO group capture gives each change event (`cdc.messageGroup`), on a config alone. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config.js';
import { groupOf } from '../../lambdas/app/capture.js';
import { routerFor, tableConfig, type AppContext } from '../../lambdas/app/context.js';
import type { ChangeEvent } from '../../lambdas/core/events/model.js';
import { spread } from '../../lambdas/core/routing.js';

const config = (messageGroup: 'target' | 'shardKey') =>
  parseConfig({
    migrationId: 'm1',
    source: { database: 'src' },
    target: { databases: 4, databasePattern: 'order_db_{db}' },
    tables: [{ name: 'order_info', scrollKey: 'id', shardKeys: ['order_no', 'user_id'], targetTable: 'order_info_{table}', tablesPerDb: 8 }],
    cdc: { enabled: true, serverId: 77, messageGroup },
  });
const ctxOf = (messageGroup: 'target' | 'shardKey') => ({ config: config(messageGroup), routeFn: spread }) as unknown as AppContext;
const event = (image: Record<string, unknown>, op: ChangeEvent['op'] = 'insert', table = 'order_info'): ChangeEvent => ({
  table,
  op,
  ...(op === 'delete' ? { before: image } : { after: image }),
  position: { file: 'binlog.000001', position: 4 },
  rowIndex: 0,
  timestamp: 0,
});

describe('groupOf', () => {
  it('by target: the routed table as db.table, the same string for every row routed there', () => {
    const ctx = ctxOf('target');
    const group = groupOf(ctx);
    const router = routerFor(ctx, tableConfig(ctx, 'order_info'));
    for (let i = 0; i < 200; i++) {
      const row = { id: i, order_no: `2026${String(i * 7919).padStart(8, '0')}`, user_id: i };
      const t = router.route(row);
      expect(group(event(row, i % 3 === 0 ? 'delete' : 'insert'))).toBe(`${t.database}.${t.tableName}`);
    }
    const a = group(event({ id: 1, order_no: '20260000042', user_id: 1 }));
    expect(group(event({ id: 2, order_no: '20260000042', user_id: 2 }))).toBe(a);
  });

  it('by shard key: the key text (first non-empty shard key column)', () => {
    const group = groupOf(ctxOf('shardKey'));
    expect(group(event({ id: 1, order_no: ' 123 ', user_id: 9 }))).toBe('123');
    expect(group(event({ id: 1, order_no: null, user_id: 9 }))).toBe('9');
  });

  it('an unroutable row travels in a group of its own, named by its record key; an unknown table is an error', () => {
    for (const mode of ['target', 'shardKey'] as const) {
      const group = groupOf(ctxOf(mode));
      expect(group(event({ id: 5, order_no: null, user_id: null }))).toBe('order_info#5');
      expect(group(event({ id: 6, order_no: '', user_id: null }, 'delete'))).toBe('order_info#6');
      expect(() => group(event({ id: 1, order_no: '1', user_id: 1 }, 'insert', 'nope'))).toThrow(/table nope is not in the migration config/);
    }
  });
});

describe('groupOf a binding group', () => {
  const bound = parseConfig({
    ...config('target'),
    tables: [
      { name: 'order_info', scrollKey: 'id', shardKeys: ['order_no', 'user_id'], targetTable: 'order_info_{table}', tablesPerDb: 8 },
      { name: 'order_item_detail', scrollKey: 'id', shardKeys: ['order_no', 'user_id'], targetTable: 'order_item_detail_{table}', tablesPerDb: 8 },
      { name: 'payment', scrollKey: 'id', shardKeys: ['order_no', 'user_id'], targetTable: 'payment_{table}', tablesPerDb: 8 },
    ],
    bindings: [['order_info', 'order_item_detail']],
  });
  const ctx = { config: bound, routeFn: spread } as unknown as AppContext;

  it('puts an order and its items in one group per target index; an unbound table keeps its own', () => {
    const group = groupOf(ctx);
    for (let i = 0; i < 100; i++) {
      const no = `2026${String(i * 7919).padStart(8, '0')}`;
      const t = routerFor(ctx, tableConfig(ctx, 'order_info')).route({ order_no: no });
      const order = group(event({ id: i, order_no: no, user_id: 1 }));
      expect(order).toBe(`order_info+${t.db}.${t.table}`);
      expect(group(event({ id: 5000 + i, order_no: no, user_id: 1 }, 'insert', 'order_item_detail'))).toBe(order);
      expect(group(event({ id: 9000 + i, order_no: no, user_id: 1 }, 'delete', 'order_item_detail'))).toBe(order);
      expect(group(event({ id: i, order_no: no, user_id: 1 }, 'insert', 'payment'))).toBe(`${t.database}.payment_${t.table}`);
    }
  });
});
