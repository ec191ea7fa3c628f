import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ZodError } from 'zod';
import { compressMessages, compressMessagesNow, deflateBody } from '../../lambdas/core/events/compress.js';
import { positionText, type ChangeEvent, type ChangeOp, type OutgoingMessage, type RowImage } from '../../lambdas/core/events/model.js';
import { packMessages, sqsId, sqsSafe } from '../../lambdas/core/events/pack.js';
import { decodeEvents, encodeEvent, eventJson } from '../../lambdas/core/events/wire.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------------

/** Any code point, plus what `unit: 'binary'` leaves out: lone surrogates, and the non-characters SQS refuses. */
const nastyUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom('😀', '👩‍👩‍👧', '\uFFFE', '\uFFFF', '\uFFFD', '\uE000', '\uD7FF', '\u0000', '\u001F', '\u007F', '\u0085', '\u2028', '"', '\\', '\t', '\n', '\r') },
);
/** Well-formed UTF-16 only (no lone surrogates). */
const wellFormedUnit = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('😀', '😁', '\uFFFE', '\uFFFF', '\uFFFD', ' ', '_') },
);
const nastyString = (maxLength = 12) => fc.string({ unit: nastyUnit, maxLength });

/** Characters that sqsSafe leaves as they are (so a body's byte length is the JSON's byte length). */
const plainUnit = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('é', 'ß', '中', '\uD7FF', '\uE000', '\uFFFD', '"', '\\', '\t', '\n') },
);

/** Finite doubles that JSON writes back exactly (no NaN/Infinity, no -0, which JSON writes as 0). */
const jsonNumber = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
);

const bufferArb = (maxLength = 16) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

interface Strings {
  /** One character (or grapheme) of the strings to generate. */
  readonly unit: fc.Arbitrary<string>;
  /** Longest string, in units. */
  readonly maxLength: number;
  /** Also generate JSON columns of any size (text holding nested JSON). */
  readonly json: boolean;
}
const NASTY: Strings = { unit: nastyUnit, maxLength: 12, json: true };

const stringArb = (s: Strings) => fc.string({ unit: s.unit, maxLength: s.maxLength });

const valueArb = (s: Strings): fc.Arbitrary<unknown> =>
  fc.oneof(
    stringArb(s),
    jsonNumber,
    fc.constant(null),
    bufferArb(),
    // A JSON column as mysql2 reads it: text, itself holding JSON (with escapes, unicode, `$b64` look-alikes).
    ...(s.json ? [fc.jsonValue({ maxDepth: 2, stringUnit: s.unit }).map((j) => JSON.stringify(j))] : []),
    fc.constantFrom('{"$b64":"AAEC"}', '{"a":"\\ud800","b":[1,null]}'),
  );

/** Column names: anything but `__proto__` (see the dedicated test below). */
const imageArb = (s: Strings, maxKeys = 5): fc.Arbitrary<RowImage> =>
  fc.dictionary(
    stringArb(s).filter((k) => k !== '__proto__'),
    valueArb(s),
    { maxKeys, noNullPrototype: true },
  );

const opArb = fc.constantFrom<ChangeOp>('insert', 'update', 'delete');

const positionArb: fc.Arbitrary<BinlogPosition> = fc.record({
  file: fc.oneof(fc.constantFrom('binlog.000001', 'mysql-bin.000042'), nastyString().filter((s) => s.length > 0)),
  position: fc.oneof(fc.nat(), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
});

function eventArb(s: Strings, maxKeys = 5): fc.Arbitrary<ChangeEvent> {
  return fc
    .record({
      table: fc.oneof(fc.constantFrom('users', 'orders'), stringArb(s).filter((t) => t.length > 0)),
      op: opArb,
      before: imageArb(s, maxKeys),
      after: imageArb(s, maxKeys),
      position: positionArb,
      rowIndex: fc.nat({ max: 10_000 }),
      timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), jsonNumber),
      reread: fc.boolean(),
    })
    .map(({ op, before, after, reread, ...rest }): ChangeEvent => ({
      ...rest,
      op,
      ...(op === 'insert' ? { after } : op === 'delete' ? { before } : { before, after }),
      ...(reread ? { reread: true } : {}),
    }));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const bodyOf = (...events: ChangeEvent[]) => ({ v: 1, events: events.map(encodeEvent) });

/** Asserts every Buffer in the original images came back as a Buffer (deep equality alone could accept a look-alike). */
function expectBuffersKept(original: ChangeEvent, decoded: ChangeEvent | undefined) {
  expect(decoded).toBeDefined();
  for (const side of ['before', 'after'] as const) {
    const img = original[side];
    if (!img) {
      expect(decoded![side]).toBeUndefined();
      continue;
    }
    for (const [k, v] of Object.entries(img)) {
      if (!Buffer.isBuffer(v)) continue;
      const back = decoded![side]![k];
      expect(Buffer.isBuffer(back)).toBe(true);
      expect((back as Buffer).equals(v)).toBe(true);
    }
  }
}

/** Code points SQS accepts in a message body (without the astral planes, which the local emulator refuses). */
function isSqsChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd);
}
const allSqsSafe = (s: string) => [...s].every((ch) => isSqsChar(ch.codePointAt(0)!));

const SQS_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]*$/;

/** A JSON string literal that leaves every character above U+001F raw (lone surrogates, emoji, U+FFFF included). */
function rawJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

function withoutNegativeZero(x: unknown): unknown {
  if (Object.is(x, -0)) return 0;
  if (Array.isArray(x)) return x.map(withoutNegativeZero);
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) Object.defineProperty(out, k, { value: withoutNegativeZero(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return x;
}

const decodeAll = (messages: readonly OutgoingMessage[]) => messages.map((m) => decodeEvents(JSON.parse(m.body)));

// ---------------------------------------------------------------------------------------------------------------
// 1. Wire format
// ---------------------------------------------------------------------------------------------------------------

describe('encodeEvent / decodeEvents', () => {
  it('round-trips any event through encodeEvent, JSON and decodeEvents', () => {
    fc.assert(
      fc.property(eventArb(NASTY), (e) => {
        const [back, ...rest] = decodeEvents(JSON.parse(JSON.stringify(bodyOf(e))));
        expect(rest).toEqual([]);
        expect(back).toEqual(e);
        expectBuffersKept(e, back);
      }),
      { numRuns: 300 },
    );
  });

  it('eventJson writes exactly JSON.stringify(encodeEvent(e)), for any event (with or without reread)', () => {
    fc.assert(
      fc.property(eventArb(NASTY), fc.boolean(), (e, reread) => {
        const ev = reread ? { ...e, reread: true } : e;
        expect(eventJson(ev)).toBe(JSON.stringify(encodeEvent(ev)));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any list of events through packMessages bodies (sqsSafe-escaped) and decodeEvents', () => {
    fc.assert(
      fc.property(fc.array(eventArb(NASTY), { minLength: 1, maxLength: 12 }), (events) => {
        const messages = packMessages(events, {
          groupOf: () => 'one-group',
          keyOnly: () => {
            throw new Error('keyOnly must not be called for events under maxBytes');
          },
          maxBytes: 50 * 1024 * 1024,
          maxEventsPerMessage: 1000,
        });
        expect(messages).toHaveLength(1);
        for (const m of messages) expect(allSqsSafe(m.body)).toBe(true);
        const decoded = decodeAll(messages).flat();
        expect(decoded).toEqual(events);
        events.forEach((e, i) => expectBuffersKept(e, decoded[i]));
      }),
      { numRuns: 200 },
    );
  });

  it.each<[string, RowImage]>([
    ['emoji and astral', { s: '😀 𝄞 👩‍👩‍👧' }],
    ['lone high surrogate', { s: 'a\uD800b' }],
    ['lone low surrogate', { s: '\uDC00' }],
    ['reversed pair', { s: '\uDE00\uD83D' }],
    ['non-characters U+FFFE / U+FFFF', { s: '\uFFFE\uFFFF' }],
    ['control characters', { s: '\u0000\u0001\u001f\u007f' }],
    ['JSON text with escapes', { j: '{"a":"\\u00e9\\ud800","b":[1,2,{"c":null}]}' }],
    ['a $b64 look-alike string stays a string', { j: '{"$b64":"AAEC"}' }],
    ['empty Buffer', { b: Buffer.alloc(0) }],
    ['binary Buffer', { b: Buffer.from([0, 255, 128, 10, 13]) }],
    ['numbers and null', { i: -42, d: 3.141592653589793, big: Number.MAX_SAFE_INTEGER, tiny: 5e-324, n: null }],
    ['empty column name and odd names', { '': 1, 'a b': 2, '😀': 3, constructor: 4, toString: 5 }],
    ['empty image', {}],
  ])('round-trips a row image with %s', (_name, image) => {
    const e: ChangeEvent = { table: 't', op: 'update', before: image, after: image, position: { file: 'binlog.000001', position: 4 }, rowIndex: 0, timestamp: 1_700_000_000_000 };
    const [m] = packMessages([e], { groupOf: () => 'g', keyOnly: (x) => x });
    expect(allSqsSafe(m!.body)).toBe(true);
    const [back] = decodeEvents(JSON.parse(m!.body));
    expect(back).toEqual(e);
    expectBuffersKept(e, back);
  });

  it('keeps the reread flag, and leaves it out when unset', () => {
    const base: ChangeEvent = { table: 't', op: 'insert', after: { id: 1 }, position: { file: 'f', position: 1 }, rowIndex: 2, timestamp: 3 };
    expect(encodeEvent(base)).not.toHaveProperty('r');
    expect(encodeEvent({ ...base, reread: true })).toMatchObject({ r: true });
    expect(decodeEvents(bodyOf(base))[0]).not.toHaveProperty('reread');
    expect(decodeEvents(bodyOf({ ...base, reread: true }))[0]).toMatchObject({ reread: true });
  });

  it.each<[string, unknown, unknown]>([
    ['Buffer as $b64', Buffer.from('hi'), { $b64: 'aGk=' }],
    ['bigint as text', 18446744073709551615n, '18446744073709551615'],
    ['Date as ISO text', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), '2026-01-02T03:04:05.006Z'],
    ['string unchanged', 'x', 'x'],
    ['null unchanged', null, null],
  ])('encodes %s', (_name, value, wire) => {
    const w = encodeEvent({ table: 't', op: 'insert', after: { c: value }, position: { file: 'f', position: 1 }, rowIndex: 0, timestamp: 0 });
    expect(w.a).toEqual({ c: wire });
  });

  it('encodes the short wire keys', () => {
    expect(encodeEvent({ table: 'users', op: 'delete', before: { id: 7 }, position: { file: 'binlog.000003', position: 1234 }, rowIndex: 5, timestamp: 99, reread: true })).toEqual({
      t: 'users',
      o: 'delete',
      b: { id: 7 },
      f: 'binlog.000003',
      p: 1234,
      i: 5,
      ts: 99,
      r: true,
    });
  });

  const ok = { t: 'users', o: 'update', b: { id: 1 }, a: { id: 1 }, f: 'binlog.000001', p: 4, i: 0, ts: 1 };
  const withEvent = (patch: Record<string, unknown>, drop: string[] = []) => {
    const e: Record<string, unknown> = { ...ok, ...patch };
    for (const k of drop) delete e[k];
    return { v: 1, events: [e] };
  };

  /** `ok` decoded. */
  const okEvent: ChangeEvent = { table: 'users', op: 'update', before: { id: 1 }, after: { id: 1 }, position: { file: 'binlog.000001', position: 4 }, rowIndex: 0, timestamp: 1 };
  const { before: _b, ...okNoBefore } = okEvent;
  const { after: _a, ...okNoAfter } = okEvent;

  it.each<[string, unknown, ChangeEvent[]]>([
    ['update with both images', withEvent({}), [okEvent]],
    ['insert with after only', withEvent({ o: 'insert' }, ['b']), [{ ...okNoBefore, op: 'insert' }]],
    ['insert with both images', withEvent({ o: 'insert' }), [{ ...okEvent, op: 'insert' }]],
    ['delete with before only', withEvent({ o: 'delete' }, ['a']), [{ ...okNoAfter, op: 'delete' }]],
    ['zero position and row index', withEvent({ p: 0, i: 0 }), [{ ...okEvent, position: { file: 'binlog.000001', position: 0 }, rowIndex: 0 }]],
    ['reread flag', withEvent({ r: true }), [{ ...okEvent, reread: true }]],
    ['several events', { v: 1, events: [ok, { ...ok, p: 5, i: 2, ts: 7 }] }, [okEvent, { ...okEvent, position: { file: 'binlog.000001', position: 5 }, rowIndex: 2, timestamp: 7 }]],
  ])('accepts a body with %s, decoding its events', (_name, body, expected) => {
    expect(decodeEvents(body)).toStrictEqual(expected);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', '{"v":1,"events":[]}'],
    ['an array', [ok]],
    ['an empty object', {}],
    ['no version', { events: [ok] }],
    ['version 2', { v: 2, events: [ok] }],
    ['version as text', { v: '1', events: [ok] }],
    ['no events', { v: 1 }],
    ['events not an array', { v: 1, events: ok }],
    ['empty events', { v: 1, events: [] }],
    ['an unknown top-level key', { v: 1, events: [ok], extra: true }],
    ['a null event', { v: 1, events: [null] }],
    ['insert without after', withEvent({ o: 'insert' }, ['a'])],
    ['delete without before', withEvent({ o: 'delete' }, ['b'])],
    ['update without before', withEvent({}, ['b'])],
    ['update without after', withEvent({}, ['a'])],
    ['update without images', withEvent({}, ['a', 'b'])],
    ['an unknown op', withEvent({ o: 'upsert' })],
    ['an unknown event key', withEvent({ x: 1 })],
    ['a long key name instead of a wire key', withEvent({ table: 'users' })],
    ['a negative position', withEvent({ p: -1 })],
    ['a negative row index', withEvent({ i: -1 })],
    ['a fractional position', withEvent({ p: 1.5 })],
    ['a position as text', withEvent({ p: '4' })],
    ['an empty table', withEvent({ t: '' })],
    ['an empty file', withEvent({ f: '' })],
    ['missing file', withEvent({}, ['f'])],
    ['missing timestamp', withEvent({}, ['ts'])],
    ['timestamp as text', withEvent({ ts: '1' })],
    ['reread false', withEvent({ r: false })],
    ['an image that is not an object', withEvent({ a: 'id=1' })],
    ['a null image', withEvent({ a: null })],
    ['an array image', withEvent({ a: [1] })],
    ['one bad event among good ones', { v: 1, events: [ok, { ...ok, p: -4 }] }],
  ])('rejects a body with %s', (_name, body) => {
    expect(() => decodeEvents(body)).toThrow();
  });

  // Regression, fixed: zod's z.record drops an own "__proto__" key while parsing, so a column named `__proto__` (legal in MySQL)
  // silently disappears from the decoded row image (encodeEvent does write it).
  it('keeps a column named __proto__', () => {
    const after = JSON.parse('{"__proto__":"x","id":1}') as RowImage;
    const e: ChangeEvent = { table: 't', op: 'insert', after, position: { file: 'f', position: 1 }, rowIndex: 0, timestamp: 0 };
    expect(JSON.stringify(encodeEvent(e).a)).toBe('{"__proto__":"x","id":1}');
    const [back] = decodeEvents(JSON.parse(JSON.stringify(bodyOf(e))));
    expect(Object.keys(back!.after!)).toEqual(['__proto__', 'id']);
  });
});

describe('v2 bodies (column names once per message)', () => {
  const ev = (i: number, op: ChangeOp, patch: Partial<ChangeEvent> = {}): ChangeEvent => ({
    table: 'order_info',
    op,
    ...(op !== 'insert' ? { before: { id: i, order_no: `N${i}` } } : {}),
    ...(op !== 'delete' ? { after: { id: i, order_no: `N${i}`, amount: '1.50', remark: null } } : {}),
    position: { file: 'binlog.000001', position: 100 + i },
    rowIndex: 0,
    timestamp: 1_700_000_000_000 + i,
    ...patch,
  });

  it('writes each column list once per message and each image as [list, values…]', () => {
    const events = [ev(1, 'update'), ev(2, 'insert'), ev(3, 'delete'), ev(4, 'update')];
    const [m, ...rest] = packMessages(events, { groupOf: () => 'g', keyOnly: (x) => x });
    expect(rest).toEqual([]);
    expect(JSON.parse(m!.body)).toEqual({
      v: 2,
      k: [
        ['order_info', ['id', 'order_no']],
        ['order_info', ['id', 'order_no', 'amount', 'remark']],
      ],
      e: [
        ['u', [0, 1, 'N1'], [1, 1, 'N1', '1.50', null], 'binlog.000001', 101, 0, 1_700_000_000_001, 0],
        ['i', null, [1, 2, 'N2', '1.50', null], 'binlog.000001', 102, 0, 1_700_000_000_002, 0],
        ['d', [0, 3, 'N3'], null, 'binlog.000001', 103, 0, 1_700_000_000_003, 0],
        ['u', [0, 4, 'N4'], [1, 4, 'N4', '1.50', null], 'binlog.000001', 104, 0, 1_700_000_000_004, 0],
      ],
    });
    expect(decodeEvents(JSON.parse(m!.body))).toEqual(events);
  });

  it('leaves out undefined values, as v1 did (the column is missing, not NULL)', () => {
    const e: ChangeEvent = { ...ev(1, 'insert'), after: { id: 1, gone: undefined, n: null } };
    const [m] = packMessages([e, ev(2, 'insert')], { groupOf: () => 'g', keyOnly: (x) => x });
    const [back, second] = decodeEvents(JSON.parse(m!.body));
    expect(back!.after).toStrictEqual({ id: 1, n: null });
    expect(second).toEqual(ev(2, 'insert'));
  });

  it('keeps the images of several tables in one group apart', () => {
    const item: ChangeEvent = { table: 'order_item_detail', op: 'insert', after: { id: 9, sku: 'x' }, position: { file: 'binlog.000001', position: 500 }, rowIndex: 1, timestamp: 7 };
    const events = [ev(1, 'insert'), item, ev(2, 'delete'), { ...item, rowIndex: 2 }];
    const [m] = packMessages(events, { groupOf: () => 'g', keyOnly: (x) => x });
    expect(JSON.parse(m!.body).k).toHaveLength(3);
    expect(decodeEvents(JSON.parse(m!.body))).toEqual(events);
  });

  it('writes v1 for a group whose column lists would fill more than a quarter of a message', () => {
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`column_with_a_long_name_${i}`, i]));
    const e: ChangeEvent = { table: 'wide', op: 'insert', after: wide, position: { file: 'f', position: 4 }, rowIndex: 0, timestamp: 1 };
    const [m] = packMessages([e], { groupOf: () => 'g', keyOnly: (x) => x, maxBytes: 4000 });
    expect(m!.body.startsWith('{"v":1,"events":[')).toBe(true);
    expect(decodeEvents(JSON.parse(m!.body))).toEqual([e]);
    const [n] = packMessages([e], { groupOf: () => 'g', keyOnly: (x) => x, maxBytes: 40_000 });
    expect(n!.body.startsWith('{"v":2,')).toBe(true);
  });

  it('an event too large beside the head goes key-only, and the key list joins the head', () => {
    const big = { ...ev(1, 'insert'), after: { id: 1, order_no: 'N1', amount: '1.50', remark: 'R'.repeat(3000) } };
    const keyOnly = (x: ChangeEvent): ChangeEvent => ({ table: x.table, op: x.op, after: { id: x.after!.id }, position: x.position, rowIndex: x.rowIndex, timestamp: x.timestamp, reread: true });
    const messages = packMessages([ev(0, 'insert'), big, ev(2, 'insert')], { groupOf: () => 'g', keyOnly, maxBytes: 3000 });
    for (const m of messages) expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(3000);
    expect(decodeAll(messages).flat()).toEqual([ev(0, 'insert'), keyOnly(big), ev(2, 'insert')]);
  });

  const okV2: { v: number; k: [string, string[]][]; e: unknown[][] } = { v: 2, k: [['users', ['id', 'name']]], e: [['u', [0, 1, 'a'], [0, 1, 'b'], 'binlog.000001', 4, 0, 1, 0]] };
  const withV2 = (patch: (b: typeof okV2) => unknown) => patch(JSON.parse(JSON.stringify(okV2)) as typeof okV2);

  it('accepts the well-formed body', () => {
    expect(decodeEvents(okV2)).toEqual([{ table: 'users', op: 'update', before: { id: 1, name: 'a' }, after: { id: 1, name: 'b' }, position: { file: 'binlog.000001', position: 4 }, rowIndex: 0, timestamp: 1 }]);
  });

  it.each<[string, (b: typeof okV2) => unknown, RegExp]>([
    ['a list index out of range', (b) => ((b.e[0]![2] = [3, 1, 'b']), b), /column list 3/],
    ['too few values for the list', (b) => ((b.e[0]![2] = [0, 1]), b), /1 value\(s\) for the 2 column/],
    ['too many values for the list', (b) => ((b.e[0]![1] = [0, 1, 'a', 'x']), b), /3 value\(s\) for the 2 column/],
    ['images of two tables', (b) => (b.k.push(['orders', ['id', 'name']]), (b.e[0]![2] = [1, 1, 'b']), b), /two tables/],
    ['a column named twice', (b) => ((b.k[0]![1] = ['id', 'id']), b), /twice/],
    ['an update without before', (b) => ((b.e[0]![1] = null), b), /missing row image/],
    ['an insert without after', (b) => ((b.e[0]![0] = 'i'), (b.e[0]![2] = null), b), /missing row image/],
    ['an unknown op code', (b) => ((b.e[0]![0] = 'x'), b), /./],
    ['reread as true', (b) => ((b.e[0]![7] = true), b), /./],
    ['a short event', (b) => (b.e[0]!.pop(), b), /./],
    ['an image that is an object', (b) => ((b.e[0]![2] = { id: 1 } as never), b), /column list index/],
    ['an image index as text', (b) => ((b.e[0]![2] = ['0', 1, 'b']), b), /column list index/],
    ['no lists', (b) => ((b.k = []), b), /./],
    ['no events', (b) => ((b.e = []), b), /./],
    ['v1 keys in a v2 body', (b) => ({ ...b, events: [] }), /./],
    ['a column list with a third element', (b) => ((b.k[0] = ['users', ['id', 'name'], 'x'] as never), b), /./],
    ['a column name that is not text', (b) => ((b.k[0]![1] = ['id', 7 as never]), b), /./],
    ['an empty table name', (b) => ((b.k[0]![0] = ''), b), /./],
    ['lists that are not an array', (b) => ((b.k = {} as never), b), /./],
  ])('rejects a v2 body with %s', (_name, patch, message) => {
    // Checked by hand first (decoding valid bodies without the schema); a body that fails goes to the schema,
    // whose error names the fault.
    expect(() => decodeEvents(withV2(patch))).toThrow(ZodError);
    expect(() => decodeEvents(withV2(patch))).toThrow(message);
  });

  it('takes a body for a compressed one only when it is exactly {v: 1 | 2, z: non-empty text}', () => {
    const z = deflateBody(JSON.stringify(okV2));
    const { z: deflated } = JSON.parse(z) as { z: string };
    expect(decodeEvents({ v: 2, z: deflated })).toEqual(decodeEvents(okV2));
    for (const body of [{ v: 2, z: deflated, x: 1 }, { v: 3, z: deflated }, { v: 2, z: '' }, { z: deflated }, [2, deflated]]) expect(() => decodeEvents(body)).toThrow(ZodError);
    expect(() => decodeEvents({ v: 2, z: 'not deflate' })).toThrow(/does not inflate/);
  });

  it('round-trips a column named __proto__', () => {
    const after = JSON.parse('{"__proto__":"x","id":1}') as RowImage;
    const e: ChangeEvent = { table: 't', op: 'insert', after, position: { file: 'f', position: 1 }, rowIndex: 0, timestamp: 0 };
    const [m] = packMessages([e], { groupOf: () => 'g', keyOnly: (x) => x });
    const [back] = decodeEvents(JSON.parse(m!.body));
    expect(Object.keys(back!.after!)).toEqual(['__proto__', 'id']);
    expect(Object.getPrototypeOf(back!.after)).toBe(Object.prototype);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. sqsSafe
// ---------------------------------------------------------------------------------------------------------------

describe('sqsSafe', () => {
  it.each<[string, string, string]>([
    ['ASCII', '{"a":"b c"}', '{"a":"b c"}'],
    ['tab, LF, CR', '\t\n\r', '\t\n\r'],
    ['U+007F and U+0085', '\u007f\u0085', '\u007f\u0085'],
    ['edges of the allowed ranges', '\u0020\uD7FF\uE000\uFFFD', '\u0020\uD7FF\uE000\uFFFD'],
    ['NUL and U+001F', '\u0000\u001f', '\\u0000\\u001f'],
    ['an emoji, as its surrogate pair', '😀', '\\ud83d\\ude00'],
    ['the last code point', '\u{10FFFF}', '\\udbff\\udfff'],
    ['U+FFFE', '\uFFFE', '\\ufffe'],
    ['U+FFFF', '\uFFFF', '\\uffff'],
    ['a lone high surrogate', 'a\uD800b', 'a\\ud800b'],
    ['a lone low surrogate', '\uDFFF', '\\udfff'],
    ['a reversed pair', '\uDE00\uD83D', '\\ude00\\ud83d'],
  ])('%s', (_name, input, expected) => {
    expect(sqsSafe(input)).toBe(expected);
  });

  it('leaves only characters SQS allows, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: nastyUnit, maxLength: 64 }), (s) => {
        expect(allSqsSafe(sqsSafe(s))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('JSON.parse(sqsSafe(JSON.stringify(x))) deep-equals x, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3, stringUnit: nastyUnit }), (x) => {
        const json = JSON.stringify(x);
        const out = sqsSafe(json);
        expect(allSqsSafe(out)).toBe(true);
        // x itself, but for -0 (which jsonValue may hold and JSON.stringify writes as 0).
        expect(JSON.parse(out)).toEqual(withoutNegativeZero(x));
      }),
      { numRuns: 400 },
    );
  });

  it('restores strings whose JSON holds raw emoji, lone surrogates and non-characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: nastyUnit, maxLength: 64 }), (s) => {
        const raw = rawJsonString(s);
        expect(JSON.parse(raw)).toBe(s);
        const out = sqsSafe(raw);
        expect(allSqsSafe(out)).toBe(true);
        expect(JSON.parse(out)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2, stringUnit: nastyUnit }), (x) => {
        const once = sqsSafe(JSON.stringify(x));
        expect(sqsSafe(once)).toBe(once);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. sqsId
// ---------------------------------------------------------------------------------------------------------------

describe('sqsId', () => {
  const allowedPunctuation = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

  it.each<[string, string, string]>([
    ['a position text', 'binlog.000001:4:0', 'binlog.000001:4:0'],
    ['all allowed punctuation', allowedPunctuation, allowedPunctuation],
    ['alphanumerics', 'AZaz09', 'AZaz09'],
    ['spaces', 'a b', 'a_b'],
    ['control characters', 'a\tb\nc', 'a_b_c'],
    ['non-ASCII letters', 'é中', '__'],
    ['an emoji, one _ per UTF-16 unit', '😀', '__'],
    ['a lone surrogate', '\uD800', '_'],
    ['empty', '', ''],
    ['exactly 128 characters', 'x'.repeat(128), 'x'.repeat(128)],
  ])('maps %s', (_name, input, expected) => {
    expect(sqsId(input)).toBe(expected);
  });

  it('shortens text over 128 characters to its first 80 characters, ~, and a hash', () => {
    const id = sqsId(`${'y'.repeat(100)}${'z'.repeat(29)}`);
    expect(id.length).toBeLessThanOrEqual(128);
    expect(id.startsWith(`${'y'.repeat(80)}~`)).toBe(true);
    expect(id).toMatch(/^y{80}~[0-9a-f]{40}$/);
  });

  it('is at most 128 allowed characters and deterministic, for any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: nastyUnit, maxLength: 300 }), fc.string({ maxLength: 300 })), (s) => {
        const id = sqsId(s);
        expect(id.length).toBeLessThanOrEqual(128);
        expect(id).toMatch(SQS_ID);
        expect(sqsId(s)).toBe(id);
        if (s.length <= 128 && SQS_ID.test(s)) expect(id).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('gives distinct ids to distinct long texts sharing a prefix', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 129, maxLength: 260 }),
        fc.string({ unit: wellFormedUnit, maxLength: 20 }),
        fc.string({ unit: wellFormedUnit, maxLength: 20 }),
        (prefix, a, b) => {
          fc.pre(a !== b);
          expect(sqsId(prefix + a)).not.toBe(sqsId(prefix + b));
        },
      ),
      { numRuns: 300 },
    );
  });

  // Regression, fixed: the hash is taken over `text` as UTF-8, where every lone surrogate becomes U+FFFD; the cleaned part maps
  // them all to `_` too. Distinct long texts that differ only in lone surrogates (or a lone surrogate vs U+FFFD)
  // get the same id.
  it.each<[string, string, string]>([
    ['two different lone surrogates', `${' '.repeat(129)}\uD800`, `${' '.repeat(129)}\uD801`],
    ['a lone surrogate and U+FFFD', `${'k'.repeat(129)}\uDC00`, `${'k'.repeat(129)}\uFFFD`],
  ])('keeps long texts apart when they differ only by %s', (_name, a, b) => {
    expect(sqsId(a)).not.toBe(sqsId(b));
  });

  it.each<[string, string, string]>([
    ['differing past character 80', `${'p'.repeat(120)}a`, `${'p'.repeat(120)}b`],
    ['differing only by a character that maps to _', `${'p'.repeat(130)} `, `${'p'.repeat(130)}_`],
    ['differing only in an emoji', `${'p'.repeat(130)}😀`, `${'p'.repeat(130)}😁`],
    ['one just over the limit, one far over', 'q'.repeat(129), 'q'.repeat(1000)],
  ])('keeps long texts apart when %s', (_name, a, b) => {
    expect(sqsId(a)).not.toBe(sqsId(b));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 4. packMessages
// ---------------------------------------------------------------------------------------------------------------

describe('packMessages', () => {
  const GROUPS = ['g1', 'shard 2', `${'x'.repeat(200)}a`, `${'x'.repeat(200)}b`, 'é'] as const;
  /** Marker column of rows that are too large for a message on their own. */
  const BIG = 'blob';

  /** A key-only replacement, as capture builds it (both images for an update, so that it decodes). */
  const keyOnly = (e: ChangeEvent): ChangeEvent => {
    const key = { id: (e.after ?? e.before)?.['id'] ?? null };
    return {
      table: e.table,
      op: e.op,
      ...(e.op === 'insert' ? { after: key } : e.op === 'delete' ? { before: key } : { before: key, after: key }),
      position: e.position,
      rowIndex: e.rowIndex,
      timestamp: e.timestamp,
      reread: true,
    };
  };

  interface Case {
    events: ChangeEvent[];
    groups: Map<ChangeEvent, string>;
    big: Set<ChangeEvent>;
    maxBytes: number;
    maxEvents: number;
  }

  /**
   * Events in binlog order (distinct, increasing positions), each with a group among a few. Small events stay far
   * under maxBytes - 32; big ones carry a column of maxBytes characters.
   */
  const caseArb = (s: Strings): fc.Arbitrary<Case> =>
    fc
      .record({
        maxBytes: fc.integer({ min: 1500, max: 4000 }),
        maxEvents: fc.integer({ min: 1, max: 7 }),
        items: fc.array(
          fc.record({
            e: eventArb(s, 2),
            id: fc.nat({ max: 1_000_000 }),
            group: fc.constantFrom(...GROUPS),
            step: fc.integer({ min: 1, max: 500 }),
            rowIndex: fc.nat({ max: 3 }),
            big: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
          }),
          { maxLength: 40 },
        ),
      })
      .map(({ maxBytes, maxEvents, items }) => {
        const groups = new Map<ChangeEvent, string>();
        const big = new Set<ChangeEvent>();
        let position = 4;
        const events = items.map(({ e, id, group, step, rowIndex, big: isBig }) => {
          position += step;
          const extra: RowImage = { id, ...(isBig ? { [BIG]: 'L'.repeat(maxBytes) } : {}) };
          const ev: ChangeEvent = {
            ...e,
            table: 't',
            position: { file: 'binlog.000007', position },
            rowIndex,
            ...(e.before ? { before: { ...e.before, ...extra } } : {}),
            ...(e.after ? { after: { ...e.after, ...extra } } : {}),
          };
          groups.set(ev, group);
          if (isBig) big.add(ev);
          return ev;
        });
        return { events, groups, big, maxBytes, maxEvents };
      });

  /** Checks every property of a packing that does not depend on the body's byte size. */
  function checkPacking(c: Case, messages: readonly OutgoingMessage[]) {
    const groupOf = (e: ChangeEvent) => c.groups.get(e)!;
    const expected = (e: ChangeEvent) => (c.big.has(e) ? keyOnly(e) : e);
    const byText = new Map(c.events.map((e) => [positionText(e), e]));
    expect(byText.size).toBe(c.events.length);

    const decoded = decodeAll(messages);
    const seenPerGroup = new Map<string, ChangeEvent[]>();
    messages.forEach((m, i) => {
      const events = decoded[i]!;
      expect(events.length).toBeGreaterThan(0);
      expect(m.events).toBe(events.length);
      expect(m.events).toBeLessThanOrEqual(c.maxEvents);
      const first = events[0]!;
      const last = events[events.length - 1]!;
      expect(m.dedupId).toBe(first === last || events.length === 1 ? sqsId(positionText(first)) : sqsId(`${positionText(first)}-${positionText(last)}`));
      expect(m.last).toEqual({ position: last.position, rowIndex: last.rowIndex });
      // One group per message, named by its sqsId.
      const originals = events.map((d) => byText.get(positionText(d)));
      for (const o of originals) expect(o).toBeDefined();
      const groups = new Set(originals.map((o) => groupOf(o!)));
      expect(groups.size).toBe(1);
      const [group] = groups;
      expect(m.groupId).toBe(sqsId(group!));
      expect(allSqsSafe(m.body)).toBe(true);
      expect(m.dedupId).toMatch(SQS_ID);
      expect(m.groupId).toMatch(SQS_ID);
      expect(m.groupId.length).toBeLessThanOrEqual(128);
      expect(m.dedupId.length).toBeLessThanOrEqual(128);
      seenPerGroup.set(group!, [...(seenPerGroup.get(group!) ?? []), ...events]);
    });

    // Every event exactly once...
    const all = decoded.flat().map(positionText);
    expect(all).toHaveLength(c.events.length);
    expect(new Set(all).size).toBe(c.events.length);
    // ...and, within a group, in input order (big ones replaced by their key-only event).
    for (const g of GROUPS) {
      const want = c.events.filter((e) => groupOf(e) === g).map(expected);
      expect(seenPerGroup.get(g) ?? []).toEqual(want);
    }
    // Oversized images never travel.
    for (const m of messages) expect(m.body).not.toContain('L'.repeat(64));
  }

  it('packs every event exactly once, in group order, within the size and count limits', () => {
    fc.assert(
      fc.property(caseArb({ unit: plainUnit, maxLength: 12, json: false }), (c) => {
        for (const e of c.events) {
          if (!c.big.has(e)) expect(Buffer.byteLength(JSON.stringify(encodeEvent(e)))).toBeLessThan(c.maxBytes - 32);
        }
        const messages = packMessages(c.events, { groupOf: (e) => c.groups.get(e)!, keyOnly, maxBytes: c.maxBytes, maxEventsPerMessage: c.maxEvents });
        checkPacking(c, messages);
        for (const m of messages) expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(c.maxBytes);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every event once and in group order when images hold emoji, lone surrogates and non-characters', () => {
    fc.assert(
      fc.property(caseArb({ unit: nastyUnit, maxLength: 4, json: false }), (c) => {
        for (const e of c.events) {
          if (!c.big.has(e)) expect(Buffer.byteLength(JSON.stringify(encodeEvent(e)))).toBeLessThan(c.maxBytes - 32);
        }
        const messages = packMessages(c.events, { groupOf: (e) => c.groups.get(e)!, keyOnly, maxBytes: c.maxBytes, maxEventsPerMessage: c.maxEvents });
        checkPacking(c, messages);
      }),
      { numRuns: 200 },
    );
  });

  it('compress=false leaves bodies for compressMessages, which gives the same bodies as packing compressed', async () => {
    const events = Array.from({ length: 150 }, (_, i) => small(i, { id: i, pad: `row ${i} ${'p'.repeat(60)}` }));
    const sync = packMessages(events, { groupOf: () => 'g', keyOnly });
    const plain = packMessages(events, { groupOf: () => 'g', keyOnly, compress: false });
    expect(plain[0]!.body.startsWith('{"v":2,"k":[["users",["id","pad"]]],"e":[')).toBe(true);
    const compressed = await compressMessages(plain);
    expect(compressed).toEqual(sync);
    expect(compressed[0]!.body).toMatch(/^\{"v":2,"z":"/);
    expect(decodeAll(compressed).flat()).toEqual(events);
    // On this thread, the same bodies (a small one left as it is).
    const few = packMessages(events.slice(0, 2), { groupOf: () => 'g', keyOnly, compress: false });
    expect(compressMessagesNow([...plain, ...few])).toEqual([...sync, ...few]);
  });

  it('returns no message for no event', () => {
    expect(packMessages([], { groupOf: () => 'g', keyOnly })).toEqual([]);
  });

  const small = (i: number, after: RowImage = { id: i, name: `n${i}` }): ChangeEvent => ({
    table: 'users',
    op: 'insert',
    after,
    position: { file: 'binlog.000001', position: 100 + i },
    rowIndex: 0,
    timestamp: 1_700_000_000_000 + i,
  });

  it('fills messages up to maxEventsPerMessage (200 by default) and 240 KiB', () => {
    const events = Array.from({ length: 401 }, (_, i) => small(i));
    const messages = packMessages(events, { groupOf: () => 'g', keyOnly });
    expect(messages.map((m) => m.events)).toEqual([200, 200, 1]);
    expect(messages.map((m) => m.dedupId)).toEqual(['binlog.000001:100:0-binlog.000001:299:0', 'binlog.000001:300:0-binlog.000001:499:0', 'binlog.000001:500:0']);
    expect(messages[2]!.last).toEqual({ position: { file: 'binlog.000001', position: 500 }, rowIndex: 0 });
    for (const m of messages) expect(m.groupId).toBe('g');
  });

  it('marks deduplication ids with the source server, whose binlog positions another server may repeat', () => {
    const events = Array.from({ length: 3 }, (_, i) => small(i));
    const first = packMessages(events, { groupOf: () => 'g', keyOnly });
    const second = packMessages(events, { groupOf: () => 'g', keyOnly, dedupPrefix: 's1:' });
    expect(second.map((m) => m.dedupId)).toEqual(['s1:binlog.000001:100:0-binlog.000001:102:0']);
    expect(second[0]!.dedupId).not.toBe(first[0]!.dedupId);
  });

  it('gives a replay cut longer than the first send another deduplication id, so SQS does not drop its extra events', () => {
    const events = Array.from({ length: 6 }, (_, i) => small(i));
    const sent = packMessages(events.slice(0, 3), { groupOf: () => 'g', keyOnly });
    const replay = packMessages(events, { groupOf: () => 'g', keyOnly });
    expect(replay[0]!.dedupId).not.toBe(sent[0]!.dedupId);
    // The same cut replayed is the same message, which SQS drops as a copy.
    expect(packMessages(events.slice(0, 3), { groupOf: () => 'g', keyOnly })[0]!.dedupId).toBe(sent[0]!.dedupId);
  });

  it('starts a new message when the next event would pass maxBytes', () => {
    const events = Array.from({ length: 10 }, (_, i) => small(i, { id: i, pad: 'p'.repeat(300) }));
    const one = Buffer.byteLength(JSON.stringify(encodeEvent(events[0]!)));
    const maxBytes = 32 + 3 * (one + 1) + 5; // room for three events, not four
    const messages = packMessages(events, { groupOf: () => 'g', keyOnly, maxBytes, maxEventsPerMessage: 100 });
    expect(messages.map((m) => m.events)).toEqual([3, 3, 3, 1]);
    for (const m of messages) expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(maxBytes);
    expect(decodeAll(messages).flat()).toEqual(events);
  });

  it.each<[string, ChangeOp]>([
    ['insert', 'insert'],
    ['update', 'update'],
    ['delete', 'delete'],
  ])('replaces an %s too large on its own by its key-only event', (_name, op) => {
    const huge = { id: 42, blob: 'H'.repeat(5000) };
    const e: ChangeEvent = {
      table: 'users',
      op,
      ...(op === 'insert' ? { after: huge } : op === 'delete' ? { before: huge } : { before: huge, after: huge }),
      position: { file: 'binlog.000002', position: 77 },
      rowIndex: 3,
      timestamp: 5,
    };
    const before = small(1);
    const after = { ...small(2), position: { file: 'binlog.000002', position: 99 } };
    const messages = packMessages([before, e, after], { groupOf: () => 'g', keyOnly, maxBytes: 2000, maxEventsPerMessage: 10 });
    expect(messages).toHaveLength(1);
    const m = messages[0]!;
    expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(2000);
    expect(m.body).not.toContain('HHHH');
    const body = JSON.parse(m.body) as { e: unknown[][] };
    expect(body.e[1]![0]).toBe(op[0]);
    expect(body.e[1]!.slice(3)).toEqual(['binlog.000002', 77, 3, 5, 1]);
    expect(decodeEvents(body)).toEqual([before, keyOnly(e), after]);
    expect(m.last).toEqual({ position: after.position, rowIndex: 0 });
  });

  it('does not replace an event that fits', () => {
    const e = small(1, { id: 1, blob: 'H'.repeat(500) });
    const messages = packMessages([e], {
      groupOf: () => 'g',
      keyOnly: () => {
        throw new Error('not expected');
      },
      maxBytes: 2000,
      maxEventsPerMessage: 10,
    });
    expect(decodeEvents(JSON.parse(messages[0]!.body))).toEqual([e]);
  });

  it('names groups and deduplication ids with sqsId', () => {
    const long = `orders#${'9'.repeat(200)}`;
    const e: ChangeEvent = { ...small(1), position: { file: 'bin log.000001', position: 5 } };
    const [m] = packMessages([e], { groupOf: () => long, keyOnly });
    expect(m!.groupId).toBe(sqsId(long));
    expect(m!.groupId.length).toBeLessThanOrEqual(128);
    expect(m!.dedupId).toBe('bin_log.000001:5:0');
  });

  // Regression, fixed: the size check measures the JSON *before* sqsSafe, which turns every emoji (4 UTF-8 bytes) into a 12-byte
  // `\uXXXX\uXXXX` escape and every U+FFFE/U+FFFF (3 bytes) into 6 bytes. Rows rich in such characters make bodies
  // up to 3x maxBytes (over the SQS 256 KiB limit with the default 240 KiB), and are not replaced by key-only events.
  it('keeps bodies within maxBytes when images hold emoji', () => {
    const e = small(1, { id: 1, s: '😀'.repeat(200) }); // ~880 bytes of JSON, ~2490 once sqsSafe-escaped
    const messages = packMessages([e], { groupOf: () => 'g', keyOnly, maxBytes: 1000, maxEventsPerMessage: 10 });
    for (const m of messages) expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(1000);
  });

  it('keeps bodies within maxBytes when images hold U+FFFF', () => {
    const events = Array.from({ length: 4 }, (_, i) => small(i, { id: i, s: '\uFFFF'.repeat(200) })); // 600 -> 1200 bytes each
    const messages = packMessages(events, { groupOf: () => 'g', keyOnly, maxBytes: 3000, maxEventsPerMessage: 10 });
    for (const m of messages) expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(3000);
  });

  // Regression, fixed (events.ts schema vs. the key-only events capture builds): capture's keyOnly gives a reread *update* only
  // its `after` key image, and apply reads `e.after ?? e.before` for reread events, but the wire schema requires both
  // `a` and `b` for every update, so decodeEvents throws and the whole message (every event in it) is rejected.
  it('decodes an oversized update replaced by a key-only reread event carrying its key as after only', () => {
    const huge = { id: 42, blob: 'H'.repeat(5000) };
    const e: ChangeEvent = { table: 'users', op: 'update', before: huge, after: huge, position: { file: 'binlog.000002', position: 77 }, rowIndex: 0, timestamp: 5 };
    const captureKeyOnly = (x: ChangeEvent): ChangeEvent => ({
      table: x.table,
      op: x.op,
      ...(x.op === 'delete' ? { before: { id: 42 } } : { after: { id: 42 } }),
      position: x.position,
      rowIndex: x.rowIndex,
      timestamp: x.timestamp,
      reread: true,
    });
    const [m] = packMessages([small(1), e], { groupOf: () => 'g', keyOnly: captureKeyOnly, maxBytes: 2000, maxEventsPerMessage: 10 });
    expect(decodeEvents(JSON.parse(m!.body))).toEqual([small(1), captureKeyOnly(e)]);
  });
});
