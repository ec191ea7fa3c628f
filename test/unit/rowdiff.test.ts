import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { diffColumns, kindOfType, normalize, RowComparison, rowsEqual, sameValue, type ColumnKind, type ColumnKinds } from '../../lambdas/core/rowdiff.js';

/** Equality of two single values under a kind. */
const same = (a: unknown, b: unknown, kind?: ColumnKind) => rowsEqual({ c: a }, { c: b }, kind ? { c: kind } : {});

describe('value equality by kind', () => {
  it.each<[string, unknown, unknown, ColumnKind | undefined, boolean]>([
    // DECIMAL
    ['decimal trailing zeros', '1.50', '1.5', 'decimal', true],
    ['decimal trailing zeros to integer', '2.000', '2', 'decimal', true],
    ['decimal leading zeros', '007.10', '7.1', 'decimal', true],
    ['decimal negative zero', '-0.00', '0', 'decimal', true],
    ['decimal sign', '-1.5', '1.5', 'decimal', false],
    ['decimal plus sign', '+1.5', '1.5', 'decimal', true],
    ['decimal different', '1.50', '1.51', 'decimal', false],
    ['decimal beyond double precision', '12345678901234567890.123456789', '12345678901234567890.123456788', 'decimal', false],
    ['decimal without kind is plain text', '1.50', '1.5', undefined, false],
    ['decimal number vs text', 1.5, '1.50', 'decimal', true],
    // INT
    ['bigint text vs bigint', '18446744073709551615', 18446744073709551615n, 'int', true],
    ['int beyond 2^53 differs by one', '9007199254740993', '9007199254740992', 'int', false],
    ['int number vs text', 42, '42', 'int', true],
    // FLOAT
    ['float text forms', '1.0', '1', 'float', true],
    ['float exponent', '1e3', '1000', 'float', true],
    ['float different', '0.1', '0.2', 'float', false],
    // DATETIME
    ['datetime fraction padding', '2026-01-01 10:00:00.120000', '2026-01-01 10:00:00.12', 'datetime', true],
    ['datetime different fraction', '2026-01-01 10:00:00.120000', '2026-01-01 10:00:00.121', 'datetime', false],
    ['datetime zero fraction', '2026-01-01 10:00:00.000000', '2026-01-01 10:00:00', 'datetime', true],
    ['datetime inner zeros kept', '2026-01-01 10:00:00.000100', '2026-01-01 10:00:00.0001', 'datetime', true],
    ['datetime inner zeros significant', '2026-01-01 10:00:00.000100', '2026-01-01 10:00:00.1', 'datetime', false],
    ['datetime second differs', '2026-01-01 10:00:00', '2026-01-01 10:00:01', 'datetime', false],
    ['date', '2026-01-10', '2026-01-10', 'datetime', true],
    ['date differs', '2026-01-10', '2026-01-01', 'datetime', false],
    ['datetime fraction without kind is plain text', '2026-01-01 10:00:00.120000', '2026-01-01 10:00:00.12', undefined, false],
    // JSON
    ['json key order', '{"a":1,"b":{"x":[1,2],"y":null}}', '{"b":{"y":null,"x":[1,2]},"a":1}', 'json', true],
    ['json whitespace', '{ "a" : [ 1 , 2 ] }', '{"a":[1,2]}', 'json', true],
    ['json array order is significant', '[1,2]', '[2,1]', 'json', false],
    ['json value differs', '{"a":1}', '{"a":2}', 'json', false],
    ['json text vs parsed object', '{"b":2,"a":1}', { a: 1, b: 2 }, 'json', true],
    ['json parsed objects, key order', { a: 1, b: [{ d: 1, c: 2 }] }, { b: [{ c: 2, d: 1 }], a: 1 }, undefined, true],
    ['json invalid text compared as text', '{bad', '{bad', 'json', true],
    ['json string vs number', '"1"', '1', 'json', false],
    // JSON numbers compare by exact value: JSON.parse would round them through a double first.
    ['json integers beyond 2^53 differ', '{"a":9007199254740993}', '{"a":9007199254740992}', 'json', false],
    ['json big unsigned integers differ', '[18446744073709551615]', '[18446744073709551614]', 'json', false],
    ['json long fractions differ', '{"a":0.12345678901234567891}', '{"a":0.12345678901234567892}', 'json', false],
    ['json number forms of one value', '[1.0, 1e3, -0, 2.50E-1, 0.1e1]', '[1,1000,0,0.25,1]', 'json', true],
    ['json huge exponent', '[1e400]', '[1E+400]', 'json', true],
    ['json nested key order with big numbers', '{"b":{"y":12345678901234567890,"x":1},"a":[]}', '{"a":[],"b":{"x":1,"y":12345678901234567890}}', 'json', true],
    ['json big integer vs parsed object', '{"a":9007199254740993}', { a: 9007199254740992 }, 'json', false],
    // BINARY
    ['buffer equal', Buffer.from([0, 1, 255]), Buffer.from([0, 1, 255]), 'binary', true],
    ['buffer different', Buffer.from([0, 1, 255]), Buffer.from([0, 1, 254]), 'binary', false],
    ['buffer prefix', Buffer.from([0, 1]), Buffer.from([0, 1, 0]), 'binary', false],
    ['buffer without kind', Buffer.from('abc'), Buffer.from('abc'), undefined, true],
    ['buffer vs text of same bytes', Buffer.from('héllo'), 'héllo', 'binary', true],
    ['empty buffers', Buffer.alloc(0), Buffer.alloc(0), 'binary', true],
    ['empty buffer vs NULL', Buffer.alloc(0), null, 'binary', false],
    // NULL
    ['NULL vs empty string', null, '', undefined, false],
    ['NULL vs empty string (text)', null, '', 'text', false],
    ['NULL vs 0', null, 0, 'int', false],
    ['NULL vs "NULL"', null, 'NULL', 'text', false],
    ['NULL vs NULL', null, null, 'text', true],
    ['NULL vs missing', null, undefined, undefined, true],
    // TEXT
    ['utf8mb4 emoji equal', 'order 🚀 ✓ 𝔘', 'order 🚀 ✓ 𝔘', 'text', true],
    ['utf8mb4 emoji differ', 'order 🚀', 'order 🛸', 'text', false],
    ['emoji with skin tone modifier', '👍🏽', '👍', 'text', false],
    ['trailing space significant', 'abc ', 'abc', 'text', false],
    ['trailing space significant without kind', 'abc ', 'abc', undefined, false],
    ['leading space significant', ' abc', 'abc', 'text', false],
    ['case significant', 'ABC', 'abc', 'text', false],
    ['text looks numeric but compared as text', '1.50', '1.5', 'text', false],
  ])('%s', (_name, a, b, kind, expected) => {
    expect(same(a, b, kind)).toBe(expected);
    expect(same(b, a, kind)).toBe(expected); // symmetric
  });
});

describe('normalize', () => {
  it('keeps NULL distinct from every text', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom<ColumnKind | undefined>(undefined, 'int', 'decimal', 'float', 'datetime', 'json', 'binary', 'text'), (s, kind) => {
        expect(normalize(null, kind)).toBeNull();
        expect(normalize(s, kind)).not.toBeNull();
      }),
    );
  });

  it('tags values by family so text never equals a number or a buffer', () => {
    expect(normalize('1')).toBe('s1');
    expect(normalize(1)).toBe('n1');
    expect(normalize(Buffer.from('1'))).toBe('x31');
    expect(normalize('1', 'int')).toBe('n1');
  });

  it('every string equals itself under every kind', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.constantFrom<ColumnKind | undefined>(undefined, 'int', 'decimal', 'float', 'datetime', 'json', 'binary', 'text'), (s, kind) => {
        expect(same(s, s, kind)).toBe(true);
      }),
    );
  });

  it('decimal: appending zeros to the fraction never changes equality', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat({ max: 10 ** 9 }), fc.nat({ max: 5 }), (int, frac, zeros) => {
        const text = `${int}.${frac}`;
        expect(same(text, text + '0'.repeat(zeros), 'decimal')).toBe(true);
        expect(same(text, `${int}.${frac + 1}`, 'decimal')).toBe(false);
      }),
    );
  });
});

describe('diffColumns', () => {
  it('returns exactly the differing columns', () => {
    const kinds: ColumnKinds = { amount: 'decimal', created: 'datetime', attrs: 'json', blob: 'binary' };
    const a = { id: '1', amount: '1.50', created: '2026-01-01 10:00:00.120000', attrs: '{"a":1,"b":2}', blob: Buffer.from([1]), note: 'x ', extra: null };
    const b = { id: '1', amount: '1.5', created: '2026-01-01 10:00:00.121', attrs: '{"b":2,"a":1}', blob: Buffer.from([2]), note: 'x', extra: '' };
    expect(diffColumns(a, b, kinds)).toEqual(['created', 'blob', 'note', 'extra']);
    expect(rowsEqual(a, b, kinds)).toBe(false);
    expect(diffColumns(a, { ...a }, kinds)).toEqual([]);
    expect(rowsEqual(a, { ...a }, kinds)).toBe(true);
  });

  it('uses the union of both rows’ columns (a missing column compares as NULL)', () => {
    expect(diffColumns({ a: 1 }, { b: 2 })).toEqual(['a', 'b']);
    expect(diffColumns({ a: 1, b: null }, { a: 1 })).toEqual([]);
    expect(diffColumns({ a: 1 }, { a: 1, b: '' })).toEqual(['b']);
  });

  it('matches a per-column model on random rows', () => {
    const cols = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
    const valueArb = fc.oneof(fc.constant(null), fc.constantFrom('', 'a', 'a ', '🚀'), fc.integer({ min: 0, max: 3 }));
    const rowArb = fc.tuple(...cols.map(() => valueArb));
    fc.assert(
      fc.property(rowArb, fc.array(fc.boolean(), { minLength: cols.length, maxLength: cols.length }), rowArb, (base, change, other) => {
        const a: Record<string, unknown> = {};
        const b: Record<string, unknown> = {};
        cols.forEach((c, i) => {
          a[c] = base[i];
          b[c] = change[i] ? other[i] : base[i];
        });
        const expected = cols.filter((c, i) => change[i] && normalize(base[i]) !== normalize(other[i]));
        expect(diffColumns(a, b)).toEqual(expected);
        expect(diffColumns(b, a)).toEqual(expected);
        expect(rowsEqual(a, b)).toBe(expected.length === 0);
      }),
    );
  });
});

describe('sameValue (the fast path diffColumns takes)', () => {
  it('agrees with comparing normalized values, for every kind', () => {
    const valueArb = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.constantFrom('', '1', '1.0', '1.50', '{"a":1}', '{ "a": 1 }', '2026-01-01 10:00:00.100', '2026-01-01 10:00:00.1', 'a ', '🚀'),
      fc.string(),
      fc.integer(),
      fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
    );
    const kindArb = fc.constantFrom<ColumnKind | undefined>(undefined, 'int', 'decimal', 'float', 'datetime', 'json', 'binary', 'text');
    fc.assert(
      fc.property(valueArb, valueArb, kindArb, (x, y, kind) => {
        expect(sameValue(x, y, kind)).toBe(normalize(x, kind) === normalize(y, kind));
        expect(sameValue(x, x, kind)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('kindOfType', () => {
  it.each<[string, ColumnKind]>([
    ['tinyint', 'int'],
    ['smallint', 'int'],
    ['mediumint', 'int'],
    ['int', 'int'],
    ['integer', 'int'],
    ['bigint', 'int'],
    ['BIGINT', 'int'],
    ['year', 'int'],
    ['bit', 'int'],
    ['decimal', 'decimal'],
    ['numeric', 'decimal'],
    ['DECIMAL', 'decimal'],
    ['float', 'float'],
    ['double', 'float'],
    ['real', 'float'],
    ['datetime', 'datetime'],
    ['timestamp', 'datetime'],
    ['date', 'datetime'],
    ['time', 'datetime'],
    ['json', 'json'],
    ['JSON', 'json'],
    ['blob', 'binary'],
    ['tinyblob', 'binary'],
    ['mediumblob', 'binary'],
    ['longblob', 'binary'],
    ['binary', 'binary'],
    ['varbinary', 'binary'],
    ['varchar', 'text'],
    ['char', 'text'],
    ['text', 'text'],
    ['longtext', 'text'],
    ['enum', 'text'],
    ['set', 'text'],
    ['geometry', 'text'],
  ])('%s → %s', (type, kind) => {
    expect(kindOfType(type)).toBe(kind);
  });
});

describe('RowComparison', () => {
  it('classifies target rows as extra or different (naming the columns) and the unseen source rows as missing', () => {
    const cmp = new RowComparison(['id'], { amount: 'decimal' });
    cmp.addSource('db_0.t_0', { id: 1, amount: '1.50', note: 'a' });
    cmp.addSource('db_0.t_0', { id: 2, amount: '2', note: 'b' });
    cmp.addSource('db_0.t_1', { id: 3, amount: '3', note: 'c' });
    cmp.addSource('db_0.t_1', { id: 4, amount: '4', note: 'd' });
    cmp.compareTarget('db_0.t_0', [
      { id: 1, amount: '1.5', note: 'a' },
      { id: 2, amount: '2', note: 'B' },
      { id: 3, amount: '3', note: 'c' },
    ]);
    cmp.compareTarget('db_0.t_1', [{ id: 4, amount: '4.01', note: 'd' }]);
    expect(cmp.different).toEqual([
      { target: 'db_0.t_0', key: [2], kind: 'different', columns: ['note'] },
      { target: 'db_0.t_1', key: [4], kind: 'different', columns: ['amount'] },
    ]);
    // Row 3 sits in t_0 but routes to t_1: extra where it is, missing where it belongs.
    expect(cmp.extra).toEqual([{ target: 'db_0.t_0', key: [3], kind: 'extra' }]);
    expect(cmp.missing()).toEqual([{ target: 'db_0.t_1', key: [3], kind: 'missing' }]);
  });

  it('keys rows by every record key column, compared as text', () => {
    const cmp = new RowComparison(['a', 'b'], { a: 'int', b: 'int' });
    cmp.addSource('x.y', { a: 1, b: '2', v: 1 });
    cmp.addSource('x.y', { a: 1, b: '3', v: 1 });
    cmp.compareTarget('x.y', [{ a: '1', b: 2, v: 1 }]);
    expect(cmp.different).toEqual([]);
    expect(cmp.extra).toEqual([]);
    expect(cmp.missing()).toEqual([{ target: 'x.y', key: [1, '3'], kind: 'missing' }]);
  });
});
