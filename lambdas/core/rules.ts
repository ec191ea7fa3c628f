/**
 * Filter and merge rules (DESIGN §4), pure. Copy and apply decide them in SQL (a guarded upsert decides
 * atomically in the database, so no read-then-write race); `copyAction` and `applyAction` are the
 * specification those statements are tested against. `mergeLatest` is the merge apply does per target table
 * (`app/apply.ts`: keyed by the record key's value, without a string per event).
 */
import type { Row } from './model.js';
import { rowsEqual, type ColumnKinds } from './rowdiff.js';

export type Op = 'insert' | 'update' | 'delete';
export type Action = 'insert' | 'update' | 'delete' | 'skip';

/** Exact comparison of decimal texts (no floating point): scale both to the same fraction length as BigInt. */
function compareDecimals(a: string, b: string): number {
  const [ai = '0', af = ''] = a.split('.');
  const [bi = '0', bf = ''] = b.split('.');
  const scale = Math.max(af.length, bf.length);
  const big = (i: string, f: string) => {
    const neg = i.startsWith('-');
    const v = BigInt(i.replace('-', '') + f.padEnd(scale, '0'));
    return neg ? -v : v;
  };
  const x = big(ai, af);
  const y = big(bi, bf);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares version column values (numbers, numeric text or DATETIME text). */
export function compareVersions(a: unknown, b: unknown): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  // Driver values (numbers, bigints, Buffers) convert by their own toString.
  /* eslint-disable @typescript-eslint/no-base-to-string */
  const sa = typeof a === 'string' ? a : String(a);
  const sb = typeof b === 'string' ? b : String(b);
  /* eslint-enable @typescript-eslint/no-base-to-string */
  if (/^-?\d+$/.test(sa) && /^-?\d+$/.test(sb)) {
    const x = BigInt(sa);
    const y = BigInt(sb);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (/^-?\d+(\.\d+)?$/.test(sa) && /^-?\d+(\.\d+)?$/.test(sb)) return compareDecimals(sa, sb);
  // DATETIME text: equal-length padding of the fraction makes lexical order chronological.
  const pad = (s: string) => (s.includes('.') ? s.padEnd(26, '0') : `${s}.000000`);
  const pa = pad(sa);
  const pb = pad(sb);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/**
 * What the full copy does with a source row given the target's current row.
 * - target missing → insert
 * - same content → skip
 * - with a version column: source strictly newer → update, else skip
 * - without one: skip. A row already in the target was written by CDC (newer than what the copy read)
 *   or by an earlier copy of the same page; the copy never overwrites it (DESIGN §2.5), verification repairs the rest.
 */
export function copyAction(source: Row, target: Row | undefined, versionColumn: string | undefined, kinds?: ColumnKinds): Action {
  if (target === undefined) return 'insert';
  if (rowsEqual(source, target, kinds)) return 'skip';
  if (versionColumn !== undefined && compareVersions(source[versionColumn], target[versionColumn]) > 0) return 'update';
  return 'skip';
}

/**
 * What applying a change event does, given the target's current row (CDC apply, DESIGN §4):
 * delete of a missing row → skip; insert/update of a missing row → insert; same content → skip;
 * with a version column, an event older than the target → skip; otherwise write.
 * An event with the *same* version but other content is applied: CDC events arrive in binlog order per key,
 * and two changes within one clock tick (equal `update_time`) must both land, the later last (DESIGN §2.5).
 */
export function applyAction(op: Op, after: Row | undefined, target: Row | undefined, versionColumn: string | undefined, kinds?: ColumnKinds): Action {
  if (op === 'delete') return target === undefined ? 'skip' : 'delete';
  if (after === undefined) throw new TypeError(`${op} event without an after image`);
  if (target === undefined) return 'insert';
  if (rowsEqual(after, target, kinds)) return 'skip';
  if (versionColumn !== undefined && compareVersions(after[versionColumn], target[versionColumn]) < 0) return 'skip';
  return 'update';
}

/** Keeps the last event per record key, in the order of those last events (merge before write). */
export function mergeLatest<E>(events: readonly E[], keyOf: (e: E) => string): E[] {
  const last = new Map<string, E>();
  for (const e of events) {
    const k = keyOf(e);
    last.delete(k);
    last.set(k, e);
  }
  return [...last.values()];
}
