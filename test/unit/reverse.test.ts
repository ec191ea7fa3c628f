/** Reverse replication's config: what `cutover.reverse` needs, and the reverse migration derived from a migration. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { configSchema, expand, formatIssues, parseConfig, type MigrationConfig } from '../../lambdas/core/config.js';
import { reverseMigrationId } from '../../lambdas/core/reverse-id.js';
import { isReverseGroup, REVERSE_GROUP_PREFIX, reverseConfig, reverseServerId } from '../../lambdas/core/reverse.js';
import { builtInRouters, TableRouter } from '../../lambdas/core/routing.js';
import { sourceServers, sourceUnits } from '../../lambdas/core/source-layout.js';

const conn = (port: number) => ({ host: '127.0.0.1', port, user: 'root', password: '' });

function config(over: { source?: Record<string, unknown>; target?: Record<string, unknown>; table?: Record<string, unknown>; cutover?: Record<string, unknown>; cdc?: Record<string, unknown>; migrationId?: string; routing?: Record<string, unknown> } = {}): unknown {
  return {
    migrationId: over.migrationId ?? 'orders',
    source: over.source ?? { ...conn(3306), database: 'shop' },
    target: over.target ?? { connection: conn(4000), databases: 2, databasePattern: 'new_{db}' },
    tables: [{ name: 'order_info', shardKeys: ['order_no'], versionColumn: 'update_time', window: undefined, targetTable: 'order_info_{table}', tablesPerDb: 2, ...over.table }],
    cdc: { enabled: true, serverId: 7001, ...over.cdc },
    cutover: { reverse: true, ...over.cutover },
    ...(over.routing ? { routing: over.routing } : {}),
  };
}

const issuesOf = (raw: unknown): string[] => {
  const r = configSchema.safeParse(raw);
  return r.success ? [] : formatIssues(r.error);
};

describe('cutover.reverse in the config', () => {
  it.each<[string, unknown, string]>([
    ['without CDC', config({ cdc: { enabled: false } }), 'cutover.reverse: reverse replication runs on change capture: set cdc.enabled'],
    ['a sharded source without its rule', config({ source: { ...conn(3306), databasePattern: 'old_{db}', databases: 2 } }), 'source.routing: cutover.reverse with a sharded source needs the rule that placed its rows'],
    ['several source tables per database without the rule', config({ table: { sourceTable: 'o_{table}', sourceTablesPerDb: 2 } }), 'source.routing: cutover.reverse with a sharded source'],
    ['a migration id too long for its reverse', config({ migrationId: 'm'.repeat(60) }), 'migrationId: with cutover.reverse at most 56 characters'],
  ])('refuses %s', (_name, raw, message) => {
    expect(issuesOf(raw).join('\n')).toContain(message);
  });

  it('lets a pattern that names one database or table leave out its placeholder, and no more', () => {
    expect(issuesOf(config({ target: { connection: conn(4000), databases: 1, databasePattern: 'merged' }, table: { targetTable: 'order_info', tablesPerDb: 1 } }))).toEqual([]);
    expect(issuesOf(config({ target: { connection: conn(4000), databases: 2, databasePattern: 'merged' } })).join('\n')).toContain('target.databasePattern: must contain {db} (it names 2 databases)');
    expect(issuesOf(config({ table: { targetTable: 'order_info', tablesPerDb: 2 } })).join('\n')).toContain('tables.0.targetTable: must contain {table} (it names 2 tables)');
  });
});

describe('the reverse migration', () => {
  it('reads the target layout and writes the one source table', () => {
    const c = parseConfig(config());
    const r = reverseConfig(c);
    expect(r.migrationId).toBe(reverseMigrationId('orders'));
    expect(r.migrationId).toBe('orders.reverse');
    expect(r.source).toMatchObject({ host: '127.0.0.1', port: 4000, databasePattern: 'new_{db}', databases: 2, routing: { algorithm: 'spread' } });
    expect(r.target).toMatchObject({ connection: { port: 3306 }, databases: 1, databasePattern: 'shop' });
    expect(r.tables[0]).toMatchObject({ name: 'order_info', sourceTable: 'order_info_{table}', sourceTablesPerDb: 2, targetTable: 'order_info', tablesPerDb: 1, versionColumn: 'update_time', shardKeys: ['order_no'] });
    expect(sourceUnits(r.source, r.tables[0]!).map((u) => u.id)).toEqual(['new_0.order_info_0', 'new_0.order_info_1', 'new_1.order_info_0', 'new_1.order_info_1']);
    expect(r.cdc.serverId).toBe(7003);
    expect(reverseServerId(c)).toBe(7003);
    expect(r.cutover.reverse).toBe(false);
  });

  it('captures each target server once, however many databases it holds', () => {
    const c = parseConfig(config({ target: { databases: 4, databasePattern: 'new_{db}', connections: [conn(4000), conn(4001), conn(4000), conn(4001)] } }));
    const r = reverseConfig(c);
    expect(sourceServers(r.source).map((s) => s.port)).toEqual([4000, 4001]);
    expect(r.source.placement).toEqual([0, 1, 0, 1]);
  });

  it('puts each old database back on its server', () => {
    const c = parseConfig(config({ source: { databasePattern: 'old_{db}', databases: 3, connections: [conn(3306), conn(3307)], placement: [1, 0, 1], routing: { algorithm: 'last3-mod' } } }));
    const r = reverseConfig(c);
    expect(r.target.connections!.map((x) => x.port)).toEqual([3307, 3306, 3307]);
    expect(r.routing.algorithm).toBe('last3-mod');
  });

  it('groups reverse changes apart', () => {
    expect(isReverseGroup(`${REVERSE_GROUP_PREFIX}new_0.order_info_1`)).toBe(true);
    expect(isReverseGroup('new_0.order_info_1')).toBe(false);
    expect(isReverseGroup(undefined)).toBe(false);
  });

  it('routes every row back to the old table its rule placed it in', () => {
    const algorithms = ['spread', 'last3-mod'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...algorithms),
        fc.constantFrom(...algorithms),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        (oldRule, newRule, oldDbs, oldTables, newDbs, newTables, key) => {
          const c: MigrationConfig = parseConfig(
            config({
              source: { ...conn(3306), databasePattern: 'old_{db}', databases: oldDbs, routing: { algorithm: oldRule } },
              table: { sourceTable: 'o_{table}', sourceTablesPerDb: oldTables, targetTable: 'n_{table}', tablesPerDb: newTables },
              target: { connection: conn(4000), databases: newDbs, databasePattern: 'new_{db}' },
              routing: { algorithm: newRule },
            }),
          );
          const row = { order_no: String(key) };
          const old = builtInRouters[oldRule](String(key), { databases: oldDbs, tablesPerDb: oldTables });
          const r = reverseConfig(c);
          const back = new TableRouter(r, r.tables[0]!, builtInRouters[r.routing.algorithm as 'spread' | 'last3-mod']).route(row);
          expect({ database: back.database, table: back.tableName }).toEqual({ database: expand('old_{db}', 'db', old.db), table: expand('o_{table}', 'table', old.table) });
          // And the row is read where the forward rule put it: one of the reverse source's physical tables.
          const now = new TableRouter(c, c.tables[0]!, builtInRouters[newRule]).route(row);
          expect(sourceUnits(r.source, r.tables[0]!).map((u) => u.id)).toContain(`${now.database}.${now.tableName}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
