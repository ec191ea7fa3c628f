/**
 * Apply checks v2 message bodies by hand (`validV2`) before any zod parse, for speed: it must accept exactly
 * the bodies the schema accepts, unchanged, so that the hand check never lets through what the schema would
 * refuse (and a valid body never takes the slow path).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { messageBodyV2Schema, validV2 } from '../../lambdas/core/events/wire.js';

/** Bodies built to be valid: a list per table, images that match their list's width and the op. */
const validBody = fc
  .uniqueArray(fc.constantFrom('id', 'order_no', 'user_id', 'status'), { minLength: 1, maxLength: 4 })
  .chain((cols) =>
    fc.record({
      cols: fc.constant(cols),
      ops: fc.array(fc.constantFrom('i', 'u', 'd'), { minLength: 1, maxLength: 5 }),
    }),
  )
  .map(({ cols, ops }) => ({
    v: 2,
    k: [['order_info', cols]],
    e: ops.map((o, n) => {
      const img = [0, ...cols.map((_, j) => n * 10 + j)];
      return [o, o === 'i' ? null : img, o === 'd' ? null : img, 'binlog.000001', 4 + n, 0, 1_700_000_000_000, 0];
    }),
  }));

/** Every path to a value inside a body (object keys and array indexes). */
function pathsOf(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...at, k]));
  return out;
}

/** Replaces, removes or appends at one path of a copy of `b`. */
function mutate(b: unknown, path: (string | number)[], how: 'set' | 'drop' | 'push', value: unknown): unknown {
  const copy = structuredClone(b) as Record<string | number, unknown>;
  if (path.length === 0) return how === 'set' ? value : copy;
  const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, copy);
  const last = path[path.length - 1]!;
  if (how === 'set') parent[last] = value;
  else if (how === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (Array.isArray(parent[last])) (parent[last] as unknown[]).push(value);
  else parent[`${String(last)}+`] = value;
  return copy;
}

/** A valid body, or one with one thing changed: a value replaced by an odd one, an element or key dropped or added. */
const odd = fc.constantFrom(null, -1, 0, 1, 1.5, 2, Number.NaN, Infinity, '', 'x', 'i', 'u', 'd', 'id', true, [], [0], {}, ['t', ['a']]);
const body = validBody.chain((b) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(b as unknown) },
    {
      weight: 6,
      arbitrary: fc
        .record({ at: fc.nat(), how: fc.constantFrom('set', 'set', 'drop', 'push'), value: odd })
        .map(({ at, how, value }) => {
          const paths = pathsOf(b);
          return mutate(b, paths[at % paths.length]!, how, value);
        }),
    },
  ),
);

describe('validV2 against the v2 schema', () => {
  it('accepts exactly what the schema accepts, and returns the body unchanged (valid bodies with one thing changed)', () => {
    fc.assert(
      fc.property(body, (b) => {
        const byHand = validV2(b);
        const bySchema = messageBodyV2Schema.safeParse(b);
        expect(byHand !== undefined).toBe(bySchema.success);
        if (byHand) expect(byHand).toBe(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts valid bodies (the fast path is the common one)', () => {
    fc.assert(
      fc.property(validBody, (b) => {
        expect(messageBodyV2Schema.safeParse(b).success).toBe(true);
        expect(validV2(b)).toBe(b);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a duplicated column', { v: 2, k: [['t', ['a', 'a']]], e: [['i', null, [0, 1, 2], 'f', 4, 0, 0, 0]] }],
    ['an empty table name', { v: 2, k: [['', ['a']]], e: [['i', null, [0, 1], 'f', 4, 0, 0, 0]] }],
    ['an unknown key', { v: 2, k: [['t', ['a']]], e: [['i', null, [0, 1], 'f', 4, 0, 0, 0]], x: 1 }],
    ['an image wider than its list', { v: 2, k: [['t', ['a']]], e: [['i', null, [0, 1, 2], 'f', 4, 0, 0, 0]] }],
    ['an update without its before image', { v: 2, k: [['t', ['a']]], e: [['u', null, [0, 1], 'f', 4, 0, 0, 0]] }],
    ['images of two tables', { v: 2, k: [['t', ['a']], ['u', ['a']]], e: [['u', [0, 1], [1, 1], 'f', 4, 0, 0, 0]] }],
  ])('refuses %s, as the schema does', (_what, b) => {
    expect(validV2(b)).toBeUndefined();
    expect(messageBodyV2Schema.safeParse(b).success).toBe(false);
  });
});
