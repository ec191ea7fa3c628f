/** The source layout: its config, physical tables, placement on servers, overlap with the target, and its segments. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bindingsOf, configSchema, formatIssues, parseConfig } from '../../lambdas/core/config.js';
import { captureServers, overlappingTables, placementOf, serverKey, sourceServers, sourceUnits } from '../../lambdas/core/source-layout.js';
import { rangeSiblings, unitSegments, type Segment } from '../../lambdas/core/segments.js';

const conn = (port: number) => ({ host: '127.0.0.1', port, user: 'root', password: '' });

function config(source: Record<string, unknown>, extra: Record<string, unknown> = {}, table: Record<string, unknown> = {}): unknown {
  return {
    migrationId: 'm',
    source,
    target: { connection: conn(4000), databases: 2, databasePattern: 'new_{db}' },
    tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2, ...table }],
    ...extra,
  };
}

const issuesOf = (raw: unknown): string[] => {
  const r = configSchema.safeParse(raw);
  return r.success ? [] : formatIssues(r.error);
};

describe('source config', () => {
  it('keeps the one-database source valid as it is', () => {
    const c = parseConfig(config({ ...conn(3306), database: 'shop' }));
    expect(sourceUnits(c.source, c.tables[0]!)).toEqual([{ index: 0, server: 0, database: 'shop', tableName: 'order_info', id: 'shop.order_info' }]);
    expect(sourceServers(c.source)).toHaveLength(1);
    expect(sourceServers(c.source)[0]).toMatchObject({ host: '127.0.0.1', port: 3306 });
  });

  it.each([
    ['neither database nor databasePattern', {}, {}, 'source.database: give either database (one source database) or databasePattern with databases (a sharded source)'],
    ['both', { database: 'a', databasePattern: 'a_{db}', databases: 2 }, {}, 'source.database: give either'],
    ['a pattern without a count', { databasePattern: 'a_{db}' }, {}, 'source.databases: databasePattern needs databases'],
    ['a pattern without {db}', { databasePattern: 'a', databases: 2 }, {}, 'source.databasePattern: must contain {db}'],
    ['placement of the wrong length', { databasePattern: 'a_{db}', databases: 3, connections: [conn(1), conn(2)], placement: [0, 1] }, {}, 'source.placement: has 2 entries but there are 3 source databases'],
    ['placement on a server that does not exist', { databasePattern: 'a_{db}', databases: 2, connections: [conn(1), conn(2)], placement: [0, 2] }, {}, 'source.placement.1: server 2 does not exist (connections has 2)'],
    ['more servers than databases and no placement', { databasePattern: 'a_{db}', databases: 2, connections: [conn(1), conn(2), conn(3)] }, {}, 'source.connections: 3 servers for 2 databases: give placement'],
    ['several physical tables per database without a pattern', { database: 'a' }, { sourceTablesPerDb: 4 }, 'tables.0.sourceTablesPerDb: more than one physical source table per database needs a sourceTable pattern with {table}'],
  ])('refuses %s', (_name, source, table, message) => {
    expect(issuesOf(config({ ...conn(3306), ...source }, {}, table)).join('\n')).toContain(message);
  });

});

describe('capture per source server', () => {
  it('captures on every server that holds a physical table, and on no other', () => {
    const c = parseConfig(config({ databasePattern: 'a_{db}', databases: 4, connections: [conn(1), conn(2), conn(3)], placement: [2, 0, 2, 0] }));
    expect(captureServers(c)).toEqual([0, 2]);
    expect(captureServers(parseConfig(config({ ...conn(3306), database: 'shop' })))).toEqual([0]);
  });
});

describe('placement of source databases on servers', () => {
  const placement = (dbs: number, servers: number, given?: number[]) =>
    placementOf(
      parseConfig(config({ databasePattern: 'a_{db}', databases: dbs, connections: Array.from({ length: servers }, (_, i) => conn(3000 + i)), ...(given ? { placement: given } : {}) })).source,
    );

  it.each([
    [8, 1, [0, 0, 0, 0, 0, 0, 0, 0]],
    [4, 4, [0, 1, 2, 3]],
    [8, 2, [0, 0, 0, 0, 1, 1, 1, 1]],
    [5, 2, [0, 0, 0, 1, 1]],
  ])('%i databases on %i servers by default: %j', (dbs, servers, want) => {
    expect(placement(dbs, servers)).toEqual(want);
  });

  it('takes the placement given', () => {
    expect(placement(4, 2, [1, 0, 1, 0])).toEqual([1, 0, 1, 0]);
  });

  it('lists every physical table once, in slot order, each on its database server', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), (dbs, perDb, servers) => {
        const c = parseConfig(
          config(
            { databasePattern: 'src_{db}', databases: dbs, connections: Array.from({ length: servers }, (_, i) => conn(3000 + i)), placement: Array.from({ length: dbs }, (_, i) => i % servers) },
            {},
            { sourceTable: 'oi_{table}', sourceTablesPerDb: perDb },
          ),
        );
        const units = sourceUnits(c.source, c.tables[0]!);
        expect(units).toHaveLength(dbs * perDb);
        expect(new Set(units.map((u) => u.id)).size).toBe(units.length);
        units.forEach((u, i) => {
          expect(u.index).toBe(i);
          expect(u.database).toBe(`src_${Math.floor(i / perDb)}`);
          expect(u.tableName).toBe(`oi_${i % perDb}`);
          expect(u.server).toBe(Math.floor(i / perDb) % servers);
        });
      }),
    );
  });
});

describe('overlap of the source and target layouts', () => {
  const overlap = (source: Record<string, unknown>, target: Record<string, unknown>): string[] => {
    const c = parseConfig({ ...(config(source, {}, { sourceTable: 'order_info_{table}' }) as Record<string, unknown>), target });
    return overlappingTables(c);
  };

  it('finds a physical source table that is also a target table on the same server', () => {
    expect(overlap({ ...conn(3306), databasePattern: 'db_{db}', databases: 2 }, { connection: { ...conn(3306), host: 'localhost' }, databases: 2, databasePattern: 'db_{db}' })).toEqual([
      'order_info: 127.0.0.1:3306 db_0.order_info_0',
      'order_info: 127.0.0.1:3306 db_1.order_info_0',
    ]);
  });

  it.each([
    ['another server', { connection: conn(3307), databases: 2, databasePattern: 'db_{db}' }],
    ['other database names', { connection: conn(3306), databases: 2, databasePattern: 'new_{db}' }],
  ])('none on %s', (_name, target) => {
    expect(overlap({ ...conn(3306), databasePattern: 'db_{db}', databases: 2 }, target)).toEqual([]);
  });

  it('names servers alike whatever the case of the host', () => {
    expect(serverKey({ host: 'DB.example.com', port: 1 })).toBe(serverKey({ host: 'db.example.com', port: 1 }));
  });
});

describe('segments of a sharded source', () => {
  const ranges: Segment[] = [
    { index: 0, lo: null, hi: '10' },
    { index: 1, lo: '10', hi: '20' },
    { index: 2, lo: '20', hi: null },
  ];

  it('gives every physical table the same key ranges, numbered table after table', () => {
    const s = unitSegments(ranges, 2);
    expect(s.map((x) => [x.index, x.source, x.lo, x.hi])).toEqual([
      [0, 0, null, '10'],
      [1, 0, '10', '20'],
      [2, 0, '20', null],
      [3, 1, null, '10'],
      [4, 1, '10', '20'],
      [5, 1, '20', null],
    ]);
  });

  it('finds the segments of one key range, the first physical table first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.nat(), (k, units, pick) => {
        const all = unitSegments(
          Array.from({ length: k }, (_, i) => ({ index: i, lo: null, hi: null })),
          units,
        );
        const seg = all[pick % all.length]!;
        const sib = rangeSiblings(seg.index, k, units);
        expect(sib).toHaveLength(units);
        expect(sib[0]).toBe(seg.index % k);
        expect(sib).toContain(seg.index);
        for (const i of sib) expect(i % k).toBe(seg.index % k);
      }),
    );
  });
});

describe('binding groups', () => {
  const table = (name: string, extra: Record<string, unknown> = {}) => ({ name, shardKeys: ['order_no', 'user_id'], targetTable: `${name}_{table}`, tablesPerDb: 4, ...extra });
  const withBindings = (bindings: unknown, items: Record<string, unknown> = {}) => ({
    migrationId: 'm',
    source: { ...conn(3306), database: 'shop' },
    target: { connection: conn(4000), databases: 2, databasePattern: 'new_{db}' },
    tables: [table('order_info'), table('order_item_detail', items), table('payment')],
    bindings,
  });

  it('accepts tables that route alike, and ranks them in the order listed', () => {
    const c = parseConfig(withBindings([['order_info', 'order_item_detail']]));
    expect([...bindingsOf(c)]).toEqual([
      ['order_info', { group: 'order_info', rank: 0 }],
      ['order_item_detail', { group: 'order_info', rank: 1 }],
    ]);
  });

  it.each([
    ['a table not in the migration', [['order_info', 'refund']], {}, 'bindings.0.1: refund is not a table of this migration'],
    ['a table in two groups', [['order_info', 'order_item_detail'], ['payment', 'order_item_detail']], {}, 'bindings.1.1: order_item_detail is already in binding group 0'],
    ['other shard keys', [['order_info', 'order_item_detail']], { shardKeys: ['user_id'] }, 'bindings.0.1: order_item_detail would route apart from order_info: shardKeys [user_id] differ from [order_no, user_id]'],
    ['another table count', [['order_info', 'order_item_detail']], { tablesPerDb: 8 }, 'bindings.0.1: order_item_detail would route apart from order_info: tablesPerDb 8 differs from 4'],
  ])('refuses %s', (_name, bindings, items, message) => {
    expect(issuesOf(withBindings(bindings, items)).join('\n')).toContain(message);
  });
});
