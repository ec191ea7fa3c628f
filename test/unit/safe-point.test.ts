/** Where a binlog reader may stop and resume: the safe point after statement and transaction boundaries. */
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../lambdas/core/events/model.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';
import { SafePointTracker, type BinlogItem } from '../../lambdas/core/safe-point.js';

/** `file:position` → a position. */
const at = (text: string): BinlogPosition => {
  const i = text.lastIndexOf(':');
  return { file: text.slice(0, i), position: Number(text.slice(i + 1)) };
};
const event = (position: BinlogPosition, rowIndex: number): ChangeEvent => ({ table: 't', op: 'insert', after: { id: rowIndex }, position, rowIndex, timestamp: 0 });
/** A rows event of `count` rows ending at `end`, with or without the STMT_END flag. */
const rows = (count: number, end: string, stmtEnd: boolean): BinlogItem => ({
  kind: 'rows',
  events: Array.from({ length: count }, (_, i) => event(at(end), i)),
  end: at(end),
  stmtEnd,
});
const table: BinlogItem = { kind: 'table' };
const mark = (text: string): BinlogItem => ({ kind: 'mark', at: at(text) });

/** An item taken, then the position and whether a stop is resumable. */
type Step = readonly [item: BinlogItem, position: string, canStop: boolean];

describe('SafePointTracker', () => {
  it('starts at `from`, where a stop is resumable', () => {
    const t = new SafePointTracker(at('binlog.000001:4'));
    expect(t.position).toEqual(at('binlog.000001:4'));
    expect(t.canStop).toBe(true);
    expect(t.checkpoint()).toEqual(at('binlog.000001:4'));
  });

  it.each<[string, readonly Step[]]>([
    ['a rows event with STMT_END moves to its end', [[rows(2, 'binlog.000001:200', true), 'binlog.000001:200', true]]],
    [
      'a rows event without STMT_END does not move; the one ending the statement does',
      [
        [rows(3, 'binlog.000001:200', false), 'binlog.000001:4', false],
        [rows(1, 'binlog.000001:300', false), 'binlog.000001:4', false],
        [rows(2, 'binlog.000001:400', true), 'binlog.000001:400', true],
      ],
    ],
    [
      'a TableMap alone still allows a stop (no rows taken since the safe point)',
      [
        [table, 'binlog.000001:4', true],
        [rows(1, 'binlog.000001:200', true), 'binlog.000001:200', true],
      ],
    ],
    [
      'a TableMap then rows without STMT_END: no stop until the commit',
      [
        [table, 'binlog.000001:4', true],
        [rows(2, 'binlog.000001:200', false), 'binlog.000001:4', false],
        [mark('binlog.000001:231'), 'binlog.000001:231', true],
      ],
    ],
    [
      'a TableMap inside a statement (lazily written map) keeps it unsafe',
      [
        [rows(1, 'binlog.000001:200', false), 'binlog.000001:4', false],
        [table, 'binlog.000001:4', false],
        [rows(1, 'binlog.000001:300', false), 'binlog.000001:4', false],
        [rows(1, 'binlog.000001:400', true), 'binlog.000001:400', true],
      ],
    ],
    [
      'a TableMap after a statement end: unsafe once rows follow',
      [
        [rows(1, 'binlog.000001:200', true), 'binlog.000001:200', true],
        [table, 'binlog.000001:200', true],
        [rows(1, 'binlog.000001:300', false), 'binlog.000001:200', false],
      ],
    ],
    [
      'a commit mark moves forward and makes a stop resumable',
      [
        [rows(1, 'binlog.000001:200', false), 'binlog.000001:4', false],
        [mark('binlog.000001:231'), 'binlog.000001:231', true],
        [mark('binlog.000001:500'), 'binlog.000001:500', true],
      ],
    ],
    [
      'a mark behind the safe point in the same file moves nothing and leaves an open statement open',
      [
        [mark('binlog.000001:500'), 'binlog.000001:500', true],
        [rows(1, 'binlog.000001:600', false), 'binlog.000001:500', false],
        [mark('binlog.000001:256'), 'binlog.000001:500', false],
      ],
    ],
    [
      'a mark at the safe point itself counts',
      [
        [rows(1, 'binlog.000001:200', false), 'binlog.000001:4', false],
        [mark('binlog.000001:4'), 'binlog.000001:4', true],
      ],
    ],
    [
      'a rotation to another file moves, even to a lower offset',
      [
        [mark('binlog.000001:900'), 'binlog.000001:900', true],
        [mark('binlog.000002:4'), 'binlog.000002:4', true],
        [rows(1, 'binlog.000002:300', true), 'binlog.000002:300', true],
      ],
    ],
  ])('%s', (_name, steps) => {
    const t = new SafePointTracker(at('binlog.000001:4'));
    steps.forEach(([item, position, canStop], i) => {
      t.take(item);
      expect({ step: i, position: t.position, canStop: t.canStop }).toEqual({ step: i, position: at(position), canStop });
      expect(t.checkpoint()).toEqual(canStop ? at(position) : null);
    });
  });

  it('hands out checkpoints as copies', () => {
    const t = new SafePointTracker(at('binlog.000001:4'));
    const c = t.checkpoint() as { file: string; position: number };
    c.position = 999;
    expect(t.position).toEqual(at('binlog.000001:4'));
  });

  it.each<[string, string, readonly BinlogItem[], string, boolean]>([
    ['not yet at until', 'binlog.000001:4', [rows(1, 'binlog.000001:200', true)], 'binlog.000001:300', false],
    ['exactly at until', 'binlog.000001:4', [rows(1, 'binlog.000001:300', true)], 'binlog.000001:300', true],
    ['past until', 'binlog.000001:4', [mark('binlog.000001:500')], 'binlog.000001:300', true],
    ['a statement still open past until does not count', 'binlog.000001:4', [rows(1, 'binlog.000001:500', false)], 'binlog.000001:300', false],
    ['starting at until', 'binlog.000001:300', [], 'binlog.000001:300', true],
    ['until in the next file', 'binlog.000009:100', [mark('binlog.000009:9000')], 'binlog.000010:4', false],
    ['rotation binlog.000009 → binlog.000010 reaches it', 'binlog.000009:100', [mark('binlog.000010:4')], 'binlog.000010:4', true],
    ['rotation binlog.999999 → binlog.1000000 reaches it', 'binlog.999999:100', [mark('binlog.1000000:4')], 'binlog.1000000:4', true],
    ['binlog.999999 is before binlog.1000000', 'binlog.999999:100', [mark('binlog.999999:90000')], 'binlog.1000000:4', false],
  ])('until: %s', (_name, from, items, until, reached) => {
    const t = new SafePointTracker(at(from));
    for (const item of items) t.take(item);
    expect(t.reached(at(until))).toBe(reached);
  });
});
