/** What capture and `reshard status` say when a source endpoint reaches another server, and `--at FILE:POS`. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parsePositionArg, sourceChangedText, sourceChangeTodo } from '../../lambdas/core/source-change.js';
import { parseConfig } from '../../lambdas/core/config.js';

describe('parsePositionArg', () => {
  it.each([
    ['binlog.000042:1234', { file: 'binlog.000042', position: 1234 }],
    [' mysql-bin.000007:4 ', { file: 'mysql-bin.000007', position: 4 }],
    ['odd:name.000001:99', { file: 'odd:name.000001', position: 99 }],
  ])('%j is a position', (text, position) => {
    expect(parsePositionArg(text)).toEqual(position);
  });

  it.each(['binlog.000042', 'binlog.000042:', ':1234', 'binlog.000042:3', 'binlog.000042:-5', 'binlog.000042:12x', 'binlog.000042:99999999999999999999'])('%j is not', (text) => {
    expect(parsePositionArg(text)).toBeUndefined();
  });

  it('reads back any file and offset it was given', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((f) => f.trim() === f), fc.integer({ min: 4, max: Number.MAX_SAFE_INTEGER }), (file, position) => {
        expect(parsePositionArg(`${file}:${position}`)).toEqual({ file, position });
      }),
    );
  });
});

describe('sourceChangedText', () => {
  /** The source servers of a migration whose source is spread over `hosts` (port 3306 each). */
  const source = (...hosts: string[]) =>
    parseConfig({
      migrationId: 'm1',
      source: hosts.length > 1 ? { databases: hosts.length, databasePattern: 'src_{db}', connections: hosts.map((host) => ({ host, port: 3306 })) } : { host: hosts[0], port: 3306, database: 'src' },
      target: { databases: 2, databasePattern: 'order_db_{db}' },
      tables: [{ name: 'order_info', scrollKey: 'id', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
    }).source;
  const a = source('a');
  const change = { was: 'server_id=1', now: 'server_id=2', at: { file: 'binlog.000003', position: 5120 }, since: 0 };

  it('names the server, the held position, both identities and each way on', () => {
    const text = sourceChangedText(source('db-a', 'db-b'), 1, change);
    expect(text).toMatch(/^capture of source server #1 \(db-b:3306\) is stopped at binlog\.000003:5120: that position is in the binlog of server_id=1, but db-b:3306 now reaches server_id=2/);
    for (const way of ['--gtid', '--at FILE:POS', '--keep', '--now']) expect(text).toContain(`reshard capture-source accept --server 1 ${way}`);
    expect(text).toContain('reshard verify --repair');
  });

  it('says when the last change capture sent was written, where it has one', () => {
    expect(sourceChangedText(a, 0, { ...change, lastEventAt: Date.UTC(2026, 11, 7, 7, 1, 2) })).toContain(
      'another server\'s history. The last change capture sent before it was written at 2026-12-07T07:01:02.000Z (source time). To go on:',
    );
    expect(sourceChangedText(a, 0, change)).toContain("another server's history. To go on:");
    expect(sourceChangedText(a, 0, { ...change, gtid: '0-1-42' })).toContain("another server's history. Its GTID position is 0-1-42. To go on:");
  });

  it('says why cdc.onSourceChange gtid could not go on, where it tried', () => {
    expect(sourceChangedText(a, 0, { ...change, notFollowed: 'no GTID position' })).toMatch(/--repair` \(the changes in between are not captured\) \(cdc\.onSourceChange gtid could not go on: no GTID position\)$/);
  });

  it('names a target server and --reverse for reverse replication', () => {
    expect(sourceChangedText(source('new-a'), 0, change, true)).toMatch(/^capture of target server #0 /);
    expect(sourceChangeTodo(0, true)).toContain('reshard capture-source accept --server 0 --reverse --at FILE:POS');
  });
});
