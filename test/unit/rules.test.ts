import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyAction, compareVersions, copyAction, mergeLatest, type Action, type Op } from '../../lambdas/core/rules.js';
import type { Row } from '../../lambdas/core/model.js';
import type { ColumnKinds } from '../../lambdas/core/rowdiff.js';

const row = (id: number, name: string, version: unknown = 1): Row => ({ id, name, version });

describe('compareVersions', () => {
  it.each<[unknown, unknown, number]>([
    // integers (numbers and text)
    [1, 2, -1],
    [2, 1, 1],
    [5, 5, 0],
    ['9', '10', -1], // numeric, not lexical
    [10, '9', 1],
    ['-1', '0', -1],
    ['007', '7', 0],
    // big integers beyond double precision
    ['9007199254740993', '9007199254740992', 1],
    [9007199254740992n, '9007199254740993', -1],
    ['18446744073709551615', '18446744073709551614', 1],
    [12345678901234567890n, 12345678901234567890n, 0],
    // decimals
    ['1.5', '1.25', 1],
    ['1.50', '1.5', 0],
    ['2', '1.999', 1],
    ['-0.5', '0', -1],
    [1.5, '1.5', 0],
    ['10.1', '9.9', 1],
    // DATETIME text, including different fractional lengths
    ['2026-01-01 00:00:00', '2026-01-01 00:00:01', -1],
    ['2026-01-02 00:00:00', '2026-01-01 23:59:59', 1],
    ['2026-01-01 00:00:00.5', '2026-01-01 00:00:00.400000', 1],
    ['2026-01-01 00:00:00.400000', '2026-01-01 00:00:00.5', -1],
    ['2026-01-01 00:00:00.5', '2026-01-01 00:00:00.500000', 0],
    ['2026-01-01 00:00:00', '2026-01-01 00:00:00.000000', 0],
    ['2026-01-01 00:00:00', '2026-01-01 00:00:00.000001', -1],
    ['2026-01-01 00:00:00.12', '2026-01-01 00:00:00.1199', 1],
    ['2025-12-31 23:59:59.999999', '2026-01-01 00:00:00', -1],
    // NULL handling: NULL is older than anything
    [null, null, 0],
    [undefined, null, 0],
    [null, 1, -1],
    [1, null, 1],
    [null, '2026-01-01 00:00:00', -1],
    ['0', undefined, 1],
  ])('compareVersions(%s, %s) = %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });

  // Regression, fixed: decimal text is compared through Number, so decimals beyond double precision compare equal,
  // while the SQL guard (`VALUES(v) > v`) compares them exactly.
  it('compares decimals beyond double precision exactly', () => {
    expect(compareVersions('9007199254740993.5', '9007199254740993.25')).toBe(1);
    expect(compareVersions('9007199254740993', '9007199254740992.5')).toBe(1);
    expect(compareVersions('0.12345678901234567891', '0.12345678901234567890')).toBe(1);
  });

  it('orders integers like BigInt, antisymmetrically', () => {
    fc.assert(
      fc.property(fc.bigInt(), fc.bigInt(), (x, y) => {
        expect(compareVersions(String(x), String(y))).toBe(x < y ? -1 : x > y ? 1 : 0);
        expect(compareVersions(x, y)).toBe(-compareVersions(y, x) || 0);
      }),
    );
  });

  it('orders DATETIME(6) text chronologically whatever the fraction length', () => {
    const ms = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) });
    const micros = fc.integer({ min: 0, max: 999_999 });
    /** MySQL-style text, with the fraction trimmed of trailing zeros (or dropped) as a client may send it. */
    const text = (t: number, us: number, trim: boolean) => {
      const base = new Date(t).toISOString().slice(0, 19).replace('T', ' ');
      let frac = String(us).padStart(6, '0');
      if (trim) frac = frac.replace(/0+$/, '');
      return frac ? `${base}.${frac}` : base;
    };
    fc.assert(
      fc.property(ms, micros, fc.boolean(), ms, micros, fc.boolean(), (t1, u1, trim1, t2, u2, trim2) => {
        const s1 = Math.floor(t1 / 1000) * 1000;
        const s2 = Math.floor(t2 / 1000) * 1000;
        const v1 = BigInt(s1) * 1000n + BigInt(u1);
        const v2 = BigInt(s2) * 1000n + BigInt(u2);
        expect(compareVersions(text(s1, u1, trim1), text(s2, u2, trim2))).toBe(v1 < v2 ? -1 : v1 > v2 ? 1 : 0);
      }),
    );
  });
});

describe('copyAction', () => {
  it.each<[string, Row, Row | undefined, string | undefined, Action]>([
    ['target missing → insert', row(1, 'a'), undefined, undefined, 'insert'],
    ['target missing, with version → insert', row(1, 'a'), undefined, 'version', 'insert'],
    ['same content → skip', row(1, 'a'), row(1, 'a'), undefined, 'skip'],
    ['same content, with version → skip', row(1, 'a', 3), row(1, 'a', 3), 'version', 'skip'],
    ['different content, no version column → never overwrite', row(1, 'new', 9), row(1, 'old', 1), undefined, 'skip'],
    ['newer source version → update', row(1, 'new', 2), row(1, 'old', 1), 'version', 'update'],
    ['same version, different content → skip', row(1, 'new', 2), row(1, 'old', 2), 'version', 'skip'],
    ['older source version → skip', row(1, 'old', 1), row(1, 'new', 2), 'version', 'skip'],
    ['newer by big int → update', row(1, 'n', '9007199254740993'), row(1, 'o', '9007199254740992'), 'version', 'update'],
    ['newer DATETIME → update', row(1, 'n', '2026-01-01 00:00:00.5'), row(1, 'o', '2026-01-01 00:00:00.400000'), 'version', 'update'],
    ['older DATETIME → skip', row(1, 'n', '2026-01-01 00:00:00.4'), row(1, 'o', '2026-01-01 00:00:00.500000'), 'version', 'skip'],
    ['target version NULL, source set → update', row(1, 'n', 1), row(1, 'o', null), 'version', 'update'],
    ['source version NULL, target set → skip', row(1, 'n', null), row(1, 'o', 1), 'version', 'skip'],
    ['both versions NULL → skip', row(1, 'n', null), row(1, 'o', null), 'version', 'skip'],
  ])('%s', (_name, source, target, versionColumn, expected) => {
    expect(copyAction(source, target, versionColumn)).toBe(expected);
  });

  it('uses column kinds to decide "same content"', () => {
    const kinds: ColumnKinds = { amount: 'decimal', ts: 'datetime' };
    const source = { id: 1, amount: '1.50', ts: '2026-01-01 10:00:00.120000', version: 1 };
    const target = { id: 1, amount: '1.5', ts: '2026-01-01 10:00:00.12', version: 0 };
    expect(copyAction(source, target, 'version', { ...kinds, version: 'int' })).toBe('update'); // version differs
    expect(copyAction({ ...source, version: 0 }, target, 'version', kinds)).toBe('skip');
    expect(copyAction({ ...source, version: 0 }, target, 'version')).toBe('skip'); // not newer either way
  });
});

describe('applyAction', () => {
  it.each<[string, Op, Row | undefined, Row | undefined, string | undefined, Action]>([
    ['insert of missing → insert', 'insert', row(1, 'a'), undefined, undefined, 'insert'],
    ['update of missing → insert', 'update', row(1, 'a'), undefined, undefined, 'insert'],
    ['update of missing, with version → insert', 'update', row(1, 'a', 1), undefined, 'version', 'insert'],
    ['delete of missing → skip', 'delete', undefined, undefined, undefined, 'skip'],
    ['delete of missing with after image → skip', 'delete', row(1, 'a'), undefined, 'version', 'skip'],
    ['delete of present → delete', 'delete', undefined, row(1, 'a'), undefined, 'delete'],
    ['delete of present, with version → delete', 'delete', undefined, row(1, 'a', 5), 'version', 'delete'],
    ['insert, same content → skip', 'insert', row(1, 'a'), row(1, 'a'), undefined, 'skip'],
    ['update, same content → skip', 'update', row(1, 'a'), row(1, 'a'), undefined, 'skip'],
    ['update, different content, no version → update', 'update', row(1, 'b'), row(1, 'a'), undefined, 'update'],
    ['insert over existing different row, no version → update', 'insert', row(1, 'b'), row(1, 'a'), undefined, 'update'],
    ['update, newer version → update', 'update', row(1, 'b', 2), row(1, 'a', 1), 'version', 'update'],
    // Two changes within one clock tick share a version: binlog order decides, so the later one applies.
    ['update, same version, other content → update', 'update', row(1, 'b', 2), row(1, 'a', 2), 'version', 'update'],
    ['update, older version → skip', 'update', row(1, 'b', 1), row(1, 'a', 2), 'version', 'skip'],
    ['update, newer DATETIME version → update', 'update', row(1, 'b', '2026-01-01 00:00:00.5'), row(1, 'a', '2026-01-01 00:00:00.400000'), 'version', 'update'],
    ['update, NULL version vs set → skip', 'update', row(1, 'b', null), row(1, 'a', 1), 'version', 'skip'],
    ['update, set version vs NULL → update', 'update', row(1, 'b', 1), row(1, 'a', null), 'version', 'update'],
  ])('%s', (_name, op, after, target, versionColumn, expected) => {
    expect(applyAction(op, after, target, versionColumn)).toBe(expected);
  });

  it.each<Op>(['insert', 'update'])('%s without an after image throws', (op) => {
    expect(() => applyAction(op, undefined, row(1, 'a'), undefined)).toThrow(TypeError);
  });

  /** Applies an action to a simulated single-row target. */
  function simulate(action: Action, after: Row | undefined, target: Row | undefined): Row | undefined {
    switch (action) {
      case 'insert':
      case 'update':
        return { ...after! };
      case 'delete':
        return undefined;
      case 'skip':
        return target;
    }
  }

  const versionArb = fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }).map((n) => `2026-01-01 00:00:0${n}.5`));
  const rowArb = fc.record({ id: fc.constant(1), name: fc.constantFrom('a', 'b', '', null), version: versionArb });
  const opArb = fc.constantFrom<Op>('insert', 'update', 'delete');
  const versionColumnArb = fc.constantFrom<string | undefined>(undefined, 'version');

  it('is idempotent in effect: re-evaluating after applying the action gives skip', () => {
    fc.assert(
      fc.property(opArb, rowArb, fc.option(rowArb, { nil: undefined }), versionColumnArb, (op, after, target, versionColumn) => {
        const action = applyAction(op, after, target, versionColumn);
        const next = simulate(action, after, target);
        expect(applyAction(op, after, next, versionColumn)).toBe('skip');
        // and applying the same event a third time does not change the target any further
        expect(simulate(applyAction(op, after, next, versionColumn), after, next)).toEqual(next);
      }),
    );
  });

  it('with a version column, a write never makes the target older', () => {
    fc.assert(
      fc.property(fc.constantFrom<Op>('insert', 'update'), rowArb, rowArb, (op, after, target) => {
        const action = applyAction(op, after, target, 'version');
        const next = simulate(action, after, target)!;
        expect(compareVersions(next.version, target.version)).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('copyAction never writes over an existing row without a version column', () => {
    fc.assert(
      fc.property(rowArb, rowArb, (source, target) => {
        expect(copyAction(source, target, undefined)).toBe('skip');
        expect(copyAction(source, undefined, undefined)).toBe('insert');
      }),
    );
  });

  it('copyAction is idempotent in effect', () => {
    fc.assert(
      fc.property(rowArb, fc.option(rowArb, { nil: undefined }), versionColumnArb, (source, target, versionColumn) => {
        const next = simulate(copyAction(source, target, versionColumn), source, target);
        expect(copyAction(source, next, versionColumn)).toBe('skip');
      }),
    );
  });
});

describe('mergeLatest', () => {
  interface Ev {
    key: string;
    seq: number;
  }
  const keyOf = (e: Ev) => e.key;

  it('keeps the last event per key', () => {
    const events: Ev[] = [
      { key: 'a', seq: 1 },
      { key: 'b', seq: 2 },
      { key: 'a', seq: 3 },
      { key: 'c', seq: 4 },
      { key: 'b', seq: 5 },
    ];
    const merged = mergeLatest(events, keyOf);
    expect(merged).toHaveLength(3);
    expect(Object.fromEntries(merged.map((e) => [e.key, e.seq]))).toEqual({ a: 3, b: 5, c: 4 });
  });

  it('returns an empty list for no events, and a single event unchanged', () => {
    expect(mergeLatest([], keyOf)).toEqual([]);
    const e = { key: 'x', seq: 1 };
    expect(mergeLatest([e], keyOf)).toEqual([e]);
  });

  it('matches a naive model: one event per key, the last one, in input order', () => {
    const evArb = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 60 }).map((keys) => keys.map((key, seq) => ({ key, seq })));
    fc.assert(
      fc.property(evArb, (events) => {
        const merged = mergeLatest(events, keyOf);
        // naive model: for each key, the event with the highest index
        const model = new Map<string, Ev>();
        for (const e of events) model.set(e.key, e);
        expect(merged).toHaveLength(model.size);
        expect(new Set(merged.map(keyOf)).size).toBe(merged.length);
        for (const e of merged) expect(e).toBe(model.get(e.key));
        // nothing is invented
        for (const e of merged) expect(events).toContain(e);
      }),
    );
  });

  // The implementation moves a key to the end when it reappears, so the kept events stay in stream order
  // (order of last appearance). NB: the doc comment of mergeLatest says "order of first appearance".
  it('keeps the kept events in stream order (order of last appearance)', () => {
    expect(mergeLatest([{ key: 'a', seq: 1 }, { key: 'b', seq: 2 }, { key: 'a', seq: 3 }], keyOf).map((e) => e.seq)).toEqual([2, 3]);
    const evArb = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 40 }).map((keys) => keys.map((key, seq) => ({ key, seq })));
    fc.assert(
      fc.property(evArb, (events) => {
        const seqs = mergeLatest(events, keyOf).map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      }),
    );
  });
});
