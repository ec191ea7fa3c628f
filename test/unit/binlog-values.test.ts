/** zongji row values converted to what a poolOptions pool reads, per column type (no server needed). */
import { describe, expect, it } from 'vitest';
import type { ColumnSchema, TableMapEntry, WriteRowsEvent } from '@vlasky/zongji';
import { changeEventsOf, converterFor, convertRow } from '../../lambdas/adapters/binlog/values.js';

/** A table map of one column `c` of MySQL wire type `type` declared as `columnType`. */
const tableOf = (type: number, columnType: string): TableMapEntry => ({
  parentSchema: 'db',
  tableName: 't',
  columns: [{ name: 'c', charset: null, type, metadata: {} }],
  columnSchemas: [{ COLUMN_NAME: 'c', COLLATION_NAME: null, CHARACTER_SET_NAME: null, COLUMN_COMMENT: '', COLUMN_TYPE: columnType } satisfies ColumnSchema],
});
const convert = (type: number, columnType: string, value: unknown) => convertRow({ c: value }, converterFor(tableOf(type, columnType))).c;

describe('converterFor / convertRow', () => {
  it.each<[string, number, string, unknown, unknown]>([
    ['BIGINT as text', 8, 'bigint(20)', 42, '42'],
    ['BIGINT beyond 2^53 as text', 8, 'bigint(20) unsigned', 18446744073709551615n, '18446744073709551615'],
    ['FLOAT with 6 significant digits', 4, 'float', 3.140000104904175, 3.14],
    ['FLOAT with its declared scale', 4, 'float(7,3)', 1.2345000505447388, 1.235],
    ['DOUBLE as it is', 5, 'double', 0.1 + 0.2, 0.1 + 0.2],
    ['DOUBLE with its declared scale', 5, 'double(10,2)', 1.005000001, 1.01],
    ['YEAR 0000 as 0', 13, 'year(4)', 1900, 0],
    ['another YEAR as it is', 13, 'year(4)', 2024, 2024],
    ['an ENUM value as it is', 247, "enum('a','b')", 'b', 'b'],
    ['an INT as it is', 3, 'int(11)', 7, 7],
    ['NULL as null', 8, 'bigint(20)', null, null],
  ])('%s', (_name, type, columnType, value, expected) => {
    expect(convert(type, columnType, value)).toStrictEqual(expected);
  });

  // zongji gives the empty (invalid) ENUM value as undefined; a pool reads ''.
  it('reads the empty ENUM value as the empty string, as a pool does', () => {
    expect(convert(247, "enum('a','b')", undefined)).toBe('');
  });

  it('copies a Buffer out of the packet', () => {
    const packet = Buffer.from('..abc..');
    const slice = packet.subarray(2, 5);
    const out = convert(252, 'blob', slice) as Buffer;
    packet.fill(0);
    expect(out).toEqual(Buffer.from('abc'));
  });

  it('leaves a column that was not decoded out of the row (undefined stays undefined)', () => {
    const row: Record<string, unknown> = { c: undefined };
    expect(convertRow(row, converterFor(tableOf(8, 'bigint(20)')))).toStrictEqual({ c: undefined });
  });
});

describe('changeEventsOf', () => {
  const position = { file: 'binlog.000001', position: 120 };
  const conv = converterFor(tableOf(8, 'bigint(20)'));
  const rowsEvent = (rows: unknown[]) => ({ rows, timestamp: 1_700_000_000_000 }) as unknown as WriteRowsEvent;

  it('numbers the rows of one rows event and gives each op its images', () => {
    expect(changeEventsOf(rowsEvent([{ c: 1 }, { c: 2 }]), 'insert', 't', position, conv)).toStrictEqual([
      { table: 't', op: 'insert', after: { c: '1' }, position, rowIndex: 0, timestamp: 1_700_000_000_000 },
      { table: 't', op: 'insert', after: { c: '2' }, position, rowIndex: 1, timestamp: 1_700_000_000_000 },
    ]);
    expect(changeEventsOf(rowsEvent([{ c: 3 }]), 'delete', 't', position, conv)).toStrictEqual([
      { table: 't', op: 'delete', before: { c: '3' }, position, rowIndex: 0, timestamp: 1_700_000_000_000 },
    ]);
    expect(changeEventsOf(rowsEvent([{ before: { c: 4 }, after: { c: 5 } }]), 'update', 't', position, conv)).toStrictEqual([
      { table: 't', op: 'update', before: { c: '4' }, after: { c: '5' }, position, rowIndex: 0, timestamp: 1_700_000_000_000 },
    ]);
  });
});
