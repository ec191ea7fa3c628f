import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareSortable, sortableKey, tombstoneRange } from '../../lambdas/core/model.js';
import { compareKeys, type KeyKind } from '../../lambdas/core/segments.js';

/** MySQL's integer keys: BIGINT down to -2^63, BIGINT UNSIGNED up to 2^64 - 1. */
const MIN = -(2n ** 63n);
const MAX = 2n ** 64n - 1n;
const intKey = fc.oneof(fc.bigInt({ min: -1000n, max: 1000n }), fc.bigInt({ min: MIN, max: MAX }), fc.constantFrom(MIN, MAX, -1n, 0n, 1n));
const sign = (n: number | bigint) => (n > 0 ? 1 : n < 0 ? -1 : 0);
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('sortableKey', () => {
  it.each<[string, KeyKind, string]>([
    ['0', 'int', '000000000000000000000'],
    ['1', 'int', '000000000000000000001'],
    ['42', 'int', '000000000000000000042'],
    ['007', 'int', '000000000000000000007'],
    ['-0', 'int', '000000000000000000000'],
    ['-1', 'int', '-99999999999999999999'],
    ['-42', 'int', '-99999999999999999958'],
    ['9223372036854775807', 'int', '009223372036854775807'],
    ['-9223372036854775808', 'int', '-90776627963145224192'],
    ['18446744073709551615', 'int', '018446744073709551615'],
    ['abc', 'string', 'abc'],
    ['10', 'string', '10'],
    ['-1', 'string', '-1'],
    ['', 'string', ''],
  ])('%s (%s) -> %s', (text, kind, expected) => {
    expect(sortableKey(text, kind)).toBe(expected);
  });

  it('orders integer keys as their values (negatives before zero, across magnitudes)', () => {
    fc.assert(
      fc.property(intKey, intKey, (a, b) => {
        expect(compareText(sortableKey(String(a), 'int'), sortableKey(String(b), 'int'))).toBe(sign(a - b));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts a list of integer keys like BigInt does', () => {
    fc.assert(
      fc.property(fc.array(intKey, { maxLength: 50 }), (keys) => {
        const byValue = [...keys].sort((a, b) => sign(a - b));
        const byText = [...keys].sort((a, b) => compareText(sortableKey(String(a), 'int'), sortableKey(String(b), 'int')));
        expect(byText).toEqual(byValue);
      }),
    );
  });

  it('leaves string keys as they are', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(sortableKey(s, 'string')).toBe(s);
      }),
    );
  });
});

describe('sortableKey of a composite key', () => {
  const kind: KeyKind = ['int', 'string', 'int'];
  // Strings with the escaped code points and their neighbours, so prefixes and escapes meet.
  const str = fc.array(fc.constantFrom('\u0000', '\u0001', '\u0002', '\u0003', 'a', 'b', '\uffff'), { maxLength: 4 }).map((cs) => cs.join(''));
  const key = fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), str, fc.bigInt({ min: -5n, max: 5n })).map(([a, b, c]) => JSON.stringify([String(a), b, String(c)]));

  it('sorts as text in the key order compareKeys gives, and is equal only for equal keys', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(compareText(sortableKey(a, kind), sortableKey(b, kind))).toBe(compareKeys(a, b, kind));
      }),
      { numRuns: 2000 },
    );
  });

  it('holds no U+0000', () => {
    expect(sortableKey(JSON.stringify(['1', '\u0000\u0001', '2']), kind)).not.toContain('\u0000');
  });
});

describe('tombstoneRange', () => {
  const keys = (...k: string[]) => () => k;

  it.each<[string, KeyKind, string | null, string, readonly string[], { lo: string | null; inclusive: boolean; hi: string }]>([
    ['integer keys: the page range', 'int', '5', '9', [], { lo: sortableKey('5', 'int'), inclusive: false, hi: sortableKey('9', 'int') }],
    ['integer keys from the start', 'int', null, '9', [], { lo: null, inclusive: false, hi: sortableKey('9', 'int') }],
    ['two integer columns: the page range', ['int', 'int'], '["1","2"]', '["3","4"]', [], { lo: sortableKey('["1","2"]', ['int', 'int']), inclusive: false, hi: sortableKey('["3","4"]', ['int', 'int']) }],
    // The server's case-insensitive order: a00999 < B00002 < B00200; as text B… < a….
    ['string keys: least and greatest of the page as text', 'string', 'a00999', 'B00200', ['B00002', 'b00100', 'B00200'], { lo: 'B00002', inclusive: true, hi: 'b00100' }],
    ['a composite key with a string column', ['int', 'string'], '["1","z"]', '["2","A"]', ['["2","a"]', '["2","A"]'], { lo: sortableKey('["2","A"]', ['int', 'string']), inclusive: true, hi: sortableKey('["2","a"]', ['int', 'string']) }],
  ])('%s', (_name, kind, after, upTo, pageKeys, expected) => {
    expect(tombstoneRange(kind, after, upTo, keys(...pageKeys))).toEqual(expected);
  });

  it('holds every page key, in the state table\'s byte order, whatever the order of the page', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 6 }), { minLength: 1, maxLength: 30 }), (page) => {
        const r = tombstoneRange('string', null, page.at(-1)!, () => page);
        expect(r.inclusive).toBe(true);
        for (const k of page) {
          expect(compareSortable(k, r.lo!)).toBeGreaterThanOrEqual(0);
          expect(compareSortable(k, r.hi)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('compareSortable orders by UTF-8 bytes, as DynamoDB does (not by UTF-16 code units)', () => {
    // U+FF5E is one UTF-16 unit above the surrogates of U+1F4E6, but fewer UTF-8 bytes sort it first.
    expect(compareSortable('\uff5e', '📦')).toBeLessThan(0);
    expect('\uff5e' < '📦').toBe(false);
  });
});
