import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareKeys, inSegment, keyParts, keyText, planSegments, scrollKeyProblem, scrollLabel, scrollValue, textOrdered, type KeyKind, type Segment } from '../../lambdas/core/segments.js';

const intKeyArb = fc.oneof(fc.integer({ min: -1000, max: 100_000 }).map(String), fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String));
const strKeyArb = fc.string({ maxLength: 12 });
/** A composite (int, string) key's text, with many keys sharing the first column. */
const pairKeyArb = fc.tuple(fc.integer({ min: -3, max: 3 }).map(String), strKeyArb).map((parts) => JSON.stringify(parts));

function sortKeys(keys: string[], kind: KeyKind): string[] {
  return [...keys].sort((a, b) => compareKeys(a, b, kind));
}

/** Checks the structural invariants of a plan; returns nothing, throws on violation. */
function checkPlan(segments: Segment[], count: number, kind: KeyKind): void {
  expect(segments.length).toBeGreaterThanOrEqual(1);
  expect(segments.length).toBeLessThanOrEqual(count);
  expect(segments[0]!.lo).toBeNull();
  expect(segments[segments.length - 1]!.hi).toBeNull();
  segments.forEach((s, i) => {
    expect(s.index).toBe(i);
    if (i > 0) expect(s.lo).toBe(segments[i - 1]!.hi);
    if (s.lo !== null && s.hi !== null) expect(compareKeys(s.lo, s.hi, kind)).toBeLessThan(0);
    if (i < segments.length - 1) expect(s.hi).not.toBeNull();
    if (i > 0) expect(s.lo).not.toBeNull();
  });
}

describe('compareKeys', () => {
  it.each<[string, string, KeyKind, number]>([
    ['1', '2', 'int', -1],
    ['2', '1', 'int', 1],
    ['5', '5', 'int', 0],
    ['9', '10', 'int', -1], // numeric, not lexical
    ['007', '7', 'int', 0],
    ['-5', '3', 'int', -1],
    ['-10', '-9', 'int', -1],
    ['9007199254740993', '9007199254740992', 'int', 1], // beyond double precision
    ['18446744073709551616', '18446744073709551615', 'int', 1],
    ['123456789012345678901234567890', '123456789012345678901234567891', 'int', -1],
    ['9', '10', 'string', 1], // lexical
    ['a', 'b', 'string', -1],
    ['abc', 'ab', 'string', 1],
    ['', 'a', 'string', -1],
    ['B', 'a', 'string', -1], // code unit order
    ['x', 'x', 'string', 0],
  ])('compareKeys(%j, %j, %s) = %i', (a, b, kind, expected) => {
    expect(compareKeys(a, b, kind)).toBe(expected);
  });

  it('int comparison matches BigInt order and is antisymmetric', () => {
    fc.assert(
      fc.property(fc.bigInt(), fc.bigInt(), (x, y) => {
        const c = compareKeys(String(x), String(y), 'int');
        expect(c).toBe(x < y ? -1 : x > y ? 1 : 0);
        expect(compareKeys(String(y), String(x), 'int')).toBe(-c || 0);
      }),
    );
  });

  it('throws on non-integer text for int kind', () => {
    expect(() => compareKeys('abc', '1', 'int')).toThrow();
  });
});

describe('planSegments', () => {
  it('one segment covers everything', () => {
    expect(planSegments(['1', '2', '3'], 1, 'int')).toEqual([{ index: 0, lo: null, hi: null }]);
  });

  it('an empty sample gives one unbounded segment', () => {
    expect(planSegments([], 8, 'int')).toEqual([{ index: 0, lo: null, hi: null }]);
  });

  it('splits at row quantiles of the sample', () => {
    const sample = Array.from({ length: 100 }, (_, i) => String(i + 1)); // 1..100
    expect(planSegments(sample, 4, 'int')).toEqual([
      { index: 0, lo: null, hi: '26' },
      { index: 1, lo: '26', hi: '51' },
      { index: 2, lo: '51', hi: '76' },
      { index: 3, lo: '76', hi: null },
    ]);
  });

  it('collapses duplicate boundaries', () => {
    expect(planSegments(['5', '5', '5', '5', '5', '5', '5', '5'], 4, 'int')).toEqual([
      { index: 0, lo: null, hi: '5' },
      { index: 1, lo: '5', hi: null },
    ]);
    expect(planSegments(['1', '1', '1', '2', '2', '2', '3', '3'], 8, 'int').map((s) => s.hi)).toEqual(['1', '2', '3', null]);
  });

  it('gives fewer segments than requested for a small sample', () => {
    expect(planSegments(['10', '20'], 10, 'int')).toEqual([
      { index: 0, lo: null, hi: '10' },
      { index: 1, lo: '10', hi: '20' },
      { index: 2, lo: '20', hi: null },
    ]);
  });

  it('compares int keys numerically, including values beyond 2^53', () => {
    const sample = ['9', '10', '9007199254740992', '9007199254740993', '18446744073709551616', '18446744073709551617'];
    const segs = planSegments(sample, 6, 'int');
    expect(segs.map((s) => s.hi)).toEqual(['10', '9007199254740992', '9007199254740993', '18446744073709551616', '18446744073709551617', null]);
    checkPlan(segs, 6, 'int');
  });

  it('compares string keys lexically', () => {
    const sample = ['10', '100', '9']; // lexical order
    const segs = planSegments(sample, 3, 'string');
    expect(segs.map((s) => s.hi)).toEqual(['100', '9', null]);
    expect(inSegment('99', segs[2]!, 'string')).toBe(true);
    expect(inSegment('2', segs[1]!, 'string')).toBe(true);
  });

  it('keeps every distinct boundary of a string sample in the server\'s order, though as text it goes down', () => {
    // utf8mb4_general_ci: every 'a…' before every 'B…'.
    const sample = ['a1', 'a3', 'a5', 'B2', 'B4', 'B6'];
    expect(planSegments(sample, 3, 'string').map((s) => [s.lo, s.hi])).toEqual([
      [null, 'a5'],
      ['a5', 'B4'],
      ['B4', null],
    ]);
    expect(planSegments(['a1', 'a1', 'B2', 'B2'], 4, 'string')).toHaveLength(3);
    expect(textOrdered('string')).toBe(false);
    expect(textOrdered(['int', 'string'])).toBe(false);
    expect(textOrdered(['int', 'int'])).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects segment count %s', (count) => {
    expect(() => planSegments(['1'], count, 'int')).toThrow(RangeError);
  });

  for (const [kind, arb] of [
    ['int', intKeyArb],
    ['string', strKeyArb],
    [['int', 'string'], pairKeyArb],
  ] as const) {
    describe(`properties (${String(kind)} keys)`, () => {
      const input = fc.tuple(fc.array(arb, { maxLength: 300 }), fc.integer({ min: 1, max: 64 })).map(([keys, count]) => [sortKeys(keys, kind), count] as const);

      it('segments are contiguous, open at both ends, strictly increasing and at most the count', () => {
        fc.assert(
          fc.property(input, ([sample, count]) => {
            checkPlan(planSegments(sample, count, kind), count, kind);
          }),
        );
      });

      it('every sample key (and any other key) falls in exactly one segment', () => {
        fc.assert(
          fc.property(input, fc.array(arb, { maxLength: 20 }), ([sample, count], others) => {
            const segs = planSegments(sample, count, kind);
            for (const key of [...sample, ...others]) expect(segs.filter((s) => inSegment(key, s, kind))).toHaveLength(1);
          }),
        );
      });

      it('boundaries are sample keys, and duplicates in the sample collapse', () => {
        fc.assert(
          fc.property(input, ([sample, count]) => {
            const segs = planSegments(sample, count, kind);
            const distinct = new Set(sample.map((k) => (kind === 'int' ? BigInt(k).toString() : k))).size;
            expect(segs.length).toBeLessThanOrEqual(distinct + 1);
            for (const s of segs) if (s.hi !== null) expect(sample).toContain(s.hi);
          }),
        );
      });

      it('uses the requested count when the sample has enough distinct keys', () => {
        fc.assert(
          fc.property(fc.uniqueArray(arb, { minLength: 64, maxLength: 300, comparator: (a, b) => compareKeys(a, b, kind) === 0 }), fc.integer({ min: 1, max: 64 }), (keys, count) => {
            expect(planSegments(sortKeys(keys, kind), count, kind)).toHaveLength(count);
          }),
        );
      });
    });
  }
});

describe('inSegment', () => {
  const seg: Segment = { index: 1, lo: '10', hi: '20' };
  it.each<[string, boolean]>([
    ['10', false], // lo is exclusive
    ['11', true],
    ['20', true], // hi is inclusive
    ['21', false],
    ['9', false],
    ['015', true], // numeric, not lexical
    ['100', false],
  ])('key %s in (10, 20] → %s', (key, expected) => {
    expect(inSegment(key, seg, 'int')).toBe(expected);
  });

  it('unbounded ends', () => {
    expect(inSegment('-999999999999999999999', { index: 0, lo: null, hi: '0' }, 'int')).toBe(true);
    expect(inSegment('999999999999999999999', { index: 3, lo: '0', hi: null }, 'int')).toBe(true);
    expect(inSegment('anything', { index: 0, lo: null, hi: null }, 'string')).toBe(true);
  });
});

describe('keyText', () => {
  it.each<[unknown, KeyKind, string]>([
    [42, 'int', '42'],
    [-7, 'int', '-7'],
    [12345678901234567890n, 'int', '12345678901234567890'],
    ['18446744073709551615', 'int', '18446744073709551615'],
    ['-3', 'int', '-3'],
    [Buffer.from('123'), 'int', '123'],
    ['abc', 'string', 'abc'],
    ['', 'string', ''],
    [Buffer.from('ü-key'), 'string', 'ü-key'],
    [5, 'string', '5'],
  ])('keyText(%s, %s) = %j', (value, kind, text) => {
    expect(keyText(value, kind, 'where')).toBe(text);
  });

  it.each<[unknown, KeyKind]>([
    [null, 'int'],
    [undefined, 'int'],
    [null, 'string'],
    [undefined, 'string'],
  ])('rejects NULL (%s, %s)', (value, kind) => {
    expect(() => keyText(value, kind, 'orders segment 3')).toThrow(/orders segment 3: scroll key is NULL/);
  });

  it.each<unknown>(['abc', '1.5', '', ' 1', '1e5', '0x10', 1.5, 1e21, Buffer.from('12a')])('rejects non-integer %s for int kind', (value) => {
    expect(() => keyText(value, 'int', 'orders')).toThrow(TypeError);
    expect(() => keyText(value, 'int', 'orders')).toThrow(/orders: scroll key .* is not an integer/);
  });

  it('round-trips any BigInt', () => {
    fc.assert(
      fc.property(fc.bigInt(), (n) => {
        expect(keyText(n, 'int', 'w')).toBe(n.toString());
        expect(keyText(n.toString(), 'int', 'w')).toBe(n.toString());
      }),
    );
  });
});

describe('composite scroll keys', () => {
  const kind: KeyKind = ['int', 'string'];

  it.each<[string, string, number]>([
    ['["1","b"]', '["2","a"]', -1],
    ['["2","a"]', '["1","b"]', 1],
    ['["10","a"]', '["9","z"]', 1],
    ['["1","a"]', '["1","ab"]', -1],
    ['["1","b"]', '["1","b"]', 0],
    ['["-1","z"]', '["0",""]', -1],
  ])('compares %s with %s column by column: %i', (a, b, expected) => {
    expect(compareKeys(a, b, kind)).toBe(expected);
  });

  it('key text is the JSON array of the column texts, and keyParts reads it back', () => {
    expect(keyText([42n, Buffer.from('x"y')], kind, 'row')).toBe('["42","x\\"y"]');
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.string(), (n, s) => {
        expect(keyParts(keyText([n, s], kind, 'row'), kind)).toEqual([String(n), s]);
      }),
    );
  });

  it.each<[string, unknown, RegExp]>([
    ['one value for two columns', 5, /needs 2 values, got one/],
    ['three values for two columns', [1, 'a', 'b'], /needs 2 values, got 3/],
    ['a NULL column', [1, null], /scroll key is NULL/],
    ['a non-integer int column', ['x', 'a'], /is not an integer/],
  ])('keyText refuses %s', (_name, value, error) => {
    expect(() => keyText(value, kind, 'row')).toThrow(error);
  });

  it.each(['42', '["1"]', '["1",2]', '{"a":1}', 'not json'])('keyParts refuses %s as a two-column key', (text) => {
    expect(() => keyParts(text, kind)).toThrow(/is not the text of a 2-column scroll key/);
  });

  it('scrollValue and scrollLabel take one column or several', () => {
    const row: Record<string, unknown> = { id: 7, order_id: 42, line_no: 3 };
    expect(scrollValue(['id'], (c) => row[c])).toBe(7);
    expect(scrollValue(['order_id', 'line_no'], (c) => row[c])).toEqual([42, 3]);
    expect(scrollLabel(['id'], (c) => row[c])).toBe('id=7');
    expect(scrollLabel(['order_id', 'line_no'], (c) => row[c])).toBe('(order_id, line_no)=(42, 3)');
  });

  it('inSegment bounds a composite key inside a first-column value', () => {
    const s: Segment = { index: 1, lo: '["5","m"]', hi: '["7","c"]' };
    expect(inSegment('["5","m"]', s, kind)).toBe(false);
    expect(inSegment('["5","n"]', s, kind)).toBe(true);
    expect(inSegment('["6",""]', s, kind)).toBe(true);
    expect(inSegment('["7","c"]', s, kind)).toBe(true);
    expect(inSegment('["7","d"]', s, kind)).toBe(false);
  });
});

describe('scrollKeyProblem', () => {
  const pk = new Map([['PRIMARY', ['order_id', 'line_no']]]);
  it.each<[string, string[], string[], Map<string, string[]>, RegExp | undefined]>([
    ['the primary key', ['id'], [], new Map([['PRIMARY', ['id']]]), undefined],
    ['a composite primary key', ['order_id', 'line_no'], [], pk, undefined],
    ['a key wider than a unique index', ['order_id', 'line_no', 'sku'], [], pk, undefined],
    ['a NOT NULL unique column', ['order_no'], [], new Map([['uk_no', ['order_no']]]), undefined],
    ['a prefix of the primary key', ['order_id'], [], pk, /scroll key order_id is not unique: no unique index lies within its columns \(unique indexes: PRIMARY \(order_id, line_no\)\)/],
    ['a table without unique indexes', ['created'], [], new Map(), /the table has no unique index/],
    ['a nullable column', ['order_no'], ['order_no'], new Map([['uk_no', ['order_no']]]), /scroll key order_no: order_no may be NULL/],
    ['nullable columns of a composite key', ['a', 'b'], ['a', 'b'], new Map([['u', ['a', 'b']]]), /scroll key \(a, b\): a, b may be NULL.*make them NOT NULL/],
  ])('%s', (_name, key, nullable, unique, problem) => {
    const found = scrollKeyProblem(key, new Set(nullable), unique);
    if (problem) expect(found?.text).toMatch(problem);
    else expect(found).toBeUndefined();
  });
});
