/**
 * Row values from zongji converted to what `poolOptions` (lambdas/adapters/mysql.ts) reads for the same row
 * from a session in UTC (`createPool`): DATETIME / TIMESTAMP / DATE / TIME as text with the column's
 * fractional digits (TIMESTAMP in UTC), DECIMAL as exact text, BIGINT (signed or not) always as text, other
 * integers as numbers, JSON as its text, BLOB / BINARY / VARBINARY / BIT as a Buffer (copied out of the
 * packet), NULL as null, text columns decoded in their charset (utf8mb4 included), FLOAT as the server prints
 * it (6 significant digits, or the declared scale), YEAR 0000 as 0. Most of that is the connection options
 * (`connectionOptions` in stream.ts); the rest is fixed here per column.
 * The empty (invalid) ENUM value, which zongji gives as undefined, becomes '' as a pool reads it.
 */
import type { TableMapEntry, UpdateRowsEvent, WriteRowsEvent } from '@vlasky/zongji';
import type { BinlogPosition } from '../../core/position.js';
import type { ChangeEvent, ChangeOp } from '../../core/events/model.js';
import type { Row } from '../../core/model.js';

const T = { VARCHAR: 15, BIT: 16, FLOAT: 4, DOUBLE: 5, LONGLONG: 8, YEAR: 13, ENUM: 247, VAR_STRING: 253, STRING: 254 } as const;
/** Wire types whose values may be Buffers (binary strings, BLOBs, BIT, MariaDB COMPRESSED columns). */
const BUFFER_TYPES = new Set<number>([T.VARCHAR, T.BIT, T.VAR_STRING, T.STRING, 249, 250, 251, 252, 140, 141]);

type Convert = (v: unknown) => unknown;
/** The columns whose zongji value differs from what poolOptions reads, and how to fix each. */
export interface TableConverter {
  readonly names: readonly string[];
  readonly convert: readonly Convert[];
  /** Per converted column: whether undefined is a value (the empty ENUM) rather than a column not decoded. */
  readonly undefinedIsValue: readonly boolean[];
}

const toText: Convert = (v) => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : v);
/** Buffers are slices of the packet: copied, so a kept value does not pin the whole packet. */
const copyBuffer: Convert = (v) => (Buffer.isBuffer(v) ? Buffer.from(v) : v);
const fixed = (scale: number): Convert => (v) => (typeof v === 'number' ? Number(v.toFixed(scale)) : v);

/** Builds the per-column conversions for one table map (cached per TableMapEntry object). */
export function converterFor(entry: TableMapEntry): TableConverter {
  const names: string[] = [];
  const convert: Convert[] = [];
  const undefinedIsValue: boolean[] = [];
  (entry.columns ?? []).forEach((c, i) => {
    const columnType = (entry.columnSchemas[i]?.COLUMN_TYPE ?? '').toLowerCase();
    const scale = /\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(columnType)?.[1];
    let f: Convert | undefined;
    switch (c.type) {
      case T.LONGLONG:
        // bigNumberStrings: BIGINT is always text, whatever its size (zongji: a number when safe).
        f = toText;
        break;
      case T.FLOAT:
        // The server prints FLOAT with 6 significant digits (or its declared scale); zongji gives the raw float32.
        f = scale !== undefined ? fixed(Number(scale)) : (v) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(6)) : v);
        break;
      case T.DOUBLE:
        if (scale !== undefined) f = fixed(Number(scale));
        break;
      case T.YEAR:
        // zongji adds 1900 to the stored byte; YEAR 0000 is stored as 0 (1900 itself is not a valid YEAR).
        f = (v) => (v === 1900 ? 0 : v);
        break;
      case T.ENUM:
        // The empty (invalid) ENUM value has index 0, which zongji maps to undefined.
        f = (v) => (v === undefined ? '' : v);
        break;
      default:
        if (BUFFER_TYPES.has(c.type)) f = copyBuffer;
    }
    if (f) {
      names.push(c.name);
      convert.push(f);
      undefinedIsValue.push(c.type === T.ENUM);
    }
  });
  return { names, convert, undefinedIsValue };
}

/** Converts zongji's row object in place (it is not shared) and returns it. */
export function convertRow(row: Row, conv: TableConverter): Row {
  const { names, convert, undefinedIsValue } = conv;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const v = row[name];
    // undefined is a column not decoded, except for the empty ENUM value.
    if (v !== null && (v !== undefined || (undefinedIsValue[i] && name in row))) row[name] = convert[i]!(v) ?? null;
  }
  return row;
}

/**
 * The change events of one rows event of `table`, its rows converted in place: an update's before and after
 * images, an insert's after image, a delete's before image.
 */
export function changeEventsOf(
  r: WriteRowsEvent | UpdateRowsEvent,
  op: ChangeOp,
  table: string,
  position: BinlogPosition,
  conv: TableConverter,
): ChangeEvent[] {
  const timestamp = r.timestamp;
  const events: ChangeEvent[] = new Array<ChangeEvent>(r.rows.length);
  for (let i = 0; i < r.rows.length; i++) {
    if (op === 'update') {
      const row = (r as UpdateRowsEvent).rows[i]!;
      events[i] = { table, op, before: convertRow(row.before, conv), after: convertRow(row.after, conv), position, rowIndex: i, timestamp };
    } else {
      const row = convertRow((r as WriteRowsEvent).rows[i]!, conv);
      events[i] = op === 'insert' ? { table, op, after: row, position, rowIndex: i, timestamp } : { table, op, before: row, position, rowIndex: i, timestamp };
    }
  }
  return events;
}
