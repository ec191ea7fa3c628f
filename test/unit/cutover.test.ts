/** Cut-over precheck conditions and the routing file, from facts. */
import { describe, expect, it } from 'vitest';
import { routingFile, unmetConditions, type CutoverFacts } from '../../lambdas/core/cutover.js';
import { parseConfig } from '../../lambdas/core/config.js';

const ready: CutoverFacts = {
  tables: [{ table: 'order_info', copyDone: true, failedSegments: 0, unverifiedSegments: 0, dirtyRows: 0 }],
  servers: [{ name: 'db1:3306', lagSeconds: 0.4, caughtUp: false }],
  dead: 0,
  cdcEnabled: true,
  verifyEnabled: true,
};
const t0 = ready.tables[0]!;
const s0 = ready.servers[0]!;

describe('unmetConditions', () => {
  it.each<[string, Partial<CutoverFacts>, RegExp[]]>([
    ['everything holds', {}, []],
    ['copy not done and a segment failed', { tables: [{ ...t0, copyDone: false, failedSegments: 2 }] }, [/order_info: the copy is not DONE/, /order_info: 2 segment\(s\) FAILED/]],
    ['not verified, rows different', { tables: [{ ...t0, unverifiedSegments: 3, dirtyRows: 7 }] }, [/3 segment\(s\) not verified CLEAN or REPAIRED/, /7 row\(s\) found different/]],
    ['verification off: unverified segments are fine', { verifyEnabled: false, tables: [{ ...t0, unverifiedSegments: 3 }] }, []],
    ['lag over the limit', { servers: [{ ...s0, lagSeconds: 9.26 }] }, [/source db1:3306: CDC is 9\.3 s behind, over cutover\.maxLagSeconds 5/]],
    ['capture never caught up', { servers: [{ ...s0, lagSeconds: Infinity }] }, [/source db1:3306: CDC has not caught up with the source yet/]],
    ['a DDL pending', { servers: [{ ...s0, paused: 'capture of source server #0 is stopped at b.1:4, before: ALTER …' }] }, [/source db1:3306: capture of source server #0 is stopped/]],
    ['DLQ not empty', { dead: 2 }, [/^2 change message\(s\) in the DLQ/]],
    ['no CDC', { cdcEnabled: false, servers: [] }, [/cdc\.enabled is false/]],
  ])('%s', (_name, change, want) => {
    const got = unmetConditions({ ...ready, ...change }, 5);
    expect(got).toHaveLength(want.length);
    want.forEach((re, i) => expect(got[i]).toMatch(re));
  });
});

describe('routingFile', () => {
  it('names the new layout, its rule and each database, without passwords', () => {
    const config = parseConfig({
      migrationId: 'm1',
      source: { database: 'orders' },
      target: { connection: { host: 'shared', password: 'secret' }, connections: [{ host: 'a', port: 3307, password: 'x' }, { host: 'b', password: 'y' }], databases: 2, databasePattern: 'order_db_{db}' },
      tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 4 }],
      cdc: { enabled: true },
    });
    const r = routingFile(config, [{ server: 'db1:3306', position: { file: 'b.000001', position: 4 } }], Date.parse('2026-12-06T12:00:00Z'));
    expect(r).toEqual({
      migrationId: 'm1',
      switchedAt: '2026-12-06T12:00:00.000Z',
      frozenAt: [{ server: 'db1:3306', position: { file: 'b.000001', position: 4 } }],
      routing: config.routing,
      databases: [
        { index: 0, database: 'order_db_0', host: 'a', port: 3307 },
        { index: 1, database: 'order_db_1', host: 'b', port: 3306 },
      ],
      tables: [{ table: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 4 }],
    });
    expect(JSON.stringify(r)).not.toMatch(/secret|"x"|"y"/);
  });
});
