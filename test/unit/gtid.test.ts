/** MariaDB GTID positions: parsing, coverage, `SHOW BINLOG EVENTS` Info, and following event groups from a seed. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { covers, coversAll, formatGtidPosition, GroupTracker, GtidTracker, gtidListOfEventInfo, gtidOfEventInfo, parseGtidPosition } from '../../lambdas/core/gtid.js';

const g = (domain: number, server: number, seq: number) => ({ domain, server, seq: BigInt(seq) });

describe('parseGtidPosition and formatGtidPosition', () => {
  it.each([
    ['0-1-1234', '0-1-1234'],
    ['', ''],
    ['1-2-7, 0-1-5', '0-1-5,1-2-7'],
    ['0-1-18446744073709551615', '0-1-18446744073709551615'],
  ])('%j reads back as %j', (text, formatted) => {
    expect(formatGtidPosition(parseGtidPosition(text)!)).toBe(formatted);
  });

  it.each(['0-1', '0-1-x', 'a-1-2', '0-1-2,0-3-4', '0-1-2;1-1-1', '4294967296-1-1'])('%j is not a position', (text) => {
    expect(parseGtidPosition(text)).toBeUndefined();
  });

  it('round-trips any position', () => {
    const gtid = fc.record({ domain: fc.integer({ min: 0, max: 0xffffffff }), server: fc.integer({ min: 0, max: 0xffffffff }), seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) });
    fc.assert(
      fc.property(fc.uniqueArray(gtid, { selector: (x) => x.domain, maxLength: 5 }), (gtids) => {
        const text = formatGtidPosition(new Map(gtids.map((x) => [x.domain, x])));
        expect(formatGtidPosition(parseGtidPosition(text)!)).toBe(text);
      }),
    );
  });
});

describe('covers', () => {
  const p = parseGtidPosition('0-1-10,1-2-5')!;
  it.each([
    [g(0, 1, 10), true],
    [g(0, 9, 3), true],
    [g(0, 1, 11), false],
    [g(1, 2, 6), false],
    [g(2, 1, 1), false],
  ])('%o: %s', (gtid, expected) => {
    expect(covers(p, gtid)).toBe(expected);
  });

  it('coversAll: every domain of the other position at or below', () => {
    expect(coversAll(p, parseGtidPosition('0-1-9')!)).toBe(true);
    expect(coversAll(p, parseGtidPosition('')!)).toBe(true);
    expect(coversAll(p, parseGtidPosition('0-1-9,2-1-1')!)).toBe(false);
  });
});

describe('SHOW BINLOG EVENTS Info', () => {
  it.each([
    ['BEGIN GTID 0-1-6', g(0, 1, 6)],
    ['GTID 0-1-2', g(0, 1, 2)],
    ['BEGIN GTID 3-7-99 cid=12', g(3, 7, 99)],
    ["XA START X'31',X'',1 GTID 0-1-8", g(0, 1, 8)],
    ['COMMIT /* xid=8 */', undefined],
  ])('Gtid %j', (info, expected) => {
    expect(gtidOfEventInfo(info)).toEqual(expected);
  });

  it('Gtid_list: per domain the highest sequence number of its servers', () => {
    expect(formatGtidPosition(gtidListOfEventInfo('[0-1-5]')!)).toBe('0-1-5');
    expect(formatGtidPosition(gtidListOfEventInfo('[]')!)).toBe('');
    expect(formatGtidPosition(gtidListOfEventInfo('[0-1-9,0-2-12,1-1-3]')!)).toBe('0-2-12,1-1-3');
    expect(gtidListOfEventInfo('0-1-5')).toBeUndefined();
    expect(gtidListOfEventInfo('[0-1]')).toBeUndefined();
  });
});

describe('GroupTracker', () => {
  type Step = ['begin', number, boolean] | ['commit'] | ['statement'];
  /** The groups ended along the steps, as sequence numbers. */
  const run = (steps: Step[]) => {
    const t = new GroupTracker();
    const ended: number[] = [];
    for (const s of steps) {
      const g = s[0] === 'begin' ? t.begin(g0(s[1]), s[2]) : t.boundary(s[0] === 'commit' ? 'group' : 'statement');
      if (g) ended.push(Number(g.seq));
    }
    return ended;
  };
  const g0 = (seq: number) => g(0, 1, seq);

  it.each<[string, Step[], number[]]>([
    ['a transaction ends at its commit, not at its statements', [['begin', 6, false], ['statement'], ['statement'], ['commit']], [6]],
    ['a transaction still open ends nothing', [['begin', 6, false], ['statement']], []],
    ['a standalone group (DDL) ends with its statement', [['begin', 6, true], ['statement'], ['statement']], [6]],
    ['a next group ends one left open', [['begin', 6, false], ['begin', 7, false], ['commit']], [6, 7]],
    ['a boundary outside any group ends nothing', [['commit'], ['statement']], []],
  ])('%s', (_name, steps, expected) => {
    expect(run(steps)).toEqual(expected);
  });

  it('names the open group while it is standalone', () => {
    const t = new GroupTracker();
    t.begin(g(0, 1, 6), true);
    expect(t.standalone).toEqual(g(0, 1, 6));
    t.begin(g(0, 1, 7), false);
    expect(t.standalone).toBeUndefined();
  });
});

describe('GtidTracker', () => {
  it('starts at its seed, takes each ended group per domain, and counts the changes', () => {
    const t = new GtidTracker(parseGtidPosition('1-2-3,0-1-5')!);
    const seed = t.snapshot();
    expect(t.version).toBe(0);
    t.ended(g(0, 1, 6));
    t.ended(g(0, 1, 7));
    expect(t.version).toBe(2);
    expect(formatGtidPosition(t.snapshot())).toBe('0-1-7,1-2-3');
    expect(formatGtidPosition(seed)).toBe('0-1-5,1-2-3');
    expect(formatGtidPosition(t.with(g(2, 9, 1)))).toBe('0-1-7,1-2-3,2-9-1');
    expect(formatGtidPosition(t.snapshot())).toBe('0-1-7,1-2-3');
  });
});
